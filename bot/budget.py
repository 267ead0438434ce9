"""Telegram's overall limit, about 30 messages in any rolling second, is per bot token: every
process sending as the bot (its answers to people, the embedded sender, each `kaohe worker`)
draws from one budget.

The rule is the same in one process and across many: a send may start only while fewer than
`cap` sends are in flight or were answered within the last second. One answered more than a
second ago reached Telegram more than a second ago, so however sends are delayed on the way, no
rolling second there holds more than `cap` of ours. The bot's answers to people come first: the
outbox leaves `reserve` slots free while the bot has answered someone lately, and when the
window is full the outbox looks again a moment after the bot does.

- `LocalBudget`: in memory, for everything in one process (the embedded default, the tests'
  simulator on virtual time).
- `SharedBudget`: in PostgreSQL (table send_slot, function take_send_slot of migration 0015),
  on the database's clock, for the bot and the workers on any number of hosts. Taking a slot is
  one round trip. When the window is full, the slot that frees first is booked if that is
  near (the bot books however far): the sender waits out the time the database named on its
  own clock, which started only when the answer arrived, so it never starts early, and no round
  trip sits between a slot coming free and its next send. Answers are written in batches
  beside the sends (an answer only has to be known before its slot would come free, a second
  later), each dated back by the time it waited on this host, so the slot frees a second after
  the real answer. Every slot costs a second plus its send's round trip: the budget yields
  30 / (1 + round trip) a second, about 29.7 with a 10 ms round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time as time_module
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from typing import Any, Protocol

import psycopg
from sqlalchemy.engine import URL

log = logging.getLogger(__name__)

CAP = 30  # Telegram's overall limit: sends in any rolling second
RESERVE = 1  # slots the outbox leaves to the bot's answers while the bot is answering people
RESERVE_FOR = 10.0  # seconds after the bot's last answer that it counts as answering people
OUTBOX_LATER = 0.003  # seconds the outbox waits beyond a freed slot, so the bot gets it first
# How far ahead a sender may book the next slot to come free, in seconds: the outbox's lanes
# book at most this far ahead, so the bot's answer, booking without limit, waits little more.
OUTBOX_PATIENCE = 0.02
BOT_PATIENCE = 5.0
LOST_AFTER = 30.0  # seconds after which a slot still in flight belonged to a process that died

# Set while the outbox's sender makes a call it took a slot for, so the bot's rate limiter
# (bot/telegram_bot.py) does not take a second one for it.
COUNTED: ContextVar[bool] = ContextVar("send_budget_counted", default=False)


class SendBudget(Protocol):
    def slot(self, *, priority: bool) -> contextlib.AbstractAsyncContextManager[None]:
        """Held around one call that sends as the bot: entered when the budget allows it."""

    async def close(self) -> None: ...


class LocalBudget:
    """The budget for senders in one process. `cap` 0: no limit."""

    def __init__(self, clock: Callable[[], float] = time_module.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, *,
                 cap: int = CAP, reserve: int = RESERVE) -> None:
        self._clock, self._sleep = clock, sleep
        self.cap, self.reserve = cap, reserve
        self._answered: deque[tuple[float, bool]] = deque()  # (when, the bot's answer)
        self._in_flight = {True: 0, False: 0}  # by priority
        self._urgent_at = -RESERVE_FOR  # when the bot last answered someone

    @contextlib.asynccontextmanager
    async def slot(self, *, priority: bool) -> AsyncIterator[None]:
        await self.enter(priority=priority)
        try:
            yield
        finally:
            self.leave(priority=priority)

    async def enter(self, *, priority: bool = False) -> None:
        while self.cap:
            now = self._clock()
            while self._answered and self._answered[0][0] <= now - 1.0:
                self._answered.popleft()
            if self._busy() + (0 if priority else self._held_back(now)) < self.cap:
                break
            oldest = self._answered[0][0] + 1.0 - now if self._answered else 0.0
            later = 0.0 if priority else OUTBOX_LATER
            await self._sleep(max(oldest, 0.005) + later)  # in flight only: look again shortly
        self._in_flight[priority] += 1
        if priority:
            self._urgent_at = self._clock()

    def leave(self, *, priority: bool = False) -> None:
        self._in_flight[priority] -= 1
        self._answered.append((self._clock(), priority))

    def _busy(self) -> int:
        return len(self._answered) + sum(self._in_flight.values())

    def _held_back(self, now: float) -> int:
        """Slots the outbox leaves free for the bot's answers."""
        if now - self._urgent_at >= RESERVE_FOR:
            return 0
        urgent = self._in_flight[True] + sum(1 for _, mine in self._answered if mine)
        return max(min(self.reserve, self.cap - 1) - urgent, 0)

    async def close(self) -> None:
        pass


