"""What typed input may be: free texts (length, characters) and typed amounts (range).

One place for the bot and the command line: the operations check every text they store with
`checked_text`, and the handlers call the same function as a user types, so the answer comes at
the step where the text was entered, in the user's language (`refused.<code>`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from models.errors import Refused


@dataclass(frozen=True)
class TextRule:
    """A kind of free text: its refusal codes are `<name>_required` and `<name>_too_long`."""

    name: str
    max_length: int  # characters, counted after cleaning
    required: bool = True


NOTE = TextRule("note", 1000, required=False)  # a report's note to the supervisor
REASON = TextRule("reason", 500)  # why a report or claim is sent back, an objection, its answer
DESCRIPTION = TextRule("description", 1000)  # what an innovation claim is for
FILE_NAME = TextRule("file_name", 255, required=False)  # a document's name: cut, not refused

# A count toward a numeric target. Far above any real target and far inside the database's
# range (counts are stored as 64-bit integers of 1/10,000: up to 922,337,203,685,477).
MAX_COUNT = Decimal(10) ** 9

_KEPT = {"\n", "\t"}
# Characters that show nothing besides format ones (zero-width space, joiners, direction marks,
# the byte order mark): the fillers some clients send as a "blank" message.
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f")


def clean_text(text: str) -> str:
    """The text without control characters (NUL, which PostgreSQL refuses, bells, escapes),
    lone surrogates (not encodable as UTF-8) and with Windows line ends made plain."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in _KEPT or unicodedata.category(ch) not in ("Cc", "Cs"))


def checked_text(rule: TextRule, text: str | None) -> str:
    """The cleaned, trimmed text, or Refused when it is empty (and required) or too long."""
    cleaned = clean_text(text or "").strip()
    if _shows_nothing(cleaned):  # a zero-width space alone is no more a reason than no text
        cleaned = ""
    if rule.required and not cleaned:
        raise Refused(f"{rule.name}_required")
    if len(cleaned) > rule.max_length:
        raise Refused(f"{rule.name}_too_long", max=rule.max_length, length=len(cleaned))
    return cleaned


def _shows_nothing(text: str) -> bool:
    return all(ch.isspace() or ch in _BLANK or unicodedata.category(ch) == "Cf" for ch in text)


def optional_text(rule: TextRule, text: str | None) -> str | None:
    """As `checked_text`, but nothing given stays None (an optional reason)."""
    return None if text is None else checked_text(rule, text)


def clean_evidence(evidence: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Evidence as stored: each file's id and type as Telegram gave them, its name cleaned."""
    kept = []
    for item in evidence:
        item = dict(item)
        if "name" in item:
            item["name"] = clean_text(str(item["name"])).strip()[:FILE_NAME.max_length]
        kept.append(item)
    return kept


def decimal_places(value: Decimal) -> int:
    """Its decimal places, trailing zeros not counted ("1.0000" has none). Counted on the digits
    themselves: normalize() rounds to 28 digits first, and 1.000…0001 would pass for 1."""
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # NaN, infinity: refused by the range checks
        return 0
    significant = "".join(map(str, digits)).rstrip("0")
    return max(0, -exponent - (len(digits) - len(significant))) if significant else 0


def check_places(value: Decimal, places: int) -> None:
    """Refuse more decimal places than the column keeps ("1.0000" is 1, and fine)."""
    if decimal_places(value) > places:
        raise Refused("too_precise", value=str(value), places=places)
