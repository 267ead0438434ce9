"""`kaohe worker`: the outbox's sender, the scheduler's tick and the heavy jobs, in a process of
their own beside the bot (on this machine or another), against the same PostgreSQL.

Run any number of them with [workers] external = true in the bot's configuration: they share
the work through claims with leases (models/claims.py) — an outbox row, a scheduler tick, a job
is taken by one of them — and they share Telegram's overall rate (each keeps to its share of
the live workers' heartbeats). SIGTERM or Ctrl-C ends a worker cleanly: the message and the job
in hand are finished (or rolled back whole), then it signs off so the others take up its share.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import logging
import os
import signal
import sys
import time as time_module
from datetime import date, time

from telegram import Bot

from bot.app_context import AppContext
from bot.budget import LocalBudget, SendBudget, shared_budget
from bot.jobs import JobRunner, telegram_fetch
from bot.scheduler import tick
from bot.sender import OutboxSender, Pacing, QuietHours
from bot.telegram_bot import make_bot
from models import claims, jobs, outbox
from models.claims import take_turns
from models.history import record_day
from models.migrate import refresh_statistics
from models.store import Store
from models.views import active_period
from ui.charts_pool import ChartPool

log = logging.getLogger(__name__)
TICK_SECONDS = 60.0  # the scheduler plans what fell due once a minute, as the bot's timer does
HEARTBEAT_SECONDS = 10.0
# Telegram's ~30 messages a second are per bot: the workers and the bot's answers to people
# draw from one budget in the database (bot/budget.py), which holds them all to it and leaves
# the bot's answers a slot; each worker only spaces its sends evenly at its share of this rate.
# (With a budget of their own per process, the workers had to keep to 27 a second: at 29 and
# at 28.5, taps during a digest run met 429s.)
WORKERS_RATE = 30.0
# Workers beside a bot on one SQLite file have no shared budget: together they keep to 27 in a
# rolling second, each its share, leaving the bot 3.
SQLITE_WORKERS_CAP = 27
# The day's history (every standing read and written) competes with a digest run's rendering
# for the interpreter lock: it waits until the sender has been idle this long, or at most
# HISTORY_WAITS_AT_MOST (a worker started during a run at 20,000 cadres sent at 21/s instead
# of 28/s for its first 25 s).
HISTORY_AFTER_IDLE = 10.0
HISTORY_WAITS_AT_MOST = 15 * 60.0
SHUTDOWN_SECONDS = 20.0  # how long a stopping worker waits for the work in its threads
# The interpreter's switch interval in a worker (Python's default: 5 ms). The sending loop and
# the thread rendering the next batch share one interpreter lock; at 5 ms, each of the many
# wake-ups a send needs (the slot taken, the request, the answer) could wait that long for
# the lock, and slots Telegram's limit had freed went unused (27.7/s of 30; at 0.5 ms 28.4,
# and 28.6 with the standings charts drawn in the chart process too).
SWITCH_INTERVAL = 0.0005
BATCH = 200  # outbox rows a worker picks and renders at once: about 7 s of Telegram's pace
LANES = 4  # rows of a batch in flight at once, each to its own chat (bot/sender.py)


class Worker:
    def __init__(self, kaohe: AppContext, *, bot: Bot | None = None, name: str | None = None,
                 pacing: Pacing | None = None) -> None:
        self.kaohe = kaohe
        self.store = kaohe.store
        self.name = name or claims.worker_name()
        settings = kaohe.settings
        self.budget = worker_budget(self.store, self.name)
        self.bot = bot or make_bot(settings.telegram, budget=self.budget)
        self.charts = ChartPool()  # processes spawned when the first chart is drawn
        poll = settings.workers.poll_seconds
        schedule = settings.schedule
        self.sender = OutboxSender(
            self.store, self.bot, settings.i18n.default_locale,
            quiet=QuietHours(time.fromisoformat(schedule.quiet_start),
                             time.fromisoformat(schedule.quiet_end)),
            pacing=pacing or Pacing(overall_rate=WORKERS_RATE), idle_seconds=poll,
            claimant=self.name, batch=BATCH, lanes=LANES, budget=self.budget,
            draw=self.charts, chart=self.charts.standings)
        self.jobs = JobRunner(self.store, schedule, claimant=self.name, idle_seconds=poll,
                              fetch=telegram_fetch(self.bot),
                              on_done=self.sender.wake)
        self._stop = asyncio.Event()
        self._history_day: date | None = None
        self._history_due: float | None = None  # since when (monotonic) it waits for the sender
        self.abandoned = False  # stopped with work still running in a thread

    def stop(self) -> None:
        """Finish what is in hand and end `run` (SIGTERM, Ctrl-C)."""
        self._stop.set()

    async def run(self) -> None:
        await asyncio.to_thread(self.store.run, jobs.recompute_if_policy_changed)
        await self.bot.initialize()
        log.info("worker %s started", self.name)
        loops = [asyncio.create_task(self.sender.run(), name="outbox-sender"),
                 asyncio.create_task(self.jobs.run(), name="jobs"),
                 asyncio.create_task(self._beat(), name="heartbeat"),
                 asyncio.create_task(self._ticks(), name="scheduler")]
        try:
            await self._stop.wait()
        finally:
            self.sender.stop()
            self.jobs.stop()
            # The row, batch, tick or job in hand ends (commits or rolls back whole) before
            # the worker lets go of what it claimed. What runs longer (a tick planning for
            # 20,000 people) is abandoned: the process ends without waiting for its thread,
            # and the database rolls that transaction back.
            _, pending = await asyncio.wait(loops, timeout=SHUTDOWN_SECONDS)
            self.abandoned = bool(pending)
            for task in pending:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*pending)
            self.charts.close()
            released = outbox.release(self.store, self.name)
            claims.sign_off(self.store, self.name)
            await self.budget.close()
            await self.bot.shutdown()
            log.info("worker %s stopped (%d unsent rows left to the others%s)", self.name,
                     released, "; work in progress abandoned" if self.abandoned else "")

    async def _beat(self) -> None:
        """Heartbeat: how many workers share Telegram's rate."""
        while not self._stop.is_set():
            try:
                alive = await asyncio.to_thread(claims.heartbeat, self.store, self.name)
                self.sender.share_rate(alive)
                if isinstance(self.budget, LocalBudget):  # no shared budget: each its share
                    self.budget.cap = max(SQLITE_WORKERS_CAP // alive, 1)
            except Exception:
                log.exception("heartbeat failed; trying again shortly")
            await self._pause(HEARTBEAT_SECONDS)

    async def _ticks(self) -> None:
        """The scheduler's tick once a minute (workers take turns on it), and the day's
        standings into the history once a day."""
        while not self._stop.is_set():
            try:
                if await asyncio.to_thread(tick, self.store, self.kaohe.settings.schedule,
                                           self.kaohe.settings.webapp.figures_every):
                    self.sender.wake()
                if self._history_day != self.store.today() and self._history_may_run():
                    await asyncio.to_thread(self._history)
            except Exception:
                log.exception("the scheduler's tick failed; trying again at the next")
            await self._pause(TICK_SECONDS)

    def _history_may_run(self) -> bool:
        now = time_module.monotonic()
        if self._history_due is None:
            self._history_due = now
        if (self.sender.idle_for() < HISTORY_AFTER_IDLE
                and now - self._history_due < HISTORY_WAITS_AT_MOST):
            return False
        self._history_due = None
        return True

    def _history(self) -> None:
        with self.store.transaction() as ctx:
            take_turns(ctx, "history")  # the first worker of the day records it
            period = active_period(ctx.session)
            if period is not None:
                record_day(ctx, period)
        refresh_statistics(self.store.engine)
        self._history_day = self.store.today()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stop.wait()


def worker_budget(store: Store, name: str) -> SendBudget:
    return shared_budget(store.engine.url, name) or LocalBudget(cap=SQLITE_WORKERS_CAP)


def run_worker(kaohe: AppContext) -> None:
    """Until SIGTERM or Ctrl-C."""

    # `kill -USR1` prints every thread's stack to the log's stream: what a slow worker does.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    sys.setswitchinterval(SWITCH_INTERVAL)

    async def main() -> None:
        worker = Worker(kaohe)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)
        await worker.run()
        if worker.abandoned:  # its thread would hold asyncio.run's and the interpreter's exit
            logging.shutdown()
            os._exit(0)

    asyncio.run(main())
