"""What the simulated Telegram remembers: people, chats, messages, files, and their JSON forms."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

ACTION_FIELDS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)


@dataclass
class SimUser:
    user_id: int
    first_name: str
    language_code: str | None = None
    username: str | None = None
    blocked: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass
class SimChat:
    chat_id: int
    kind: str  # "private" or "group"
    name: str  # first name of the user, or the group title
    username: str | None = None
    reply_keyboard: dict[str, Any] | None = None
    next_message_id: int = 1
    bot_removed: bool = False  # a group that removed the bot: sending there answers 403

    def to_json(self) -> dict[str, Any]:
        if self.kind == "private":
            data: dict[str, Any] = {"id": self.chat_id, "type": "private", "first_name": self.name}
            if self.username:
                data["username"] = self.username
            return data
        return {"id": self.chat_id, "type": self.kind, "title": self.name}

    def take_message_id(self) -> int:
        self.next_message_id += 1
        return self.next_message_id - 1


@dataclass
class StoredFile:
    """A file on the simulated Telegram servers; photos and documents are told apart."""

    file_id: str
    file_unique_id: str
    kind: str  # "photo" or "document"
    content: bytes = field(repr=False)
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None

    def photo_sizes(self) -> list[dict[str, Any]]:
        width, height = image_size(self.content)
        return [{
            "file_id": self.file_id, "file_unique_id": self.file_unique_id,
            "width": width, "height": height, "file_size": len(self.content),
        }]

    def document_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "file_id": self.file_id, "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
        }
        if self.file_name:
            data["file_name"] = self.file_name
        if self.mime_type:
            data["mime_type"] = self.mime_type
        return data

    def file_json(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id, "file_unique_id": self.file_unique_id,
            "file_size": len(self.content), "file_path": self.file_path,
        }


@dataclass
class SimMessage:
    """One message as a chat shows it; `to_json` is what Telegram would send the bot."""

    message_id: int
    chat_id: int
    from_bot: bool
    text: str | None
    html: str | None
    caption: str | None
    photo: str | None
    document: str | None
    document_name: str | None
    reply_markup: dict[str, Any] | None
    date: int
    edit_count: int = 0
    deleted: bool = False
    sender: dict[str, Any] = field(default_factory=dict, repr=False)
    chat: dict[str, Any] = field(default_factory=dict, repr=False)
    entities: list[dict[str, Any]] = field(default_factory=list, repr=False)
    media: Any = field(default=None, repr=False)  # photo sizes list or document dict
    media_group_id: str | None = None
    edit_date: int | None = None
    silent: bool = False  # sent with disable_notification: no sound on the phone

    @property
    def body(self) -> str:
        """What the chat shows as the message's words: its text, or a photo's caption."""
        return self.text or self.caption or ""

    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard rows as (label, callback_data); url buttons have data None."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[(b["text"], b.get("callback_data")) for b in row] for row in rows]

    def button_texts(self) -> list[str]:
        """Labels of the inline keyboard, or of the reply keyboard when the message set one."""
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        return [_label(button) for row in rows for button in row]

    @property
    def inline_markup(self) -> dict[str, Any] | None:
        markup = self.reply_markup
        return markup if markup and "inline_keyboard" in markup else None

    @property
    def has_media(self) -> bool:
        return self.photo is not None or self.document is not None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": self.message_id, "from": self.sender, "chat": self.chat,
            "date": self.date,
        }
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if self.media_group_id:
            data["media_group_id"] = self.media_group_id
        if self.photo is not None:
            data["photo"] = self.media
        if self.document is not None:
            data["document"] = self.media
        if self.has_media:
            if self.caption:
                data["caption"] = self.caption
                if self.entities:
                    data["caption_entities"] = self.entities
        elif self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = self.entities
        if self.inline_markup:
            data["reply_markup"] = self.inline_markup
        return data


def _label(button: Any) -> str:
    return button if isinstance(button, str) else str(button.get("text", ""))


def tiny_png(seed: int) -> bytes:
    """A valid 1x1 PNG whose colour depends on `seed`, so every generated photo differs."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixel = bytes([0, seed % 256, (seed // 256) % 256, (seed // 65536) % 256])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(pixel)) + chunk(b"IEND", b""))


def is_image(content: bytes) -> bool:
    """Telegram refuses a "photo" that is not an image (IMAGE_PROCESS_FAILED)."""
    return content.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")) or (
        content[:4] == b"RIFF" and content[8:12] == b"WEBP")


def image_size(content: bytes) -> tuple[int, int]:
    """Width and height from a PNG or GIF header; other formats get a plausible default."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and len(content) >= 24:
        width, height = struct.unpack(">II", content[16:24])
        return int(width), int(height)
    if content.startswith((b"GIF87a", b"GIF89a")) and len(content) >= 10:
        width, height = struct.unpack("<HH", content[6:10])
        return int(width), int(height)
    return 800, 600
