"""An offline Telegram: the real python-telegram-bot talks to it through a request object.

Tests (and the terminal sandbox) play the users: they write, tap buttons and send photos; the
bot under test receives the updates through getUpdates or `Application.process_update` and
answers through the ordinary Bot API calls, which are checked against the Bot API spec and
Telegram's limits, more strictly than Telegram itself, so mistakes fail here first.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args
from urllib.parse import unquote, urlsplit

from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from sandbox.html_check import utf16_len
from sandbox.sim_errors import ApiError, SimulatorError, bad_request
from sandbox.sim_limits import FaultKind, FaultPlan, RateLimiter
from sandbox.sim_methods import BotApi, Call, commands_key
from sandbox.sim_saved import load_world, save_world
from sandbox.sim_state import SimChat, SimMessage, SimUser, tiny_png
from sandbox.sim_world import Listener, SimWorld
from sandbox.spec import ApiSpec, Upload

__all__ = ["SimMessage", "SimulatorError", "SimulatorRequest", "TelegramSimulator"]

JSON = dict[str, Any]
_COMMAND = re.compile(r"/\S+")


@dataclass
class CallRecord:
    """One Bot API call as the bot made it, and the error it got, if any."""

    method: str
    params: JSON
    error: str | None = None


class SimulatorRequest(BaseRequest):
    """PTB's transport, answered by the simulator instead of api.telegram.org."""

    def __init__(self, simulator: TelegramSimulator) -> None:
        self._simulator = simulator

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        """Nothing to open: there is no network."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        return await self._simulator.serve(url, method, request_data)


class TelegramSimulator:
    """Telegram's side of a conversation: the users, their chats and the Bot API."""

    def __init__(
        self,
        *,
        spec_path: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rate_limits: bool = True,
        bot_id: int = 7000000001,
        bot_username: str = "kaohe_sandbox_bot",
        bot_name: str = "考核助手",
    ) -> None:
        self.spec = ApiSpec.load(spec_path)
        self.token = f"{bot_id}:SANDBOX"
        self.bot_user: JSON = {
            "id": bot_id, "is_bot": True, "first_name": bot_name, "username": bot_username,
        }
        self._world = SimWorld(wall_clock, self.bot_user)
        self._api = BotApi(self._world, self.spec, RateLimiter(clock) if rate_limits else None)
        self._faults = FaultPlan()
        self._log: list[CallRecord] = []

    def request(self) -> BaseRequest:
        """A new request object; PTB wants one for getUpdates and another for the rest."""
        return SimulatorRequest(self)

    # the HTTP side

    async def serve(self, url: str, http_method: str,
                    request_data: RequestData | None) -> tuple[int, bytes]:
        """Answer one HTTP request of PTB with Telegram's status code and JSON body."""
        await asyncio.sleep(0)  # a real request yields to the loop; concurrent tasks interleave
        if http_method.upper() == "GET":
            return self._download(url)
        token, method = _split_api_url(url)
        if token != self.token:
            return _answer(ApiError(401, "Unauthorized").payload(), 401)
        if not self.spec.has_method(method):
            return _answer({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        params, uploads = self._decode(method, request_data)
        with self._world.lock:
            record = CallRecord(method, params)
            self._log.append(record)
            fault = self._faults.take(method)
        try:
            if fault is not None:
                self._inject(fault.kind, fault.retry_after, record)
            result = await self._run(Call(method, params, uploads))
        except ApiError as exc:
            record.error = record.error or exc.description
            return _answer(exc.payload(), exc.status)
        finally:
            self._world.flush_notes()
        return _answer({"ok": True, "result": result}, 200)

    async def _run(self, call: Call) -> Any:
        if not self._api.supports(call.method):
            raise bad_request(f"method not supported by the simulator: {call.method}")
        self.spec.check_call(call.method, call.params)
        if call.method == "getUpdates":
            return await self._api.get_updates(call)
        with self._world.lock:
            return self._api.call(call)

    def _inject(self, kind: FaultKind, retry_after: int, record: CallRecord) -> None:
        """A fault queued with fail_next: the call fails before it changes anything."""
        record.error = f"injected {kind}"
        if kind == "429":
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        if kind == "500":
            raise ApiError(502, "Bad Gateway")
        if kind == "timeout":
            raise TimedOut("Timed out (injected by the simulator)")
        raise NetworkError("Network failure (injected by the simulator)")

    def _decode(self, method: str, request_data: RequestData | None) -> tuple[JSON, dict[str,
                                                                                       Upload]]:
        """Parameters as Telegram would read them (JSON values) and the uploaded files."""
        if request_data is None:
            return {}, {}
        params = {k: json.loads(json.dumps(v)) for k, v in request_data.parameters.items()}
        uploads = {}
        for name, (file_name, content, mime_type) in request_data.multipart_data.items():
            data = content if isinstance(content, bytes) else content.read()
            uploads[name] = Upload(file_name or name, bytes(data), mime_type or "")
            if name in self.spec.methods[method]:
                params[name] = uploads[name]
        return params, uploads

    def _download(self, url: str) -> tuple[int, bytes]:
        path = unquote(urlsplit(url).path)
        token, _, file_path = path.partition("/file/bot")[2].partition("/")
        with self._world.lock:
            stored = self._world.file_by_path(file_path) if token == self.token else None
        if stored is None:
            return _answer({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        return 200, stored.content

    # people and chats

    def add_user(self, user_id: int, first_name: str, *, language_code: str | None = "zh-hans",
                 username: str | None = None) -> None:
        """A Telegram user and their private chat with the bot; for a user who exists already
        (a saved world) the name and language are updated and the chat is kept as it is."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        with self._world.lock:
            known = self._world.users.get(user_id)
            self._world.users[user_id] = SimUser(user_id, first_name, language_code, username,
                                                 blocked=known is not None and known.blocked)
            if user_id not in self._world.chats:
                self._world.add_chat(SimChat(user_id, "private", first_name, username))

    def user_ids(self) -> list[int]:
        with self._world.lock:
            return sorted(self._world.users)

    def add_group(self, chat_id: int, title: str) -> None:
        if chat_id >= 0:
            raise ValueError("group ids are negative")
        with self._world.lock:
            self._world.add_chat(SimChat(chat_id, "group", title))

    def remove_bot(self, chat_id: int, by_user: int) -> JSON:
        """A member removes the bot from a group: a my_chat_member update, then 403s."""
        with self._world.lock:
            user = self._user(by_user)
            chat = self._world.chats.get(chat_id)
            if chat is None or chat.kind == "private":
                raise SimulatorError(f"no group {chat_id}")
            chat.bot_removed = True
            return self._world.queue_update({"my_chat_member": {
                "chat": chat.to_json(), "from": user.to_json(), "date": self._world.now(),
                "old_chat_member": {"status": "member", "user": self.bot_user},
                "new_chat_member": {"status": "kicked", "user": self.bot_user,
                                    "until_date": 0},
            }})

    def block(self, user_id: int) -> None:
        """The user blocked the bot: sending to them now answers 403."""
        with self._world.lock:
            self._user(user_id).blocked = True

    def unblock(self, user_id: int) -> None:
        with self._world.lock:
            self._user(user_id).blocked = False

    # what users do

    def send_text(self, user_id: int, text: str, *, chat_id: int | None = None) -> JSON:
        """The user writes `text`; a leading /command gets its bot_command entity."""
        if not text.strip():
            raise SimulatorError("Telegram clients do not send empty messages")
        with self._world.lock:
            user, chat = self._speaker(user_id, chat_id)
            message = self._world.new_message(
                chat, sender=user.to_json(), from_bot=False, text=text,
                entities=_command_entities(text))
            return self._world.queue_update({"message": message.to_json()})

    def edit_text(self, user_id: int, message_id: int, text: str, *,
                  chat_id: int | None = None) -> JSON:
        """The user edits a text message they sent earlier: the bot gets an edited_message."""
        if not text.strip():
            raise SimulatorError("Telegram clients do not send empty messages")
        with self._world.lock:
            user, chat = self._speaker(user_id, chat_id)
            message = self._world.find_message(chat.chat_id, message_id)
            if message is None or message.from_bot or message.sender.get("id") != user.user_id:
                raise SimulatorError(f"user {user_id} sent no message {message_id} there")
            if message.text is None:
                raise SimulatorError(f"message {message_id} has no text to edit")
            message.text, message.entities = text, _command_entities(text)
            message.edit_date, message.edit_count = self._world.now(), message.edit_count + 1
            return self._world.queue_update({"edited_message": message.to_json()})

    def tap(self, user_id: int, message_id: int, button: str, *,
            chat_id: int | None = None) -> JSON:
        """Tap an inline button (by label or callback_data) that the message shows now."""
        with self._world.lock:
            user, chat = self._speaker(user_id, chat_id)
            message = self._bot_message(chat, message_id)
            return self._callback(user, chat, message, _button_data(message, button))

    def forge_callback(self, user_id: int, message_id: int, data: str, *,
                       chat_id: int | None = None) -> JSON:
        """A callback with arbitrary data, as a modified client could send."""
        with self._world.lock:
            user, chat = self._speaker(user_id, chat_id)
            return self._callback(user, chat, self._bot_message(chat, message_id), data)

    def press(self, user_id: int, label: str) -> JSON:
        """Press a reply-keyboard button: the client sends its label as text."""
        with self._world.lock:
            _, chat = self._speaker(user_id, None)
            keyboard = chat.reply_keyboard
            if label not in (_keyboard_labels(keyboard) or []):
                raise SimulatorError(f"user {user_id} has no keyboard button {label!r}; "
                                     f"the keyboard shows {_keyboard_labels(keyboard)}")
            if keyboard and keyboard.get("one_time_keyboard"):
                chat.reply_keyboard = None
            return self.send_text(user_id, label)

    def send_photo(self, user_id: int, *, caption: str | None = None,
                   media_group_id: str | None = None, chat_id: int | None = None) -> JSON:
        """The user sends a photo (a tiny generated PNG, downloadable by the bot)."""
        with self._world.lock:
            user, chat = self._speaker(user_id, chat_id)
            stored = self._world.store_file(
                "photo", tiny_png(self._world.serial()), extension="png")
            message = self._world.new_message(
                chat, sender=user.to_json(), from_bot=False, text=caption, caption=caption,
                photo=stored.file_id, media=stored.photo_sizes(), media_group_id=media_group_id)
            return self._world.queue_update({"message": message.to_json()})

    def send_document(self, user_id: int, file_name: str, content: bytes, *,
                      mime_type: str = "application/octet-stream", caption: str | None = None,
                      chat_id: int | None = None) -> JSON:
        with self._world.lock:
            user, chat = self._speaker(user_id, chat_id)
            extension = file_name.rsplit(".", 1)[-1] if "." in file_name else "bin"
            stored = self._world.store_file(
                "document", content, file_name=file_name, mime_type=mime_type,
                extension=extension)
            message = self._world.new_message(
                chat, sender=user.to_json(), from_bot=False, text=caption, caption=caption,
                document=stored.file_id, document_name=file_name, media=stored.document_json())
            return self._world.queue_update({"message": message.to_json()})

    def resend(self, update: JSON) -> JSON:
        """Deliver the very same update again (same update_id), as Telegram sometimes does."""
        if "update_id" not in update:
            raise SimulatorError("resend() takes an update returned by a user action")
        with self._world.lock:
            self._world.requeue(update)
        return copy.deepcopy(update)

    # what users see

    def messages(self, chat_id: int) -> list[SimMessage]:
        """Both directions in order; deleted messages stay, marked deleted."""
        with self._world.lock:
            if chat_id not in self._world.history:
                raise SimulatorError(f"unknown chat {chat_id}")
            return list(self._world.history[chat_id])

    def bot_messages(self, chat_id: int) -> list[SimMessage]:
        return [m for m in self.messages(chat_id) if m.from_bot]

    def last_bot_message(self, chat_id: int) -> SimMessage:
        """The newest bot message the user can still see (deleted ones are skipped)."""
        visible = [m for m in self.bot_messages(chat_id) if not m.deleted]
        if not visible:
            raise SimulatorError(f"the bot has no visible message in chat {chat_id}")
        return visible[-1]

    def reply_keyboard(self, chat_id: int) -> list[str] | None:
        with self._world.lock:
            chat = self._world.chats.get(chat_id)
            if chat is None:
                raise SimulatorError(f"unknown chat {chat_id}")
            return _keyboard_labels(chat.reply_keyboard)

    def file_bytes(self, file_id: str) -> bytes:
        """The content stored under a file_id (sent by a user or uploaded by the bot)."""
        with self._world.lock:
            stored = self._world.files.get(file_id)
            if stored is None:
                raise SimulatorError(f"unknown file_id {file_id!r}")
            return stored.content

    def callback_answers(self) -> list[JSON]:
        with self._world.lock:
            return [dict(answer) for answer in self._world.answers]

    def calls(self, method: str | None = None) -> list[tuple[str, JSON]]:
        """Every API call the bot made, failed ones included."""
        with self._world.lock:
            return [(r.method, r.params) for r in self._log if method in (None, r.method)]

    def errors(self) -> list[tuple[str, str]]:
        """The calls that Telegram refused or that failed by an injected fault."""
        with self._world.lock:
            return [(r.method, r.error) for r in self._log if r.error is not None]

    def commands(self, language_code: str | None = None, *,
                 scope: JSON | None = None) -> list[JSON]:
        """The commands stored by setMyCommands for this scope (default) and language."""
        with self._world.lock:
            stored = self._world.commands.get(commands_key(scope, language_code), [])
            return [dict(c) for c in stored]

    def on_bot_message(self, listener: Listener) -> None:
        """Call `listener(message, "new" | "edited" | "deleted")` on each change of a bot
        message, for a live view; it runs after the API call, outside the lock."""
        with self._world.lock:
            self._world.listeners.append(listener)

    def pending_updates(self) -> list[JSON]:
        """Updates queued for the bot and not yet confirmed by a getUpdates offset."""
        with self._world.lock:
            return copy.deepcopy(self._world.updates)

    # a Telegram that outlives the bot (the sandbox)

    def save(self, folder: Path) -> None:
        """Keep people, chats, messages, files and counters in `folder` (sandbox/sim_saved.py)."""
        with self._world.lock:
            save_world(self._world, folder)

    def load(self, folder: Path) -> bool:
        """Become the Telegram saved in `folder`; False when there is none yet."""
        with self._world.lock:
            return load_world(self._world, folder)

    def continue_update_ids(self, last_handled: int) -> None:
        """Number the next update after `last_handled`, as Telegram's ids only grow: a bot
        that remembers handling an id drops an update that comes with it again."""
        with self._world.lock:
            self._world.next_update_id = max(self._world.next_update_id, last_handled + 1)

    # faults

    def fail_next(self, method: str | None, kind: FaultKind, *, count: int = 1,
                  retry_after: int = 3) -> None:
        """Make the next `count` calls of `method` (any method if None) fail with `kind`."""
        if kind not in get_args(FaultKind):
            raise ValueError(f"unknown fault kind {kind!r}")
        with self._world.lock:
            self._faults.add(method, kind, count, retry_after)

    # helpers

    def _user(self, user_id: int) -> SimUser:
        user = self._world.users.get(user_id)
        if user is None:
            raise SimulatorError(f"unknown user {user_id}; call add_user() first")
        return user

    def _speaker(self, user_id: int, chat_id: int | None) -> tuple[SimUser, SimChat]:
        """The user and the chat they act in; their private chat unless a group is named."""
        user = self._user(user_id)
        chat = self._world.chats.get(user_id if chat_id is None else chat_id)
        if chat is None:
            raise SimulatorError(f"unknown chat {chat_id}")
        if chat.kind == "private" and chat.chat_id != user_id:
            raise SimulatorError(f"user {user_id} cannot act in another user's private chat")
        if chat.kind == "private" and user.blocked:
            raise SimulatorError(f"user {user_id} blocked the bot; unblock() first")
        return user, chat

    def _bot_message(self, chat: SimChat, message_id: int) -> SimMessage:
        message = self._world.find_message(chat.chat_id, message_id)
        if message is None or not message.from_bot:
            raise SimulatorError(f"no bot message {message_id} in chat {chat.chat_id}")
        if message.deleted:
            raise SimulatorError(f"message {message_id} in chat {chat.chat_id} was deleted")
        return message

    def _callback(self, user: SimUser, chat: SimChat, message: SimMessage, data: str) -> JSON:
        query_id = str(4_600_000_000_000_000_000 + self._world.serial())
        self._world.open_queries[query_id] = False
        return self._world.queue_update({"callback_query": {
            "id": query_id, "from": user.to_json(), "message": message.to_json(),
            "chat_instance": str(abs(chat.chat_id) * 7919 + 1_000_000_007), "data": data,
        }})


def _split_api_url(url: str) -> tuple[str, str]:
    """(token, method) from ".../bot<token>/<method>"."""
    parts = urlsplit(url).path.rstrip("/").split("/")
    token = parts[-2] if len(parts) >= 2 else ""
    return token.removeprefix("bot"), parts[-1]


def _answer(body: JSON, status: int) -> tuple[int, bytes]:
    return status, json.dumps(body, ensure_ascii=False).encode("utf-8")


def _command_entities(text: str) -> list[JSON]:
    match = _COMMAND.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}]


def _button_data(message: SimMessage, button: str) -> str:
    """The callback_data of the button labelled `button` (or carrying it as data)."""
    pairs = [pair for row in message.buttons() for pair in row]
    matches = [d for t, d in pairs if t == button] or [d for t, d in pairs if d == button]
    if not matches:
        raise SimulatorError(f"message {message.message_id} has no inline button {button!r}; "
                             f"it shows {message.button_texts()}")
    if matches[0] is None:
        raise SimulatorError(f"button {button!r} has no callback_data; tapping it sends "
                             "nothing to the bot")
    return matches[0]


def _keyboard_labels(markup: JSON | None) -> list[str] | None:
    if markup is None:
        return None
    return [b if isinstance(b, str) else b["text"] for row in markup["keyboard"] for b in row]
