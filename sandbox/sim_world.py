"""The simulator's memory and its bookkeeping, shared by the bot's side and the users' side.

One re-entrant lock guards it. It is only ever held for short synchronous steps, never across
an await, so the event loop is not blocked; a terminal in another thread may act as a user.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import threading
from collections.abc import Callable
from typing import Any

from sandbox.sim_state import SimChat, SimMessage, SimUser, StoredFile

log = logging.getLogger(__name__)
Listener = Callable[[SimMessage, str], None]
_FILE_PREFIX = {"photo": "AgACAgIAAxk", "document": "BQACAgIAAxk"}


class SimWorld:
    def __init__(self, wall_clock: Callable[[], float], bot_user: dict[str, Any]) -> None:
        self.lock = threading.RLock()
        self.wall_clock = wall_clock
        self.bot_user = bot_user
        self.users: dict[int, SimUser] = {}
        self.chats: dict[int, SimChat] = {}
        self.history: dict[int, list[SimMessage]] = {}
        self.files: dict[str, StoredFile] = {}
        self.updates: list[dict[str, Any]] = []
        self.open_queries: dict[str, bool] = {}  # callback query id -> answered
        self.answers: list[dict[str, Any]] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.webhook: dict[str, Any] | None = None
        self.listeners: list[Listener] = []
        self._by_id: dict[tuple[int, int], SimMessage] = {}
        # Both only grow, across restarts too when the world is saved (sandbox/sim_saved.py):
        # the bot drops an update id it has handled before.
        self.next_serial = 1
        self.next_update_id = 1
        self._notes: list[tuple[SimMessage, str]] = []
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def now(self) -> int:
        return int(self.wall_clock())

    def serial(self) -> int:
        self.next_serial += 1
        return self.next_serial - 1

    # chats and messages

    def add_chat(self, chat: SimChat) -> None:
        self.chats[chat.chat_id] = chat
        self.history.setdefault(chat.chat_id, [])

    def resolve_chat(self, chat_id: Any) -> SimChat | None:
        """A chat by numeric id (int or digits) or by @username, as Telegram accepts both."""
        if isinstance(chat_id, str):
            if chat_id.lstrip("-").isdigit():
                chat_id = int(chat_id)
            else:
                name = chat_id.removeprefix("@")
                return next((c for c in self.chats.values() if c.username == name), None)
        return self.chats.get(chat_id)

    def find_message(self, chat_id: int, message_id: Any) -> SimMessage | None:
        if not isinstance(message_id, int):
            return None
        return self._by_id.get((chat_id, message_id))

    def new_message(self, chat: SimChat, *, sender: dict[str, Any], from_bot: bool,
                    **content: Any) -> SimMessage:
        fields: dict[str, Any] = {
            "text": None, "html": None, "caption": None, "photo": None, "document": None,
            "document_name": None, "reply_markup": None,
        }
        fields.update(content)
        message = SimMessage(
            message_id=chat.take_message_id(), chat_id=chat.chat_id, from_bot=from_bot,
            date=self.now(), sender=sender, chat=chat.to_json(), **fields,
        )
        self.history[chat.chat_id].append(message)
        self._by_id[(chat.chat_id, message.message_id)] = message
        if from_bot:
            self.note(message, "new")
        return message

    # files

    def store_file(self, kind: str, content: bytes, *, file_name: str | None = None,
                   mime_type: str | None = None, extension: str = "bin") -> StoredFile:
        number = self.serial()
        folder = "photos" if kind == "photo" else "documents"
        stored = StoredFile(
            file_id=f"{_FILE_PREFIX[kind]}{number:08d}SIMULATED",
            file_unique_id=f"AQAD{number:06d}",
            kind=kind, content=content, file_path=f"{folder}/file_{number}.{extension}",
            file_name=file_name, mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        return stored

    def file_by_path(self, path: str) -> StoredFile | None:
        return next((f for f in self.files.values() if f.file_path == path), None)

    def index_messages(self) -> None:
        """Rebuild the lookup by (chat, message id) after the history was loaded."""
        self._by_id = {(m.chat_id, m.message_id): m for messages in self.history.values()
                       for m in messages}

    # updates for the bot

    def queue_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": self.next_update_id, **copy.deepcopy(payload)}
        self.next_update_id += 1
        self.requeue(update)
        return copy.deepcopy(update)

    def requeue(self, update: dict[str, Any]) -> None:
        self.updates.append(copy.deepcopy(update))
        self._wake()

    def take_updates(self, offset: int | None, limit: int) -> list[dict[str, Any]]:
        """Telegram's offset: confirm (forget) every update below it; negative keeps the tail."""
        if offset is not None and offset < 0:
            self.updates = self.updates[offset:]
        elif offset is not None:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        return copy.deepcopy(self.updates[:limit])

    def add_waiter(self) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._waiters.append((loop, future))
        return future

    def drop_waiter(self, future: asyncio.Future[None]) -> None:
        self._waiters = [(lp, f) for lp, f in self._waiters if f is not future]

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(_resolve, future)

    # listeners

    def note(self, message: SimMessage, kind: str) -> None:
        self._notes.append((message, kind))

    def flush_notes(self) -> None:
        """Tell listeners what changed; called with the lock released."""
        with self.lock:
            notes, self._notes = self._notes, []
            listeners = list(self.listeners)
        for message, kind in notes:
            for listener in listeners:
                try:
                    listener(message, kind)
                except Exception:  # a broken view must not break the bot under test
                    log.exception("simulator listener failed on %s message", kind)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
