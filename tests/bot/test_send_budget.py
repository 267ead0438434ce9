"""One send budget for every process sending as the bot (bot/budget.py `SharedBudget`), on
PostgreSQL: two outbox senders, each with its own budget object and connections as two
`kaohe worker`s have, and the bot answering people meanwhile, all against the offline
Telegram with its flood limits on and the real clock. Each sender alone would go at Telegram's
full 30 a second; together they never exceed it (no 429), and they use it (the busiest rolling
second is near 30)."""

from __future__ import annotations

import asyncio
import time
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
    """When the simulator saw each message the bot sent."""
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


def _take(engine: Engine, *, urgent: bool = False, patience: float = 0.0,
          lost_after: float = 30.0) -> tuple[int | None, float]:
    with engine.begin() as connection:
        slot, wait = connection.execute(text(
            "SELECT slot, wait FROM take_send_slot('test', :urgent, 30, 1, 10, :lost, :patience)"
        ), {"urgent": urgent, "lost": lost_after, "patience": patience}).one()
        return slot, wait


def _fill(engine: Engine, *, answered: str | None, taken: str = "now_s") -> None:
    """Thirty slots of another sender: answered at `answered` (SQL, seconds), or in flight."""
    with engine.begin() as connection:
        connection.execute(text(
            f"WITH t AS (SELECT extract(epoch FROM clock_timestamp()) AS now_s) "
            f"INSERT INTO send_slot (holder, priority, taken_at, answered_at) "
            f"SELECT 'other', false, {taken}, {answered or 'NULL'} "
            f"FROM t, generate_series(1, 30)"))


def test_a_full_window_books_the_first_slot_to_free_or_says_when_to_ask(
        postgres_engine: Engine) -> None:
    _truncate_postgres(postgres_engine)
    _fill(postgres_engine, answered="now_s - 0.5")  # they free in half a second
    slot, wait = _take(postgres_engine, patience=0.05)
    assert slot is None and 0.2 < wait <= 0.45  # ask again when it is within patience
    slot, wait = _take(postgres_engine, urgent=True, patience=5.0)
    assert slot is not None and 0.2 < wait <= 0.5  # the bot books it
    slot, wait = _take(postgres_engine, urgent=True, patience=5.0)
    assert slot is not None and 0.2 < wait <= 0.5  # the next to free, as old
    with postgres_engine.begin() as connection:
        connection.execute(text("DELETE FROM send_slot WHERE holder = 'other'"))
    slot, _ = _take(postgres_engine, urgent=True)
    assert slot is not None  # the bookings count, the rest is free


def test_the_outbox_leaves_the_bot_a_slot_while_it_answers_people(
        postgres_engine: Engine) -> None:
    _truncate_postgres(postgres_engine)
    with postgres_engine.begin() as connection:  # the bot answered someone 3 s ago
        connection.execute(text(
            "INSERT INTO send_slot (holder, priority, taken_at, answered_at) "
            "SELECT 'bot', true, e - 3, e - 3 FROM extract(epoch FROM clock_timestamp()) e"))
        connection.execute(text(
            "INSERT INTO send_slot (holder, priority, taken_at, answered_at) "
            "SELECT 'other', false, e, e FROM extract(epoch FROM clock_timestamp()) e, "
            "generate_series(1, 28)"))
    assert _take(postgres_engine)[0] is not None  # the 29th
    assert _take(postgres_engine)[0] is None  # the 30th is the bot's
    assert _take(postgres_engine, urgent=True)[0] is not None


def test_slots_of_a_process_that_died_are_forgotten(postgres_engine: Engine) -> None:
    _truncate_postgres(postgres_engine)
    _fill(postgres_engine, answered=None, taken="now_s - 31")  # in flight for 31 s
    slot, _ = _take(postgres_engine, lost_after=30.0)
    assert slot is not None
    with postgres_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM send_slot")).scalar_one() == 1
