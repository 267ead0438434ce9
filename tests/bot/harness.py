"""Drive the real Application through the offline Bot API simulator, as users would.

Synchronous on purpose: each call feeds one update to `Application.process_update` on the
harness's own event loop, then lets the sender deliver what is due (as its own loop would,
beside the update loop) and returns, so tests read like a conversation: say, tap, press, look.
With `background_sender=True` the sender runs as the real asyncio task instead, concurrently
with the updates, and nothing is delivered on the harness's account.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from sqlmodel import select
from telegram import Update
from telegram.ext import Application

from bot.app_context import AppContext
from bot.application import (
    build_application,
    job_runner,
    register_commands,
    sender,
    start_sender,
    stop_sender,
)
from bot.config import Settings, load_settings
from bot.sender import Pacing
from models import invites, jobs
from models.outbox import Kind
from models.store import Store
from models.tables import Cadre, OutboxMessage
from models.vocab import PENDING
from sandbox.simulator import SimMessage, TelegramSimulator

T = TypeVar("T")


class BotHarness:
    def __init__(self, store: Store, settings: Settings | None = None, *,
                 background_sender: bool = False) -> None:
        self.store = store
        self.settings = settings or load_settings()
        self.loop = asyncio.new_event_loop()
        clock = store.clock
        # People take a few seconds between taps; Telegram's flood limits are measured on this.
        self.human_time = 0.0
        self.sim = TelegramSimulator(clock=lambda: self.human_time,
                                     wall_clock=lambda: clock().timestamp())
        self.context = AppContext(settings=self.settings, engine=store.engine,
                                  rules=store.rules, store=store)
        self.background_sender = background_sender
        self.app = self._start()

    def _start(self) -> Application:  # type: ignore[type-arg]
        application = build_application(
            self.context, token=self.sim.token, request=self.sim.request(),
            updates_request=self.sim.request(), rate_limiter=False,
            pacing=Pacing(clock=lambda: self.human_time, sleep=self._wait),
        )
        self.run(application.initialize())
        self.run(register_commands(application))
        if self.background_sender:
            self.sender_task = self.loop.run_until_complete(self._start_sender(application))
        return application

    @staticmethod
    async def _start_sender(application: Application) -> asyncio.Task[None]:  # type: ignore[type-arg]
        return start_sender(application)

    async def _wait(self, seconds: float) -> None:
        """The sender's pause between sends, on the simulator's clock: no real sleeping (but a
        turn for the update loop, as a real pause would give)."""
        self.human_time += seconds
        await asyncio.sleep(0)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        self._stop_sender()
        self.run(self.app.shutdown())
        self.loop.close()

    def restart(self) -> None:
        """Stop the Application as a deploy would and start a fresh one on the same database."""
        self._stop_sender()
        self.run(self.app.shutdown())
        self.app = self._start()

    def crash(self) -> None:
        """The process dies (kill -9): nothing is flushed or shut down; a fresh Application
        starts on the same database."""
        self._stop_sender()
        self.app = self._start()

    def _stop_sender(self) -> None:
        if self.background_sender:
            self.run(stop_sender(self.app, self.sender_task))

    def deliver(self) -> int:
        """What the jobs' and the sender's loops would do now: the waiting jobs, then send
        everything due."""
        self.run(job_runner(self.app).drain())
        return self.run(sender(self.app).drain())

    # -- people ---------------------------------------------------------------------------

    def join(self, cadre: Cadre, telegram_id: int, *, language: str = "zh-hans") -> None:
        """The cadre gets an invite code from the office and binds their account with it."""
        self.sim.add_user(telegram_id, cadre.name, language_code=language)
        admin_id = self._admin_id()
        with self.store.transaction() as ctx:
            code = invites.issue_invite(ctx, admin_id, cadre.id or 0).code
        self.say(telegram_id, f"/start {code}")

    def _admin_id(self) -> int:
        from sqlmodel import col

        with self.store.session() as session:
            admin = session.exec(select(Cadre).where(col(Cadre.is_admin))).first()
            assert admin is not None and admin.id is not None
            return admin.id

    # -- what users do ----------------------------------------------------------------------

    def feed(self, update: dict[str, Any], *, deliver: bool = True) -> None:
        """The bot handles `update`; then what its loops would do (unless `deliver` is False:
        the process dies first, or `kaohe worker`s elsewhere do the jobs)."""
        self.human_time += 3
        self.run(self.app.process_update(Update.de_json(update, self.app.bot)))
        if deliver and not self.background_sender:
            self.deliver()

    def settle(self) -> None:
        """Wait for the heavy work the bot runs beside the update loop (an Excel import, the
        rating preview) to end and for what it has to say to be delivered: at once through
        `deliver`, or, with the background sender, until the loops have done it."""
        if not self.background_sender:
            self.deliver()
            return

        async def told() -> None:
            while jobs.waiting(self.store) or self._untold():
                await asyncio.sleep(0.01)

        self.run(asyncio.wait_for(told(), timeout=300))  # a guard against a hang

    def _untold(self) -> int:
        with self.store.session() as session:
            return len(session.exec(select(OutboxMessage.id).where(
                OutboxMessage.kind == Kind.JOB_DONE, OutboxMessage.state == PENDING)).all())

    def say(self, user_id: int, text: str, *, chat: int | None = None) -> list[SimMessage]:
        """The user writes `text` in their private chat, or in the group `chat`."""
        where = chat or user_id
        before = len(self.sim.messages(where))
        self.feed(self.sim.send_text(user_id, text, chat_id=chat))
        return self._new(where, before)

    def press(self, user_id: int, label: str) -> list[SimMessage]:
        before = len(self.sim.messages(user_id))
        self.feed(self.sim.press(user_id, label))
        return self._new(user_id, before)

    def tap(self, user_id: int, button: str, message: SimMessage | None = None, *,
            chat: int | None = None) -> list[SimMessage]:
        """Tap a button on `message` (default: the latest bot message in the chat that has it)."""
        where = chat or user_id
        target = message or self.message_with_button(where, button)
        before = len(self.sim.messages(where))
        self.feed(self.sim.tap(user_id, target.message_id, button, chat_id=chat))
        return self._new(where, before)

    def photo(self, user_id: int) -> list[SimMessage]:
        before = len(self.sim.messages(user_id))
        self.feed(self.sim.send_photo(user_id))
        return self._new(user_id, before)

    def _new(self, user_id: int, before: int) -> list[SimMessage]:
        return [m for m in self.sim.messages(user_id)[before:] if m.from_bot]

    # -- what users see ---------------------------------------------------------------------

    def alert(self) -> str:
        """The text of the latest answer to a tap (a toast, or an alert the user dismisses)."""
        answers = self.sim.callback_answers()
        return str(answers[-1].get("text") or "") if answers else ""

    def last(self, user_id: int) -> SimMessage:
        return self.sim.last_bot_message(user_id)

    def message_with_button(self, chat_id: int, button: str) -> SimMessage:
        for message in reversed(self.sim.bot_messages(chat_id)):
            if message.deleted:
                continue
            for row in message.buttons():
                if any(button in (text, data) for text, data in row):
                    return message
        raise AssertionError(f"no message in chat {chat_id} has a button {button!r}")

    def texts(self, user_id: int) -> list[str]:
        return [m.text or m.caption or "" for m in self.sim.bot_messages(user_id)]
