"""Long HTML messages in pieces Telegram accepts.

Telegram takes at most 4,096 characters of text *after* it has parsed the HTML (tags count
nothing, `&lt;` counts one, an emoji outside the BMP two: it measures UTF-16 code units). A
piece is cut between items when one fits: at a line end not followed by an indented line (an
indented line continues the item above it, as a person's tasks under their name in 未按期汇报),
else at any line end, else after a space or a 、 (a list on one line); never inside a tag or an
entity. A tag still open at the cut is closed at the end of the piece and opened again at the
start of the next.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

MESSAGE_LIMIT = 4096

_TOKEN = re.compile(r"<[^>]*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);|[\s\S]")
_TAG = re.compile(r"<[^>]*>")
_SOFT_BREAKS = frozenset(" 、，,；;")  # where a line too long for one message may break
_TAG_NAME = re.compile(r"</?\s*([a-zA-Z][a-zA-Z0-9-]*)")


@dataclass(frozen=True)
class _Token:
    text: str
    size: int  # UTF-16 code units once parsed
    tag: str | None = None  # the tag's name, for an opening or closing tag
    closing: bool = False


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _tag_name(tag: str) -> str:
    """`<b>`, `</B >`: "b" (an unnamed tag: "")."""
    name = _TAG_NAME.match(tag)
    return name.group(1).lower() if name else ""


def _tokens(text: str) -> list[_Token]:
    found = []
    for match in _TOKEN.finditer(text):
        piece = match.group()
        if piece.startswith("<") and len(piece) > 1:
            found.append(_Token(piece, 0, _tag_name(piece), closing=piece.startswith("</")))
        else:
            found.append(_Token(piece, utf16_len(html.unescape(piece))))
    return found


def _close(stack: list[_Token]) -> str:
    return "".join(f"</{tag.tag}>" for tag in reversed(stack))


def _visible(tokens: list[_Token]) -> bool:
    return any(t.tag is None and not t.text.isspace() for t in tokens)


def _continues(tokens: list[_Token], index: int) -> bool:
    """Does the line starting at `index` continue the item above it (begins indented)?"""
    while index < len(tokens) and tokens[index].tag is not None:
        index += 1
    return index < len(tokens) and tokens[index].text in (" ", "\t", "\u3000")


def _tags_closed(text: str) -> bool:
    """Whether every tag opened in `text` is closed, as `split_message` pairs them."""
    open_tags: list[str] = []
    for match in _TAG.finditer(text):
        tag = match.group()
        if not tag.startswith("</"):
            open_tags.append(_tag_name(tag))
        elif open_tags and open_tags[-1] == _tag_name(tag):
            open_tags.pop()
    return not open_tags


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """`text` (Telegram HTML) in pieces of at most `limit` parsed characters each."""
    # Most messages fit as they are: parsed, a text is never longer than its markup (a tag
    # counts nothing, an entity one), so one that fits unparsed and closes its tags is sent
    # whole without looking at each character (a tenth of a digest's rendering).
    if utf16_len(text) <= limit and _tags_closed(text):
        return [text]
    tokens = _tokens(text)
    pieces: list[str] = []
    start = 0
    carried: list[_Token] = []  # tags open at the previous cut, opened again
    while start < len(tokens):
        stack, size, index = list(carried), 0, start
        item_end: tuple[int, list[_Token]] | None = None  # the last newline between items
        line_end: tuple[int, list[_Token]] | None = None  # the last newline that fits
        soft_end: tuple[int, list[_Token]] | None = None  # the last space or 、 that fits
        while index < len(tokens):
            token = tokens[index]
            if token.tag is not None:
                if not token.closing:
                    stack.append(token)
                elif stack and stack[-1].tag == token.tag:
                    stack.pop()
            else:
                if size + token.size > limit:
                    break
                size += token.size
                if token.text == "\n":
                    line_end = (index, list(stack))
                    if not _continues(tokens, index + 1):
                        item_end = line_end
                elif token.text in _SOFT_BREAKS:
                    soft_end = (index, list(stack))
            index += 1
        newline = item_end if item_end is not None and item_end[0] > start else line_end
        if index == len(tokens):
            end, resume, open_at_end = index, index, stack
        elif newline is not None and newline[0] > start:
            end, resume, open_at_end = newline[0], newline[0] + 1, newline[1]
        elif soft_end is not None and soft_end[0] > start:  # a line too long: after a 、
            end = resume = soft_end[0] + 1
            open_at_end = soft_end[1]
        else:
            end = max(index, start + 1)  # a cut inside a word, between two tokens
            resume, open_at_end = end, stack
        body = tokens[start:end]
        if _visible(body):
            pieces.append("".join(t.text for t in carried) + "".join(t.text for t in body)
                          + _close(open_at_end))
        start, carried = resume, open_at_end
    return pieces or [text]
