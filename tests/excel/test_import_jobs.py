"""An .xlsx sent to the bot is imported by a job (models/jobs.py, JobKind.IMPORT): its bytes are
kept with the job until it is done, two workers import it once, and a job queued before the bot
was killed runs once after the restart; the admin is told once. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from bot.application import job_runner, sender
from bot.jobs import JobRunner, telegram_fetch
from models import jobs
from models.claims import EMBEDDED
from models.jobs import FILE, LEASE, TELEGRAM_FILE, JobKind
from models.outbox import Kind
from models.store import Store
from models.tables import AuditEntry, Cadre, Job, OutboxMessage, Task
from tests.bot.conftest import ADMIN
from tests.bot.harness import BotHarness
from tests.conftest import FakeClock
from tests.excel.support import bot_with_admin, workbook
from tests.excel.test_broken_files import COOP_HEADERS, TASK_HEADERS
from ui import excel_jobs

GOOD = workbook({
    "履职事项": [TASK_HEADERS, ("2026", "N1", "P001", None, "新增事项", "基础履职", "综合基础类", 6,
                              "市政府工作报告")],
    "协同单位": [COOP_HEADERS],
})
IMPORTED = "导入完成。\n履职事项：新增 1，更新 0，未变 0\n协同单位：新增 0，更新 0，未变 0"


@pytest.fixture
def bot(store: Store) -> Iterator[BotHarness]:
    harness = bot_with_admin(store)
    yield harness
    harness.close()


def _queue(bot: BotHarness) -> Job:
    """The admin sends the file; the bot says it is checking it and queues the job, which
    nothing has run yet."""
    bot.feed(bot.sim.send_document(ADMIN, "清单.xlsx", GOOD), deliver=False)
    assert bot.last(ADMIN).body == "正在检查 清单.xlsx…"
    (job,) = _jobs(bot.store)
    assert (job.kind, job.state) == (JobKind.IMPORT, "pending")
    return job


def _jobs(store: Store) -> list[Job]:
    with store.session() as session:
        return list(session.exec(select(Job).where(Job.kind == JobKind.IMPORT)).all())


def _told(bot: BotHarness) -> list[str]:
    return [text for text in bot.texts(ADMIN) if text.startswith("导入完成")]


def _tasks_added(store: Store) -> int:
    with store.session() as session:
        return len(session.exec(select(AuditEntry.id).where(
            AuditEntry.action == "task.add")).all())


def test_the_job_names_the_file_sent_and_the_runner_fetches_it(bot: BotHarness) -> None:
    job = _queue(bot)  # queued in the update's own transaction: nothing is fetched before
    assert bot.sim.file_bytes(job.payload[TELEGRAM_FILE]) == GOOD and FILE not in job.payload
    assert job.requested_by is not None
    bot.deliver()
    assert bot.last(ADMIN).body == IMPORTED  # worded as `kaohe import` says it
    (done,) = _jobs(bot.store)
    assert done.state == "done" and FILE not in done.payload  # the roster's bytes are gone
    assert done.result is not None and done.result["counts"]["tasks"] == [1, 0, 0]
    bot.deliver()
    assert _told(bot) == [IMPORTED]


def test_two_workers_import_a_file_once(bot: BotHarness, store: Store,
                                        clock: FakeClock) -> None:
    added = _tasks_added(store)
    _queue(bot)
    schedule = bot.settings.schedule
    fetch = telegram_fetch(bot.app.bot)
    first = JobRunner(store, schedule, claimant="worker-1", fetch=fetch)
    second = JobRunner(store, schedule, claimant="worker-2", fetch=fetch)
    held = jobs.claim(store, "worker-1")  # the first takes it, then hangs
    assert held is not None and jobs.claim(store, "worker-2") is None
    clock.advance(seconds=LEASE.total_seconds() + 1)  # its lease runs out
    assert bot.run(second.drain()) == 1
    # It wakes up: its work is rolled back, not kept.
    assert first.run_one(held, bot.run(first.fetched(held))) is False
    bot.run(sender(bot.app).drain())
    assert _told(bot) == [IMPORTED]
    assert _tasks_added(store) == added + 1  # imported once
    with store.session() as session:
        notices = session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == Kind.JOB_DONE)).all()
    assert len(notices) == 1
    (job,) = _jobs(store)
    assert (job.state, job.attempts) == ("done", 2)


def test_a_job_queued_before_the_bot_is_killed_runs_once_after_the_restart(
        bot: BotHarness, store: Store) -> None:
    _queue(bot)
    assert jobs.claim(store, EMBEDDED) is not None  # it had begun when kill -9 came
    bot.crash()
    bot.deliver()  # the new process takes back its own claim at once
    assert _told(bot) == [IMPORTED]
    bot.restart()
    assert bot.run(job_runner(bot.app).drain()) == 0
    bot.deliver()
    assert _told(bot) == [IMPORTED]
    (job,) = _jobs(store)
    assert (job.state, job.attempts) == ("done", 2)


def test_an_admin_who_lost_the_right_before_the_job_ran_is_refused_in_their_words(
        bot: BotHarness, store: Store) -> None:
    job = _queue(bot)
    with store.transaction() as ctx:  # another admin takes the right back meanwhile
        admin = ctx.session.get(Cadre, job.requested_by)
        assert admin is not None
        admin.is_admin = False
    bot.deliver()
    assert bot.last(ADMIN).body == "您没有权限执行此操作，本次尝试已记录。"
    with store.session() as session:
        assert session.exec(select(Task).where(Task.code == "N1")).first() is None
        assert session.exec(select(AuditEntry).where(
            AuditEntry.action == "refused.forbidden",
            AuditEntry.actor_id == job.requested_by)).first() is not None
    (done,) = _jobs(store)
    assert done.state == "done"  # refused is an answer: not tried again


def test_an_import_that_breaks_every_time_ends_in_an_apology(
        bot: BotHarness, store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any) -> dict[str, Any]:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(excel_jobs, "import_job", broken)
    _queue(bot)
    for attempt in range(1, jobs.MAX_ATTEMPTS):
        bot.deliver()
        bot.deliver()  # not tried again at once: it would fail again at once
        (job,) = _jobs(store)
        assert (job.state, job.attempts) == ("pending", attempt)
        clock.advance(seconds=(jobs.RETRY_AFTER * attempt).total_seconds())
    bot.deliver()
    apology = "抱歉，处理您的请求时出错了。我们已记录此问题，请稍后再试。"
    assert [text for text in bot.texts(ADMIN) if text == apology] == [apology]
    (job,) = _jobs(store)
    assert (job.state, job.attempts) == ("failed", jobs.MAX_ATTEMPTS)
    assert FILE not in job.payload and "RuntimeError" in (job.last_error or "")


def test_a_file_telegram_cannot_give_now_is_fetched_again_after_a_pause(
        bot: BotHarness, store: Store, clock: FakeClock) -> None:
    runner = job_runner(bot.app)
    fetch = runner.fetch

    async def unreachable(file_id: str) -> bytes:
        raise TimeoutError("api.telegram.org did not answer")

    runner.fetch = unreachable
    _queue(bot)
    bot.deliver()
    (job,) = _jobs(store)
    assert (job.state, job.attempts) == ("pending", 1) and "TimeoutError" in (job.last_error or "")
    assert _told(bot) == []
    runner.fetch = fetch  # Telegram answers again
    bot.deliver()
    assert _told(bot) == []  # not before the pause has run out
    clock.advance(seconds=jobs.RETRY_AFTER.total_seconds())
    bot.deliver()
    assert _told(bot) == [IMPORTED]
    (done,) = _jobs(store)
    assert (done.state, done.attempts) == ("done", 2)
