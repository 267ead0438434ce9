"""Telegram's HTML parse mode, parsed the way the server's parser (tdlib) does, a bit stricter.

The result is what the user reads (plain text) and the MessageEntity list with UTF-16 offsets.
Errors carry tdlib's wording and UTF-8 byte offsets. Telegram silently keeps a stray "&" in
text; here it is an error, so that text which was never escaped is caught in tests before a
user's "<" breaks a message in production.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

TAG_ENTITY = {
    "b": "bold", "strong": "bold",
    "i": "italic", "em": "italic",
    "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "span": "spoiler", "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code", "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_SPACES = frozenset(" \t\r\n\v\f\0")
_TRIMMED = " \t\r\n\v\f"
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8}));")
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.\-]*")


class HtmlError(ValueError):
    """The text is not valid Telegram HTML; the message is tdlib's (without the API prefix)."""


@dataclass
class ParsedText:
    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Telegram measures text in UTF-16 code units: an emoji outside the BMP counts twice."""
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> ParsedText:
    return _HtmlParser(source).run()


def trim(parsed: ParsedText) -> ParsedText:
    """Telegram strips leading and trailing whitespace from texts and captions (entities move
    with the text), so "\n\nHello\n" reads "Hello"."""
    text = parsed.text.strip(_TRIMMED)
    if text == parsed.text:
        return parsed
    lead = utf16_len(parsed.text[: len(parsed.text) - len(parsed.text.lstrip(_TRIMMED))])
    size = utf16_len(text)
    entities = []
    for entity in parsed.entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return ParsedText(text, entities)


def _decode_entity(match: re.Match[str]) -> str | None:
    """The character an entity stands for, or None when the code point is not a character."""
    if match.group(1):
        return _NAMED[match.group(1)]
    code = int(match.group(2), 10) if match.group(2) else int(match.group(3), 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


@dataclass
class _Open:
    tag: str
    argument: str
    offset: int
    language: str = ""


class _HtmlParser:
    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0
        self.out: list[str] = []
        self.offset = 0
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []

    def run(self) -> ParsedText:
        src, end = self.src, len(self.src)
        while self.pos < end:
            char = src[self.pos]
            if char == "&":
                self._entity()
            elif char == "<" and src.startswith("</", self.pos):
                self._end_tag()
            elif char == "<":
                self._start_tag()
            else:
                self._emit(char)
                self.pos += 1
        if self.stack:
            raise HtmlError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return ParsedText("".join(self.out), self.entities)

    def _byte(self, pos: int) -> int:
        return len(self.src[:pos].encode("utf-8"))

    def _emit(self, text: str) -> None:
        self.out.append(text)
        self.offset += utf16_len(text)

    def _skip_spaces(self, i: int) -> int:
        while i < len(self.src) and self.src[i] in _SPACES:
            i += 1
        return i

    def _entity(self) -> None:
        match = _ENTITY.match(self.src, self.pos)
        char = _decode_entity(match) if match else None
        if match is None or char is None:
            raise HtmlError(
                f'Unescaped "&" at byte offset {self._byte(self.pos)}; write it as "&amp;"'
            )
        self._emit(char)
        self.pos = match.end()

    def _start_tag(self) -> None:
        begin, src = self.pos, self.src
        i = begin + 1
        while i < len(src) and src[i] not in _SPACES and src[i] != ">":
            i += 1
        if i >= len(src):
            raise HtmlError(f"Unclosed start tag at byte offset {self._byte(begin)}")
        tag = src[begin + 1 : i].lower()
        if tag not in TAG_ENTITY:
            raise HtmlError(f'Unsupported start tag "{tag}" at byte offset {self._byte(begin)}')
        attributes, i = self._attributes(tag, i, begin)
        self.stack.append(_Open(tag, self._argument(tag, attributes, begin), self.offset))
        self.pos = i + 1

    def _attributes(self, tag: str, i: int, begin: int) -> tuple[dict[str, str], int]:
        src, found = self.src, dict[str, str]()
        where = f'the tag "{tag}" at byte offset {self._byte(begin)}'
        while True:
            i = self._skip_spaces(i)
            if i >= len(src):
                raise HtmlError(f'Unclosed start tag "{tag}" at byte offset {self._byte(begin)}')
            if src[i] == ">":
                return found, i
            start = i
            while i < len(src) and src[i] not in _SPACES and src[i] not in "=>":
                i += 1
            name = src[start:i].lower()
            if not name:
                raise HtmlError(f"Empty attribute name in {where}")
            i = self._skip_spaces(i)
            if i >= len(src) or src[i] != "=":
                if tag == "blockquote" and name == "expandable":
                    found[name] = ""
                    continue
                raise HtmlError(f"Expected equal sign in declaration of an attribute of {where}")
            i = self._skip_spaces(i + 1)
            if i >= len(src):
                raise HtmlError(f'Unclosed start tag "{tag}" at byte offset {self._byte(begin)}')
            value, i = self._value(i, begin)
            found[name] = value

    def _value(self, i: int, begin: int) -> tuple[str, int]:
        """An attribute value: a quoted string (entities decoded) or an unquoted name token."""
        src = self.src
        if src[i] not in "'\"":
            match = _NAME_TOKEN.match(src, i)
            end = match.end() if match else i
            if end >= len(src) or (src[end] not in _SPACES and src[end] != ">"):
                raise HtmlError(f"Unexpected end of name token at byte offset {self._byte(i)}")
            return src[i:end].lower(), end
        quote, i, buf = src[i], i + 1, []
        while i < len(src) and src[i] != quote:
            match = _ENTITY.match(src, i) if src[i] == "&" else None
            char = _decode_entity(match) if match else None
            if match is not None and char is not None:
                buf.append(char)
                i = match.end()
                continue
            buf.append(src[i])
            i += 1
        if i >= len(src):
            raise HtmlError(f"Unclosed start tag at byte offset {self._byte(begin)}")
        return "".join(buf), i + 1

    def _argument(self, tag: str, attributes: dict[str, str], begin: int) -> str:
        where = f"at byte offset {self._byte(begin)}"
        if tag == "a":
            return attributes.get("href", "")
        if tag == "code":
            css = attributes.get("class", "")
            return css.removeprefix("language-") if css.startswith("language-") else ""
        if tag == "span":
            if attributes.get("class") != "tg-spoiler":
                raise HtmlError(f'Tag "span" must have class "tg-spoiler" {where}')
            return "spoiler"
        if tag == "tg-emoji":
            emoji_id = attributes.get("emoji-id", "")
            if not emoji_id.isdigit():
                raise HtmlError(f'Tag "tg-emoji" must have a numeric "emoji-id" {where}')
            return emoji_id
        if tag == "blockquote":
            return "expandable" if "expandable" in attributes else ""
        return ""

    def _end_tag(self) -> None:
        begin, src = self.pos, self.src
        if not self.stack:
            raise HtmlError(f"Unexpected end tag at byte offset {self._byte(begin)}")
        i = begin + 2
        while i < len(src) and src[i] not in _SPACES and src[i] != ">":
            i += 1
        name = src[begin + 2 : i].lower()
        i = self._skip_spaces(i)
        if i >= len(src) or src[i] != ">":
            raise HtmlError(f"Unclosed end tag at byte offset {self._byte(begin)}")
        top = self.stack[-1]
        if name and name != top.tag:
            raise HtmlError(
                f'Unmatched end tag at byte offset {self._byte(begin)}, '
                f'expected "</{top.tag}>", found "</{name}>"'
            )
        self.stack.pop()
        self._close(top)
        self.pos = i + 1

    def _close(self, opened: _Open) -> None:
        """Turn a closed tag into an entity; <pre><code class="language-x"> becomes one pre."""
        if opened.tag == "code" and self.stack and self.stack[-1].tag == "pre":
            self.stack[-1].language = self.stack[-1].language or opened.argument
            return
        length = self.offset - opened.offset
        if length == 0 or (opened.tag == "a" and not opened.argument):
            return
        entity: dict[str, Any] = {
            "type": TAG_ENTITY[opened.tag], "offset": opened.offset, "length": length,
        }
        if opened.tag == "a":
            entity["url"] = opened.argument
        elif opened.tag == "pre" and opened.language:
            entity["language"] = opened.language
        elif opened.tag == "tg-emoji":
            entity["custom_emoji_id"] = opened.argument
        elif opened.tag == "blockquote" and opened.argument:
            entity["type"] = "expandable_blockquote"
        self.entities.append(entity)