def psycopg_url(url: URL) -> str:
    """libpq's form of a SQLAlchemy URL (postgresql+psycopg://… without the driver)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def shared_budget(url: URL, holder: str) -> SharedBudget | None:
    """The budget in the database of `url` for `holder` (the bot, a worker's name); None when
    it is not PostgreSQL, the one engine senders on several hosts share."""
    if url.get_backend_name() != "postgresql":
        return None
    return SharedBudget(psycopg_url(url), holder)


class SharedBudget:
    """The budget in PostgreSQL for every process sending as the bot. Its own two connections
    (taking, answering), outside the engine's pool: a slot is taken just before its send, and
    a pool's checkout ping would double the round trip."""

    def __init__(self, url: str, holder: str, *, cap: int = CAP, reserve: int = RESERVE,
                 clock: Callable[[], float] = time_module.monotonic) -> None:
        self.url, self.holder = url, holder[:64]
        self.cap, self.reserve = cap, reserve
        self._clock = clock
        self._taking: psycopg.AsyncConnection[Any] | None = None
        self._answering: psycopg.AsyncConnection[Any] | None = None
        self._take_lock = asyncio.Lock()
        self._answers: list[tuple[int, float]] = []  # (slot, when answered, on self._clock)
        self._writer: asyncio.Task[None] | None = None
        # Seconds from a slot's start to the answer (the last few thousand), for the log.
        self.flights: deque[float] = deque(maxlen=5000)
        self.booked = 0  # slots booked ahead (the sender waited for one to come free)
        self.refused = 0  # takes refused (the sender asked again)

    @contextlib.asynccontextmanager
    async def slot(self, *, priority: bool) -> AsyncIterator[None]:
        taken = await self._take(priority)
        took = self._clock()
        try:
            yield
        finally:
            self._answers.append((taken, self._clock()))
            self.flights.append(self._clock() - took)
            if self._writer is None or self._writer.done():
                self._writer = asyncio.create_task(self._write_answers(), name="send-budget")

    async def _take(self, priority: bool) -> int:
        while True:
            try:
                async with self._take_lock:  # one statement at a time on the connection
                    if self._taking is None or self._taking.closed:
                        self._taking = await self._connect()
                    cursor = await self._taking.execute(
                        "SELECT slot, wait FROM take_send_slot(%s, %s, %s, %s, %s, %s, %s)",
                        (self.holder, priority, self.cap, self.reserve, RESERVE_FOR,
                         LOST_AFTER, BOT_PATIENCE if priority else OUTBOX_PATIENCE))
                    slot, wait = await cursor.fetchone() or (None, 0.05)
            except psycopg.Error:
                log.exception("taking a send slot failed; trying again shortly")
                await self._drop("_taking")
                slot, wait = None, 1.0
            if slot is not None:  # booked: it may start `wait` seconds after the database
                if wait > 0:      # said so, which was before the answer got here
                    self.booked += 1
                    await asyncio.sleep(float(wait))
                return int(slot)
            self.refused += 1
            await asyncio.sleep(max(float(wait), 0.001) + (0.0 if priority else OUTBOX_LATER))

    async def _write_answers(self) -> None:
        """Write the answers as they come, all waiting at once; each dated back by how long
        it waited here (a duration on this host's clock; the date is the database's)."""
        while self._answers:
            answers, self._answers = self._answers, []
            now = self._clock()
            try:
                if self._answering is None or self._answering.closed:
                    self._answering = await self._connect()
                await self._answering.execute(
                    "UPDATE send_slot SET answered_at = extract(epoch FROM clock_timestamp())"
                    " - a.waited FROM unnest(%s::bigint[], %s::float8[]) AS a(slot, waited)"
                    " WHERE send_slot.id = a.slot",
                    ([slot for slot, _ in answers], [now - at for _, at in answers]))
            except psycopg.Error:  # unwritten, the slots stay in flight until LOST_AFTER
                log.exception("writing %d send answers failed", len(answers))
                await self._drop("_answering")

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(self.url, autocommit=True)

    async def _drop(self, which: str) -> None:
        connection = getattr(self, which)
        setattr(self, which, None)
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                await connection.close()

    async def close(self) -> None:
        """The answers still unwritten written, the connections closed."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer
        if self.flights:
            flights = sorted(self.flights)
            log.info("send budget: in flight median %.0f ms, p95 %.0f ms; %d booked ahead, "
                     "%d refused", flights[len(flights) // 2] * 1000,
                     flights[int(len(flights) * 0.95)] * 1000, self.booked, self.refused)
        await self._drop("_taking")
        await self._drop("_answering")
