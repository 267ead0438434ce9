"""Exact numbers for the scoring core: conversion in, half-up rounding and plain text out.

Every computation is done on exact rationals; floats never enter (a float that reaches us is
read through its shortest decimal text, so 0.1 means one tenth, not the binary neighbour).

`Rational` is GMP's rational (gmpy2.mpq) at run time: the same exact arithmetic as Python's
`fractions.Fraction`, and the same numbers.Rational interface, about ten times faster, which a
full recompute of 20,000 cadres needs. To the type checker it is `Fraction`, whose interface
it shares; Fractions passed in from outside mix with it exactly.
"""

from __future__ import annotations

import numbers
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from scoring.errors import ScoringError

if TYPE_CHECKING:
    Rational = Fraction
else:
    from gmpy2 import mpq as Rational

Number = int | Decimal | Fraction | str | float


def exact(value: object, what: str) -> Rational:
    """`value` as an exact fraction; ScoringError naming `what` if it is not a finite number."""
    if isinstance(value, bool):  # bool is an int subclass; True is never a weight
        raise ScoringError(f"{what} must be a number")
    if isinstance(value, numbers.Rational):  # int, Fraction, mpq
        return Rational(value)
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
        return Rational(value)
    raise ScoringError(f"{what} must be a number")


def round_half_up(value: Fraction, places: int) -> Decimal:
    """Round to `places` decimals, halves away from zero (四舍五入), exactly."""
    # In integers: floor(|n/d| × 10^p + 1/2) = (2·|n|·10^p + d) // (2·d); a full recompute
    # rounds a few hundred thousand values, so this stays in integer arithmetic.
    numerator, denominator = value.numerator, value.denominator
    magnitude = (2 * abs(numerator) * 10**places + denominator) // (2 * denominator)
    sign = "-" if numerator < 0 and magnitude else ""
    return Decimal(f"{sign}{magnitude}E-{places}")


def round2(value: Fraction) -> Decimal:
    """The 2-decimal figure every score is shown and stored as."""
    return round_half_up(value, 2)


def round2_text(value: Fraction) -> str:
    """str(round2(value)) without making a Decimal: a full recompute writes millions."""
    numerator, denominator = value.numerator, value.denominator
    magnitude = int((200 * abs(numerator) + denominator) // (2 * denominator))
    whole, cents = divmod(magnitude, 100)
    sign = "-" if numerator < 0 and magnitude else ""
    return f"{sign}{whole}.{cents:02d}"


def plain(value: Fraction) -> str:
    """A short exact text for messages: 120, 0.3, 1.25 (repeating fractions to 6 places)."""
    if value.denominator == 1:
        return str(value.numerator)
    text = format(round_half_up(value, 6), "f").rstrip("0").rstrip(".")
    return text or "0"
