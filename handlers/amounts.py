"""Reading what a cadre types as progress: "60", "60%", "６０％", "8/15", or a count.

Pure functions, so every accepted and refused form is tested without Telegram.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from models.limits import MAX_COUNT

HUNDRED = Decimal(100)
_NUMBER = r"(\d+(?:\.\d+)?)"
_PERCENT = re.compile(rf"^{_NUMBER}\s*%?$")
_FRACTION = re.compile(rf"^{_NUMBER}\s*/\s*{_NUMBER}$")
_COUNT = re.compile(rf"^{_NUMBER}\s*\D{{0,4}}$")  # "8", "8场", "8 人次"


@dataclass(frozen=True)
class Amount:
    progress: Decimal | None = None  # percent, 0-100, at most 2 decimals
    actual: Decimal | None = None  # a count toward a numeric target
    error: str | None = None  # a catalog key when the text cannot be used

    @property
    def ok(self) -> bool:
        return self.error is None


def normalize(text: str) -> str:
    """Full-width digits, ％ and ／ become ASCII; spaces trimmed."""
    return unicodedata.normalize("NFKC", text).strip().replace("．", ".")


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def read_progress(text: str) -> Amount:
    """A percentage: "60", "60%", "60.5 %", "8/15" (8 of 15 done)."""
    clean = normalize(text)
    if match := _FRACTION.match(clean):
        done, whole = _decimal(match.group(1)), _decimal(match.group(2))
        if done is None or not whole:
            return Amount(error="amount.unreadable_percent")
        value = (HUNDRED * done / whole).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    elif match := _PERCENT.match(clean):
        value = _decimal(match.group(1)) or Decimal(0)
        if value.as_tuple().exponent < -2:  # type: ignore[operator]
            return Amount(error="amount.too_precise")
    else:
        return Amount(error="amount.unreadable_percent")
    if not 0 <= value <= HUNDRED:
        return Amount(error="amount.percent_out_of_range")
    return Amount(progress=value)


def read_count(text: str, target: Decimal) -> Amount:
    """A count toward `target`: "8", "8场", "8/15" when 15 is the target, or "60%" of it."""
    clean = normalize(text)
    if clean.endswith("%"):  # a share of the target, not a count of 60
        share = read_progress(clean)
        if share.progress is None:
            return share
        value = (target * share.progress / HUNDRED).quantize(Decimal("0.0001"),
                                                             rounding=ROUND_HALF_UP)
        return Amount(actual=value.normalize() if value else Decimal(0))
    if match := _FRACTION.match(clean):
        done, whole = _decimal(match.group(1)), _decimal(match.group(2))
        if done is None or whole != target:
            return Amount(error="amount.count_fraction_mismatch")
        value = done
    elif match := _COUNT.match(clean):
        value = _decimal(match.group(1)) or Decimal(0)
    else:
        return Amount(error="amount.unreadable_count")
    if value.as_tuple().exponent < -4:  # type: ignore[operator]
        return Amount(error="amount.too_precise")
    if value > MAX_COUNT:  # a typo, and past what the database stores
        return Amount(error="amount.count_too_large")
    return Amount(actual=value)
