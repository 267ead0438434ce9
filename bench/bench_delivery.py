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
from pathlib import Path

from sqlmodel import col, select
from telegram import Bot

from bench.bulk import build
from bot import digests
from bot.config import load_settings
from bot.render import Renderer
from bot.sandbox.simulator import TelegramSimulator
from bot.sender import OutboxSender, QuietHours
from models import outbox
from models.migrate import upgrade
from models.schedule import Planner, ScheduleRules
from models.store import Store, make_engine
from models.tables import Cadre, OutboxMessage, Period, Task


def fresh_store(name: str, clock: datetime | None = None) -> Store:
    path = Path(tempfile.mkdtemp()) / f"{name}.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    moment = clock or datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    return Store(engine, load_settings().rules(), clock=lambda: moment)


def bench_digests(cadres: int) -> None:
    store = fresh_store("digests")
    started = time.perf_counter()
    period = build(store, cadres)
    print(f"data: {cadres} cadres, 5 tasks each, built in {time.perf_counter() - started:.0f} s")
    r = Renderer("zh_CN")
    with store.session() as session:
        period = session.get(Period, period.id)
        assert period is not None
        started = time.perf_counter()
        planned = Planner(session, ScheduleRules(), store.tz).digests_for_week(
            period, datetime(2026, 11, 23).date())
        print(f"plan the week's digests: {len(planned)} rows in "
              f"{time.perf_counter() - started:.2f} s")
        people = session.exec(select(Cadre).order_by(col(Cadre.id))).all()
        payload = {"period_id": period.id, "week": "2026-11-23"}
        timings = []
        started = time.perf_counter()
        for cadre in people:
            one = time.perf_counter()
            card = digests.cadre_digest(session, payload, r, cadre)
            timings.append(time.perf_counter() - one)
            assert card is not None
        total = time.perf_counter() - started
    print(f"render {len(people)} cadre digests: {total:.1f} s in all, median "
          f"{statistics.median(timings) * 1000:.2f} ms, p95 "
          f"{sorted(timings)[int(len(timings) * 0.95)] * 1000:.2f} ms per digest")


async def _deliver(store: Store, sim: TelegramSimulator, count: int) -> None:
    bot = Bot(sim.token, request=sim.request(), get_updates_request=sim.request())
    async with bot:
        sender = OutboxSender(store, bot, quiet=QuietHours(datetime.min.time(),
                                                           datetime.min.time()))
        started = time.perf_counter()
        sent = 0
        while sent < count:
            got = await sender.drain(limit=500)
            sent += got
            if got == 0:
                await asyncio.sleep(0.05)
            if time.perf_counter() - started > 600:
                break
        elapsed = time.perf_counter() - started
    calls = [c for c in sim.calls("sendMessage")]
    per_chat = Counter(params["chat_id"] for _, params in calls)
    too_many = [e for e in sim.errors() if "Too Many Requests" in e[1]]
    print(f"deliver {sent} reminders: {elapsed:.1f} s, {sent / elapsed:.1f} messages/s "
          f"(limit 30/s), 429s: {len(too_many)}, chats with more than one: "
          f"{sum(1 for n in per_chat.values() if n > 1)}")


def bench_delivery(count: int) -> None:
    store = fresh_store("delivery")
    build(store, count, tasks_per_cadre=1)
    sim = TelegramSimulator()  # real clock, flood limits on
    with store.transaction() as ctx:
        people = ctx.session.exec(select(Cadre).order_by(col(Cadre.id))).all()
        tasks = {t.cadre_id: t for t in ctx.session.exec(select(Task)).all()}
        for cadre in people:
            sim.add_user(cadre.telegram_user_id or 0, cadre.name)
            task = tasks[cadre.id]
            outbox.enqueue(ctx, "deadline_reminder",
                           {"task_id": task.id, "occurrence": "", "due": "2026-11-30",
                            "days_left": 7},
                           recipient=cadre, dedupe_key=f"bench:{cadre.id}",
                           not_before=ctx.now - timedelta(minutes=1))
    with store.session() as session:
        # A reminder for a task already reported is dropped; count those that will go out.
        pending = len(session.exec(select(OutboxMessage.id)).all())
    asyncio.run(_deliver(store, sim, pending))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cadres", type=int, default=20_000)
    parser.add_argument("--reminders", type=int, default=2_000)
    args = parser.parse_args()
    bench_digests(args.cadres)
    bench_delivery(args.reminders)


if __name__ == "__main__":
    main()
