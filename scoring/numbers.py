"""Exact numbers for the scoring core: conversion in, half-up rounding and plain text out.

Every computation is done on `fractions.Fraction`; floats never enter (a float that reaches us is
read through its shortest decimal text, so 0.1 means one tenth, not the binary neighbour).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import floor

from scoring.errors import ScoringError

Number = int | Decimal | Fraction | str | float


def exact(value: object, what: str) -> Fraction:
    """`value` as an exact fraction; ScoringError naming `what` if it is not a finite number."""
    if isinstance(value, bool):  # bool is an int subclass; True is never a weight
        raise ScoringError(f"{what} must be a number")
    if isinstance(value, Fraction | int):
        return Fraction(value)
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except ArithmeticError:
            raise ScoringError(f"{what} must be a number, not {value!r}") from None
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ScoringError(f"{what} must be a finite number")
        return Fraction(value)
    raise ScoringError(f"{what} must be a number")


def round_half_up(value: Fraction, places: int) -> Decimal:
    """Round to `places` decimals, halves away from zero (四舍五入), exactly."""
    scale = 10**places
    magnitude = floor(abs(value) * scale + Fraction(1, 2))
    rounded = Decimal(magnitude).scaleb(-places)
    result = -rounded if value < 0 else rounded
    return result.quantize(Decimal(1).scaleb(-places))


def round2(value: Fraction) -> Decimal:
    """The 2-decimal figure every score is shown and stored as."""
    return round_half_up(value, 2)


def plain(value: Fraction) -> str:
    """A short exact text for messages: 120, 0.3, 1.25 (repeating fractions to 6 places)."""
    if value.denominator == 1:
        return str(value.numerator)
    text = format(round_half_up(value, 6), "f").rstrip("0").rstrip(".")
    return text or "0"
