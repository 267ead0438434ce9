"""The bot and two `kaohe worker` processes on one PostgreSQL (issue 14, item 3): a digest run
asked for from 管理 and the recompute after a changed scoring policy go through the workers
against the offline Telegram (served over HTTP); every message is delivered exactly once, both
workers took part, and `kaohe check` under the new policy is clean."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.config import load_settings
from models import jobs, org
from models.jobs import JobKind
from models.outbox import Kind
from models.standings import check
from models.store import Store
from models.tables import Cadre, Job, OutboxMessage, Period, Task
from models.vocab import PENDING, SENT
from sandbox.sim_http import SimulatorServer
from sandbox.simulator import TelegramSimulator
from tests.concurrency.conftest import Database
from tests.excel.support import workbook
from tests.excel.test_broken_files import TASK_HEADERS
from tests.support.world import build_world
from ui import excel_jobs

pytestmark = pytest.mark.concurrency
ROOT = Path(__file__).resolve().parents[2]
PEOPLE = 120  # digests enough that both workers get a share
GIVE_UP = 300.0  # seconds: a guard against a hang, not a measurement
DUTY_LIST = workbook({"履职事项": [TASK_HEADERS, (
    "2026", "N1", "P001", None, "新增事项", "基础履职", "综合基础类", 6, "市政府工作报告")]})


@pytest.fixture
def telegram() -> Iterator[SimulatorServer]:
    server = SimulatorServer(TelegramSimulator()).start()  # Telegram's flood limits on
    yield server
    server.stop()


def _new_policy(folder: Path) -> Path:
    """config.toml with other category weights: a policy change every score feels."""
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    changed = text.replace("category_weights = { business = 50, general = 50 }",
                           "category_weights = { business = 70, general = 30 }")
    assert changed != text
    path = folder / "config.toml"
    path.write_text(changed, encoding="utf-8")
    return path


def _environment(database: Database, telegram: SimulatorServer, config: Path) -> dict[str, str]:
    return {**os.environ, "KAOHE_CONFIG": str(config),
            "KAOHE_DATABASE__URL": database.url,
            "KAOHE_TELEGRAM__TOKEN": telegram.sim.token,
            "KAOHE_TELEGRAM__BASE_URL": telegram.base_url,
            "KAOHE_TELEGRAM__BASE_FILE_URL": telegram.base_file_url,
            "KAOHE_WORKERS__POLL_SECONDS": "0.2",
            # Digests wait out quiet hours; none here, whenever the test runs.
            "KAOHE_SCHEDULE__QUIET_START": "00:00", "KAOHE_SCHEDULE__QUIET_END": "00:00"}


def _bind_everyone(store: Store, sim: TelegramSimulator) -> int:
    """The world and PEOPLE more cadres, every one with a Telegram account; the admin's id."""
    world = build_world(store)
    with store.transaction() as ctx:
        office = world.office
        for n in range(PEOPLE):
            org.add_cadre(ctx, None, code=f"W{n:03d}", name=f"干部{n}", unit=office)
    with store.transaction() as ctx:
        for cadre in ctx.session.exec(select(Cadre)).all():
            cadre.telegram_user_id = 900_000 + (cadre.id or 0)
            sim.add_user(cadre.telegram_user_id, cadre.name)
    return world.id.admin


def _wait_until_done(store: Store, workers: list[subprocess.Popen[bytes]]) -> None:
    started = time.monotonic()
    while jobs.waiting(store) or _pending(store):
        assert all(w.poll() is None for w in workers), "a worker died"
        assert time.monotonic() - started < GIVE_UP, "the workers did not finish"
        time.sleep(0.5)


def _pending(store: Store) -> int:
    with store.session() as session:
        return len(session.exec(select(OutboxMessage.id).where(
            OutboxMessage.state == PENDING)).all())


def test_two_workers_deliver_a_digest_run_once_and_recompute_a_changed_policy(
        database: Database, telegram: SimulatorServer, tmp_path: Path) -> None:
    store, sim = database.store, telegram.sim
    admin = _bind_everyone(store, sim)
    store.run(jobs.recompute_if_policy_changed)  # the standings are of today's policy
    config = _new_policy(tmp_path)
    new_rules = load_settings(config).rules()
    with store.snapshot() as session:
        period = session.exec(select(Period).where(col(Period.is_active))).one()
        assert check(session, new_rules, period)  # the new policy: stale until recomputed
    # The admin taps 立即发送本周简报: the bot enqueues the run and answers at once.
    store.run(lambda ctx: jobs.enqueue(ctx, JobKind.DIGESTS, requested_by=admin))

    env = _environment(database, telegram, config)
    workers = [subprocess.Popen([sys.executable, "-m", "bot.cli", "worker"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for _ in range(2)]
    try:
        _wait_until_done(store, workers)
        # Then a duty list sent to the bot and 年度评定's preview (after the run, so that the
        # run's rows are shared by both workers, neither busy with these).
        store.run(lambda ctx: jobs.enqueue(ctx, JobKind.IMPORT, excel_jobs.import_payload(
            DUTY_LIST, admin), requested_by=admin))
        store.run(lambda ctx: jobs.enqueue(ctx, JobKind.PREVIEW, {
            "period_id": period.id, "days": 5}, requested_by=admin))
        _wait_until_done(store, workers)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        logs = [worker.communicate(timeout=60)[1].decode() for worker in workers]
    assert [w.returncode for w in workers] == [0, 0], logs  # a clean shutdown on SIGTERM
    assert all("stopped" in log for log in logs), logs

    with store.session() as session:
        rows = session.exec(select(OutboxMessage)).all()
        done = {job.kind: job for job in session.exec(select(Job)).all()}
    # (The workers' ticks also keep the dashboard's figures, a job of their own.)
    assert {kind: job.state for kind, job in done.items() if kind != JobKind.FIGURES} == {
        "digests": "done", "recompute": "done", "import": "done", "preview": "done"}
    digests = [row for row in rows if row.kind == Kind.DIGEST_CADRE]
    assert len(digests) >= PEOPLE and all(row.state == SENT for row in digests)
    assert len({row.chat_id for row in digests}) == len(digests)  # one per person
    # Exactly once: each chat shows as many bot messages as its sent rows had parts.
    parts = Counter[int]()
    for row in rows:
        if row.state == SENT:
            parts[row.chat_id or 0] += len(row.rendered or [])
    shown = {chat: len(sim.bot_messages(chat)) for chat in parts}
    assert shown == dict(parts)
    # Both workers sent a share (a sent row keeps its sender's name).
    assert {(row.claimed_by or "").rsplit("-", 1)[0] for row in digests} == {
        f"{socket.gethostname()[:40]}-{w.pid}" for w in workers}
    told = [m.text or "" for m in sim.bot_messages(900_000 + admin)]
    assert any("已排入发送队列" in text for text in told)  # the admin heard it was done
    # The import and the preview were each done once and told once (two workers took turns).
    imported = [text for text in told if text.startswith("导入完成")]
    assert len(imported) == 1 and "履职事项：新增 1，更新 0，未变 0" in imported[0]
    assert len([text for text in told if "年度评定" in text and "尚未公示" in text]) == 1
    with store.session() as session:
        assert session.exec(select(Task).where(Task.code == "N1")).one()

    checked = subprocess.run([sys.executable, "-m", "bot.cli", "check"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr

