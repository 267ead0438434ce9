"""One send budget for every process sending as the bot (bot/budget.py `SharedBudget`), on
PostgreSQL: two outbox senders, each with its own budget object and connections as two
`kaohe worker`s have, and the bot answering people meanwhile, all against the offline
Telegram with its flood limits on and the real clock. Each sender alone would go at Telegram's
full 30 a second; together they never exceed it (no 429), and they use it (the busiest rolling
second is near 30)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import time as clock_time

from sqlalchemy import Engine, text

from bot.budget import SharedBudget, psycopg_url
from bot.sender import OutboxSender, QuietHours
from bot.telegram_bot import BudgetRateLimiter, KaoheBot
from models import outbox
from models.outbox import Kind
from models.rules import Rules
from models.store import Store
from sandbox.simulator import SimMessage, TelegramSimulator
from tests.conftest import _truncate_postgres

ROWS = 150  # five seconds of Telegram's limit
ANSWERS = 10  # the bot's answers to people during the run
FIRST_CHAT = 700_000


def _budget(engine: Engine, holder: str) -> SharedBudget:
    return SharedBudget(psycopg_url(engine.url), holder)


def _bot(sim: TelegramSimulator, budget: SharedBudget) -> KaoheBot:
    return KaoheBot(sim.token, request=sim.request(), get_updates_request=sim.request(),
                    rate_limiter=BudgetRateLimiter(budget, max_retries=0))


def _recorder(sim: TelegramSimulator) -> Callable[[], list[float]]:
    import time

    stamps: list[float] = []

    def seen(message: SimMessage, change: str) -> None:
        if change == "new" and message.from_bot:
            stamps.append(time.monotonic())

    sim.on_bot_message(seen)
    return lambda: sorted(stamps)


def _busiest_second(stamps: list[float]) -> int:
    busiest, first = 0, 0
    for last, at in enumerate(stamps):
        while stamps[first] <= at - 1.0:
            first += 1
        busiest = max(busiest, last - first + 1)
    return busiest


def test_two_senders_and_the_bot_share_telegrams_rolling_second(
        postgres_engine: Engine, rules: Rules) -> None:
    _truncate_postgres(postgres_engine)
    store = Store(postgres_engine, rules, timezone="Asia/Shanghai")
    sim = TelegramSimulator()  # the real clock, flood limits on
    people = FIRST_CHAT + ROWS
    for chat in range(FIRST_CHAT, people + ANSWERS):
        sim.add_user(chat, f"用户{chat}")
    with store.transaction() as ctx:
        for chat in range(FIRST_CHAT, people):
            outbox.enqueue(ctx, Kind.JOB_DONE, {"failed": True}, chat_id=chat)
    stamps = _recorder(sim)
    always_open = QuietHours(clock_time(0, 0), clock_time(0, 0))
    budgets = [_budget(postgres_engine, name) for name in ("worker-1", "worker-2", "bot")]

    async def run() -> int:
        bots = [_bot(sim, budget) for budget in budgets]
        for bot in bots:
            await bot.initialize()
        senders = [OutboxSender(store, bot, quiet=always_open, claimant=budget.holder,
                                lanes=4, budget=budget)
                   for bot, budget in zip(bots[:2], budgets[:2], strict=True)]

        async def answer_people() -> None:
            await asyncio.sleep(1.0)  # the run under way
            for chat in range(people, people + ANSWERS):
                await bots[2].send_message(chat, "您的任务")
                await asyncio.sleep(0.3)

        answering = asyncio.create_task(answer_people())

        try:
            sent = await asyncio.gather(*(s.drain(50) for s in senders))
            await answering
        finally:
            for bot in bots:
                await bot.shutdown()
            for budget in budgets:
                await budget.close()
        return sum(sent)

    sent = asyncio.run(run())
    assert sent == ROWS
    assert [e for e in sim.errors() if "Too Many Requests" in e[1]] == []
    assert all(sim.bot_messages(chat) for chat in range(people, people + ANSWERS))
    assert len(stamps()) == ROWS + ANSWERS
    assert 25 <= _busiest_second(stamps()) <= 30
    with postgres_engine.connect() as connection:  # every slot answered, none left in flight
        assert connection.execute(text(
            "SELECT count(*) FROM send_slot WHERE answered_at IS NULL")).scalar_one() == 0
