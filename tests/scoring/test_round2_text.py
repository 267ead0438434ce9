"""`round2_text`, the breakdown's figures without a Decimal: the same text as str(round2(x))."""

from __future__ import annotations

from fractions import Fraction as F

from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import Rational, round2, round2_text


@settings(max_examples=500, deadline=None)
@given(st.fractions(min_value=-1000, max_value=1000, max_denominator=10**6))
def test_it_reads_as_round2_does(value: F) -> None:
    assert round2_text(value) == str(round2(value))
    assert round2_text(Rational(value)) == str(round2(Rational(value)))


def test_halves_go_away_from_zero_and_small_negatives_lose_their_sign() -> None:
    assert [round2_text(F(n, d)) for n, d in [(1, 200), (-1, 200), (-1, 1000), (0, 1),
                                             (12345, 100), (-5, 1)]] == [
        "0.01", "-0.01", "0.00", "0.00", "123.45", "-5.00"]
