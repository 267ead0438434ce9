"""The Bot API methods the simulator implements, each as strict as Telegram or stricter.

Every handler validates first and changes state last, after the flood limit has been charged,
so a refused call leaves no trace but its entry in the call log.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.html_check import HtmlError, ParsedText, parse_html, trim, utf16_len
from sandbox.sim_errors import ApiError, bad_request, forbidden
from sandbox.sim_limits import RateLimiter
from sandbox.sim_state import ACTION_FIELDS, SimChat, SimMessage, StoredFile, is_image
from sandbox.sim_world import SimWorld
from sandbox.spec import ApiSpec, Upload

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_BUTTONS = 100
MAX_CALLBACK_DATA = 64
MAX_ANSWER_TEXT = 200
MAX_DOWNLOAD = 20 * 1024 * 1024
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE = re.compile(r"[a-z]{2}")


def is_sending(method: str) -> bool:
    """Calls that count against the flood limits."""
    if method == "sendChatAction":
        return False
    return method.startswith(("send", "edit", "copyMessage", "forwardMessage"))


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    uploads: dict[str, Upload] = field(default_factory=dict)  # multipart parts by name


@dataclass
class Content:
    """Text or caption as sent (`source`) and as read (`text`, `entities`)."""

    source: str | None = None
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)


FileSource = StoredFile | Upload


class BotApi:
    def __init__(self, world: SimWorld, spec: ApiSpec, limits: RateLimiter | None) -> None:
        self._world = world
        self._spec = spec
        self._limits = limits
        self._handlers: dict[str, Callable[[Call], Any]] = {
            "getMe": self.get_me, "close": _true, "logOut": _true,
            "setWebhook": self.set_webhook, "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "sendMessage": self.send_message, "sendPhoto": self.send_photo,
            "sendDocument": self.send_document, "sendMediaGroup": self.send_media_group,
            "sendChatAction": self.send_chat_action,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "answerCallbackQuery": self.answer_callback_query, "getFile": self.get_file,
            "setMyCommands": self.set_my_commands, "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "setChatMenuButton": self.set_chat_menu_button,
            "getChatMenuButton": self.get_chat_menu_button, "getChat": self.get_chat,
        }

    def supports(self, method: str) -> bool:
        return method == "getUpdates" or method in self._handlers

    def call(self, call: Call) -> Any:
        return self._handlers[call.method](call)

    # the bot itself

    def get_me(self, call: Call) -> dict[str, Any]:
        return {
            **self._world.bot_user, "can_join_groups": True,
            "can_read_all_group_messages": False, "supports_inline_queries": False,
            "can_connect_to_business": False, "has_main_web_app": False,
        }

    async def get_updates(self, call: Call) -> list[dict[str, Any]]:
        """Long polling: wait (without blocking the loop) until a user acts or time is up."""
        p, world = call.params, self._world
        limit = min(max(int(p.get("limit", 100)), 1), 100)
        timeout = max(0, int(p.get("timeout", 0)))
        with world.lock:
            if world.webhook is not None:
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                    "active; use deleteWebhook to delete the webhook first")
            batch = world.take_updates(p.get("offset"), limit)
            if batch or timeout == 0:
                return batch
            waiter = world.add_waiter()
        try:
            await asyncio.wait({waiter}, timeout=timeout)
        finally:
            with world.lock:
                world.drop_waiter(waiter)
        with world.lock:
            return world.take_updates(None, limit)

    def set_webhook(self, call: Call) -> bool:
        url = call.params["url"]
        if url and not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self._drop_pending(call)
        kept = {k: v for k, v in call.params.items() if not isinstance(v, Upload)}
        self._world.webhook = kept if url else None
        return True

    def delete_webhook(self, call: Call) -> bool:
        self._drop_pending(call)
        self._world.webhook = None
        return True

    def _drop_pending(self, call: Call) -> None:
        if call.params.get("drop_pending_updates"):
            self._world.updates.clear()

    def get_webhook_info(self, call: Call) -> dict[str, Any]:
        hook = self._world.webhook or {}
        info = {"url": hook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self._world.updates)}
        info.update({k: hook[k] for k in ("max_connections", "allowed_updates") if k in hook})
        return info

    # sending

    def send_message(self, call: Call) -> dict[str, Any]:
        p = call.params
        chat = self._target(p["chat_id"])
        content = self._content(p["text"], p.get("parse_mode"), p.get("entities"), caption=False)
        markup = self._markup(p.get("reply_markup"))
        self._check_reply(chat, p)
        self._charge(chat)
        return self._publish(chat, content, markup,
                             silent=bool(p.get("disable_notification"))).to_json()

    def send_photo(self, call: Call) -> dict[str, Any]:
        return self._send_file(call, "photo")

    def send_document(self, call: Call) -> dict[str, Any]:
        return self._send_file(call, "document")

    def _send_file(self, call: Call, kind: str) -> dict[str, Any]:
        p = call.params
        chat = self._target(p["chat_id"])
        source = self._file_source(p[kind], call, kind)
        content = self._content(
            p.get("caption"), p.get("parse_mode"), p.get("caption_entities"), caption=True)
        markup = self._markup(p.get("reply_markup"))
        self._check_reply(chat, p)
        self._charge(chat)
        return self._publish(chat, content, markup, file=self._keep(source, kind),
                             silent=bool(p.get("disable_notification"))).to_json()

    def send_media_group(self, call: Call) -> list[dict[str, Any]]:
        p = call.params
        chat = self._target(p["chat_id"])
        media: list[dict[str, Any]] = p["media"]
        self._check_album(media)
        items = [(self._file_source(m["media"], call, m["type"]), self._content(
            m.get("caption"), m.get("parse_mode"), m.get("caption_entities"), caption=True))
            for m in media]
        self._check_reply(chat, p)
        self._charge(chat)
        group = str(13_000_000_000_000_000 + self._world.serial())
        sent = [self._publish(chat, content, None, file=self._keep(source, m["type"]),
                              media_group_id=group, silent=bool(p.get("disable_notification")))
                for (source, content), m in zip(items, media, strict=True)]
        return [message.to_json() for message in sent]

    def _check_album(self, media: list[dict[str, Any]]) -> None:
        if not 2 <= len(media) <= 10:
            raise bad_request("media group must include 2-10 items")
        kinds = {m["type"] for m in media}
        unsupported = kinds - {"photo", "document"}
        if unsupported:
            raise bad_request(f"media type {sorted(unsupported)[0]} is not supported by the "
                              "simulator")
        if "document" in kinds and len(kinds) > 1:
            raise bad_request("documents can't be mixed with other media types in an album")

    def send_chat_action(self, call: Call) -> bool:
        self._target(call.params["chat_id"])
        if call.params["action"] not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    # editing and deleting

    def edit_message_text(self, call: Call) -> dict[str, Any]:
        p = call.params
        chat, message = self._editable(p)
        if message.has_media:
            raise bad_request("there is no text in the message to edit")
        content = self._content(p["text"], p.get("parse_mode"), p.get("entities"), caption=False)
        markup = self._markup(p.get("reply_markup"))
        self._check_modified(message, content, markup)
        self._charge(chat)
        message.text, message.html = content.text, content.source
        message.entities = content.entities
        return self._edited(message, markup).to_json()

    def edit_message_caption(self, call: Call) -> dict[str, Any]:
        p = call.params
        chat, message = self._editable(p)
        if not message.has_media:
            raise bad_request("there is no caption in the message to edit")
        content = self._content(
            p.get("caption"), p.get("parse_mode"), p.get("caption_entities"), caption=True)
        markup = self._markup(p.get("reply_markup"))
        self._check_modified(message, content, markup)
        self._charge(chat)
        message.text = message.caption = content.text
        message.html, message.entities = content.source, content.entities
        return self._edited(message, markup).to_json()

    def edit_message_reply_markup(self, call: Call) -> dict[str, Any]:
        chat, message = self._editable(call.params)
        markup = self._markup(call.params.get("reply_markup"))
        if markup == message.inline_markup:
            raise bad_request(NOT_MODIFIED)
        self._charge(chat)
        return self._edited(message, markup).to_json()

    def delete_message(self, call: Call) -> bool:
        chat = self._target(call.params["chat_id"])
        message = self._world.find_message(chat.chat_id, call.params["message_id"])
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        message.deleted = True
        if message.from_bot:
            self._world.note(message, "deleted")
        return True

    def _editable(self, p: dict[str, Any]) -> tuple[SimChat, SimMessage]:
        if "inline_message_id" in p:
            raise bad_request("inline messages are not supported by the simulator")
        if "chat_id" not in p or "message_id" not in p:
            raise bad_request("message identifier is not specified")
        chat = self._target(p["chat_id"])
        message = self._world.find_message(chat.chat_id, p["message_id"])
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return chat, message

    def _check_modified(self, message: SimMessage, content: Content,
                        markup: dict[str, Any] | None) -> None:
        shown = message.caption if message.has_media else message.text
        if (content.text, content.entities, markup) == (
                shown, message.entities, message.inline_markup):
            raise bad_request(NOT_MODIFIED)

    def _edited(self, message: SimMessage, markup: dict[str, Any] | None) -> SimMessage:
        """Telegram drops the inline keyboard when an edit does not repeat it."""
        if markup is not None or message.inline_markup is not None:
            message.reply_markup = markup
        message.edit_count += 1
        message.edit_date = self._world.now()
        self._world.note(message, "edited")
        return message

    # callbacks, files, commands, chats

    def answer_callback_query(self, call: Call) -> bool:
        p = call.params
        query_id = p["callback_query_id"]
        if self._world.open_queries.get(query_id, True):
            raise bad_request(QUERY_TOO_OLD)
        if utf16_len(p.get("text", "")) > MAX_ANSWER_TEXT:
            raise bad_request("MESSAGE_TOO_LONG")
        self._world.open_queries[query_id] = True
        self._world.answers.append({
            "callback_query_id": query_id, "text": p.get("text"),
            "show_alert": bool(p.get("show_alert", False)), "url": p.get("url"),
        })
        return True

    def get_file(self, call: Call) -> dict[str, Any]:
        stored = self._world.files.get(call.params["file_id"])
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD:
            raise bad_request("file is too big")
        return stored.file_json()

    def set_my_commands(self, call: Call) -> bool:
        commands: list[dict[str, Any]] = call.params["commands"]
        if len(commands) > 100:
            raise bad_request("too many commands")
        for item in commands:
            if not _COMMAND.fullmatch(item["command"]):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(item["description"].strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self._world.commands[self._commands_key(call.params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands]
        return True

    def get_my_commands(self, call: Call) -> list[dict[str, Any]]:
        return list(self._world.commands.get(self._commands_key(call.params), []))

    def delete_my_commands(self, call: Call) -> bool:
        self._world.commands.pop(self._commands_key(call.params), None)
        return True

    def _commands_key(self, p: dict[str, Any]) -> tuple[str, str]:
        language = p.get("language_code", "")
        if language and not _LANGUAGE.fullmatch(language):
            raise bad_request("invalid language code specified")
        return commands_key(p.get("scope"), language)

    def set_chat_menu_button(self, call: Call) -> bool:
        chat_id = call.params.get("chat_id")
        if chat_id is not None and self._world.resolve_chat(chat_id) is None:
            raise bad_request("chat not found")
        self._world.menu_buttons[chat_id] = call.params.get("menu_button", {"type": "default"})
        return True

    def get_chat_menu_button(self, call: Call) -> dict[str, Any]:
        buttons = self._world.menu_buttons
        chat_id = call.params.get("chat_id")
        return buttons.get(chat_id) or buttons.get(None) or {"type": "default"}

    def get_chat(self, call: Call) -> dict[str, Any]:
        chat = self._world.resolve_chat(call.params["chat_id"])
        if chat is None:
            raise bad_request("chat not found")
        gifts = self._spec.types["AcceptedGiftTypes"].fields
        return {
            **chat.to_json(), "accent_color_id": 0, "max_reaction_count": 11,
            "accepted_gift_types": {name: False for name, f in gifts.items() if f.required},
        }

    # shared checks

    def _target(self, chat_id: Any) -> SimChat:
        chat = self._world.resolve_chat(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        user = self._world.users.get(chat.chat_id)
        if chat.kind == "private" and user is not None and user.blocked:
            raise forbidden("bot was blocked by the user")
        if chat.bot_removed:
            raise forbidden("bot was kicked from the group chat")
        return chat

    def _charge(self, chat: SimChat) -> None:
        if self._limits is not None:
            self._limits.acquire(chat.chat_id, group=chat.kind != "private")

    def _content(self, source: str | None, parse_mode: str | None,
                 entities: list[dict[str, Any]] | None, *, caption: bool) -> Content:
        """Parse text or caption as Telegram does and enforce its length limits."""
        if source is None:
            return Content()
        parsed = trim(self._parse(source, parse_mode, entities))
        size = utf16_len(parsed.text)
        if caption:
            if size > MAX_CAPTION:
                raise bad_request("message caption is too long")
            return Content(source, parsed.text, parsed.entities) if parsed.text else Content()
        if not parsed.text:
            raise bad_request("message text is empty")
        if size > MAX_TEXT:
            raise bad_request("message is too long")
        return Content(source, parsed.text, parsed.entities)

    def _parse(self, source: str, parse_mode: str | None,
               entities: list[dict[str, Any]] | None) -> ParsedText:
        mode = (parse_mode or "").lower()
        if not mode:
            return ParsedText(source, [dict(e) for e in entities or []])
        if mode == "html":
            try:
                return parse_html(source)
            except HtmlError as exc:
                raise bad_request(f"can't parse entities: {exc}") from exc
        if mode in ("markdown", "markdownv2"):
            raise bad_request(f"parse_mode {parse_mode} is not supported by the simulator; "
                              "use HTML")
        raise bad_request(f"unsupported parse_mode {parse_mode}")

    def _markup(self, markup: dict[str, Any] | None) -> dict[str, Any] | None:
        if markup is None:
            return None
        if "inline_keyboard" in markup:
            _check_inline_keyboard(markup["inline_keyboard"])
        elif "keyboard" in markup:
            for row in markup["keyboard"]:
                for button in row:
                    if not _label_of(button).strip():
                        raise bad_request("keyboard button text must be non-empty")
        return markup

    def _check_reply(self, chat: SimChat, p: dict[str, Any]) -> None:
        reply = p.get("reply_parameters")
        if reply is None:
            return
        where = self._world.resolve_chat(reply.get("chat_id", chat.chat_id))
        target = self._world.find_message(where.chat_id, reply["message_id"]) if where else None
        if (target is None or target.deleted) and not reply.get("allow_sending_without_reply"):
            raise bad_request("message to be replied not found")

    def _file_source(self, value: Any, call: Call, kind: str) -> FileSource:
        """What a photo/document parameter names: an upload or a file already on the server."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = call.uploads.get(value.removeprefix("attach://"), value)
        if isinstance(value, Upload):
            if kind == "photo" and not is_image(value.content):
                raise bad_request("IMAGE_PROCESS_FAILED")
            return value
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            raise bad_request("wrong file identifier/HTTP URL specified (the simulator does not "
                              "download URLs)")
        stored = self._world.files.get(value) if isinstance(value, str) else None
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise bad_request(f"can't use file of type {stored.kind.title()} as "
                              f"{kind.title()}")
        return stored

    def _keep(self, source: FileSource, kind: str) -> StoredFile:
        if isinstance(source, StoredFile):
            return source
        if kind == "photo":
            extension = "png" if source.content.startswith(b"\x89PNG") else "jpg"
            return self._world.store_file("photo", source.content, extension=extension)
        extension = source.name.rsplit(".", 1)[-1] if "." in source.name else "bin"
        return self._world.store_file("document", source.content, file_name=source.name,
                                      mime_type=source.mime_type, extension=extension)

    def _publish(self, chat: SimChat, content: Content, markup: dict[str, Any] | None, *,
                 file: StoredFile | None = None, media_group_id: str | None = None,
                 silent: bool = False) -> SimMessage:
        fields: dict[str, Any] = {
            "text": content.text, "html": content.source, "entities": content.entities,
            "reply_markup": markup, "media_group_id": media_group_id, "silent": silent,
        }
        if file is not None and file.kind == "photo":
            fields.update(photo=file.file_id, media=file.photo_sizes(), caption=content.text)
        elif file is not None:
            fields.update(document=file.file_id, document_name=file.file_name,
                          media=file.document_json(), caption=content.text)
        message = self._world.new_message(
            chat, sender=self._world.bot_user, from_bot=True, **fields)
        if markup and "keyboard" in markup:
            chat.reply_keyboard = markup
        elif markup and "remove_keyboard" in markup:
            chat.reply_keyboard = None
        return message


def commands_key(scope: dict[str, Any] | None, language_code: str | None) -> tuple[str, str]:
    return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code or ""


def _true(call: Call) -> bool:
    return True


def _label_of(button: Any) -> str:
    return button if isinstance(button, str) else str(button.get("text", ""))


def _check_inline_keyboard(rows: list[list[dict[str, Any]]]) -> None:
    if sum(len(row) for row in rows) > MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    for row in rows:
        for button in row:
            _check_inline_button(button)


def _check_inline_button(button: dict[str, Any]) -> None:
    problem = "can't parse inline keyboard button: "
    if not str(button.get("text", "")).strip():
        raise bad_request(problem + "Text must be non-empty")
    actions = [name for name in ACTION_FIELDS if name in button]
    if not actions:
        raise bad_request(problem + "Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request(problem + f"only one of {', '.join(actions)} may be used")
    data = button.get("callback_data")
    if data is not None and not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
        raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if url is not None and not url.startswith(("http://", "https://", "tg://")):
        raise bad_request("BUTTON_URL_INVALID")
