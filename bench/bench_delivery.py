"""Benchmarks of the scheduler's delivery (issue 4).

    .venv/bin/python bench/bench_delivery.py [--cadres 20000] [--reminders 2000]

1. Digest rendering: a bulk organisation of N cadres (5 tasks each, a year of reports) in a
   temporary SQLite file; time to plan the week's digests and to render every cadre's digest
   (what the sender does for each row), with the median per digest over samples.
2. Delivery: M deadline reminders to M different cadres through the offline Telegram with its
   flood limits on (30 sends in any rolling second, per chat and per group limits), sent by the
   real OutboxSender: elapsed time, messages per second, 429s seen, duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

from sqlmodel import col, select
from telegram import Bot

from bench.bulk import build
from bot.config import load_settings
from bot.sender import OutboxSender, QuietHours
from models import outbox, views
from models.migrate import upgrade
from models.schedule import Planner, ScheduleRules
from models.store import Store, make_engine
from models.tables import Cadre, OutboxMessage, Period, Task, Unit
from sandbox.simulator import TelegramSimulator
from ui import digests
from ui.render import Renderer


def fresh_store(name: str, clock: datetime | None = None) -> Store:
    path = Path(tempfile.mkdtemp()) / f"{name}.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    moment = clock or datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    return Store(engine, load_settings().rules(), clock=lambda: moment)


def bench_digests(cadres: int, batch: int = 50) -> None:
    """Plan a week's digests, then render every cadre's as the sender does: `batch` rows at a
    time through digests.cadre_digests; and each unit's supervisor digest with its chart."""
    store = fresh_store("digests")
    started = time.perf_counter()
    period = build(store, cadres)
    print(f"data: {cadres} cadres, 5 tasks each, built in {time.perf_counter() - started:.0f} s")
    r = Renderer("zh_CN")
    with store.session() as session:
        found = session.get(Period, period.id)
        assert found is not None
        period = found
        started = time.perf_counter()
        planned = Planner(session, ScheduleRules(), store.tz).digests_for_week(
            period, datetime(2026, 11, 23).date())
        print(f"plan the week's digests: {len(planned)} rows in "
              f"{time.perf_counter() - started:.2f} s")
        people = session.exec(select(Cadre).order_by(col(Cadre.id))).all()
        payload = {"period_id": period.id, "week": "2026-11-23"}
        per_batch = []
        started = time.perf_counter()
        for first in range(0, len(people), batch):
            one = time.perf_counter()
            made = digests.cadre_digests(session, payload, people[first:first + batch],
                                         lambda _: r)
            per_batch.append((time.perf_counter() - one) / len(made))
        total = time.perf_counter() - started
        units = session.exec(select(Unit).where(col(Unit.kind) == "township")
                             .order_by(col(Unit.id))).all()[:20]
        texts: list[float] = []
        charts: list[float] = []
        for unit in units:
            one = time.perf_counter()
            card = digests.supervisor_digest(session, {**payload, "unit_id": unit.id}, r,
                                             lambda *a, **k: b"")
            texts.append(time.perf_counter() - one)
            assert card is not None
            board = [line for b in views.boards_below(session, period, unit) for line in b.lines]
            one = time.perf_counter()
            digests.chart("单位", [x.name for x in board], [x.total for x in board])
            charts.append(time.perf_counter() - one)
    print(f"render {len(people)} cadre digests, {batch} at a time: {total:.2f} s in all; "
          f"per digest median {statistics.median(per_batch) * 1000:.3f} ms, spread "
          f"{min(per_batch) * 1000:.3f}–{max(per_batch) * 1000:.3f} ms")
    print(f"supervisor digest of a unit of 40: text median "
          f"{statistics.median(texts) * 1000:.1f} ms, chart median "
          f"{statistics.median(charts[1:]) * 1000:.0f} ms (first chart, loading the font: "
          f"{charts[0] * 1000:.0f} ms)")


async def _deliver(store: Store, sim: TelegramSimulator) -> tuple[int, float]:
    bot = Bot(sim.token, request=sim.request(), get_updates_request=sim.request())
    async with bot:
        always_open = QuietHours(clock_time(0, 0), clock_time(0, 0))
        sender = OutboxSender(store, bot, quiet=always_open)  # default pacing, real clock
        started = time.perf_counter()
        sent = await sender.drain(limit=50, until_empty=True)  # as the bot's timer drains
        return sent, time.perf_counter() - started


def bench_delivery(count: int) -> None:
    store = fresh_store("delivery")
    build(store, count, tasks_per_cadre=1, reported=0.0)  # nobody has reported: all go out
    sim = TelegramSimulator()  # real clock, flood limits on
    with store.transaction() as ctx:
        people = ctx.session.exec(select(Cadre).order_by(col(Cadre.id))).all()
        tasks = {t.cadre_id: t for t in ctx.session.exec(select(Task)).all()}
        for cadre in people:
            sim.add_user(cadre.telegram_user_id or 0, cadre.name)
            task = tasks[cadre.id]
            outbox.enqueue(ctx, outbox.Kind.DEADLINE_REMINDER,
                           {"task_id": task.id, "occurrence": "", "due": "2026-11-30",
                            "days_left": 7},
                           recipient=cadre, dedupe_key=f"bench:{cadre.id}",
                           not_before=ctx.now - timedelta(minutes=1))
    sent, elapsed = asyncio.run(_deliver(store, sim))
    calls = [params for method, params in sim.calls("sendMessage")]
    per_chat = Counter(params["chat_id"] for params in calls)
    too_many = [e for e in sim.errors() if "Too Many Requests" in e[1]]
    with store.session() as session:
        states = Counter(session.exec(select(OutboxMessage.state)).all())
    print(f"deliver {count} reminders: {sent} sent in {elapsed:.1f} s = "
          f"{sent / elapsed:.1f} messages/s (Telegram's limit 30/s); 429s: {len(too_many)}; "
          f"chats that got more than one: {sum(1 for n in per_chat.values() if n > 1)}; "
          f"outbox states: {dict(states)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cadres", type=int, default=20_000)
    parser.add_argument("--reminders", type=int, default=2_000)
    args = parser.parse_args()
    bench_digests(args.cadres)
    bench_delivery(args.reminders)


if __name__ == "__main__":
    main()
