"""The annual rating's preview (管理 → 年度评定) is a job (models/jobs.py, JobKind.PREVIEW): the
card reaches the admin in their language with the buttons for the next step, two workers make
it once, and a preview asked for before the bot was killed comes once after the restart. On
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import select

from bot.application import sender
from bot.jobs import JobRunner
from models import jobs
from models.jobs import LEASE, JobKind
from models.store import Store
from models.tables import Cadre, Job
from tests.bot.harness import BotHarness
from tests.conftest import FakeClock, at
from tests.rating.support import RatingUnit
from tests.support.world import World

ADMIN = 3001
TITLE = "2026年度 年度评定"


@pytest.fixture
def bot(store: Store, world: World, rated: RatingUnit) -> Iterator[BotHarness]:
    harness = BotHarness(store)
    harness.join(world.admin, ADMIN)
    yield harness
    harness.close()


def _ask(bot: BotHarness, *, deliver: bool = True) -> None:
    bot.say(ADMIN, "/admin")
    menu = bot.message_with_button(ADMIN, "adm:rating")
    bot.feed(bot.sim.tap(ADMIN, menu.message_id, "adm:rating"), deliver=deliver)


def _previews(bot: BotHarness, title: str = TITLE) -> list[str]:
    return [text for text in bot.texts(ADMIN) if title in text]


def _jobs(store: Store) -> list[Job]:
    with store.session() as session:
        return list(session.exec(select(Job).where(Job.kind == JobKind.PREVIEW)).all())


def test_the_preview_is_a_job_and_reaches_the_admin_in_their_language(
        bot: BotHarness, store: Store, world: World) -> None:
    _ask(bot, deliver=False)
    assert _previews(bot) == []  # the tap is answered at once; the preview is worked out aside
    (job,) = _jobs(store)
    assert job.state == "pending" and job.requested_by == world.id.admin
    bot.deliver()
    (preview,) = _previews(bot)
    assert "尚未公示" in preview and "优秀比例" in preview
    assert bot.message_with_button(ADMIN, "📢 公示 5 天")  # the next step, from the card
    with store.transaction() as ctx:  # the admin reads English now
        admin = ctx.session.get(Cadre, world.id.admin)
        assert admin is not None
        admin.locale = "en"
    _ask(bot)
    (english,) = _previews(bot, "2026年度: annual rating")
    assert "Not published yet" in english
    assert bot.message_with_button(ADMIN, "📢 Publish for 5 days")
    assert [j.state for j in _jobs(store)] == ["done", "done"]


def test_two_workers_make_the_preview_once(bot: BotHarness, store: Store,
                                           clock: FakeClock) -> None:
    _ask(bot, deliver=False)
    schedule = bot.settings.schedule
    first = JobRunner(store, schedule, claimant="worker-1")
    second = JobRunner(store, schedule, claimant="worker-2")
    held = jobs.claim(store, "worker-1")  # the first takes it, then hangs
    assert held is not None and jobs.claim(store, "worker-2") is None
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert bot.run(second.drain()) == 1
    assert first.run_one(held) is False  # taken over: nothing of its run is kept
    bot.run(sender(bot.app).drain())
    assert len(_previews(bot)) == 1


def test_a_preview_asked_for_before_the_bot_is_killed_comes_once_after_the_restart(
        bot: BotHarness, store: Store) -> None:
    _ask(bot, deliver=False)
    bot.crash()
    bot.deliver()
    bot.restart()
    bot.deliver()
    assert len(_previews(bot)) == 1
    assert [j.state for j in _jobs(store)] == ["done"]


def test_at_half_past_eleven_at_night_the_preview_asked_for_comes_at_once_silently(
        bot: BotHarness, clock: FakeClock) -> None:
    """What the admin asked for is not held for the morning as the unbidden messages are; it
    comes without a sound, as every message at night."""
    at(clock, "2026-06-15 23:30")
    _ask(bot)
    (preview,) = [m for m in bot.sim.bot_messages(ADMIN) if TITLE in (m.text or "")]
    assert preview.silent


def test_a_second_tap_while_the_preview_is_worked_out_brings_one_preview(
        bot: BotHarness, store: Store) -> None:
    _ask(bot, deliver=False)
    menu = bot.message_with_button(ADMIN, "adm:rating")
    bot.feed(bot.sim.tap(ADMIN, menu.message_id, "adm:rating"), deliver=False)  # impatient
    assert bot.alert() == "年度评定预览正在生成，稍后发给您。"
    bot.deliver()
    assert len(_previews(bot)) == 1
    assert [j.state for j in _jobs(store)] == ["done"]
    _ask(bot)  # once it has come, asking again brings a fresh one
    assert len(_previews(bot)) == 2
