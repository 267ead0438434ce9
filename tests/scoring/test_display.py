"""`apportion`: shown parts that sum to the shown total, each its exact value rounded down or
up; checked on examples and on generated parts and scored assessees."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import AssesseeInput, round2, round_half_up, score_assessee
from scoring.display import apportion
from tests.scoring.test_properties import assessees

parts_lists = st.lists(
    st.fractions(min_value=0, max_value=200, max_denominator=10**6), min_size=0, max_size=12)
places = st.integers(min_value=0, max_value=4)


def test_the_issues_example_adds_up() -> None:
    # Rounded one by one: 77.29 + 12.51 + 9.11 = 98.91 beside a total of 98.90.
    parts = [F("77.285"), F("12.505"), F("9.11")]
    assert [round2(p) for p in parts] == [Decimal("77.29"), Decimal("12.51"), Decimal("9.11")]
    assert round2(sum(parts, F(0))) == Decimal("98.90")
    # One hundredth is missing from the parts rounded down: it goes to the largest remainder,
    # the earlier part on equal remainders.
    assert apportion(parts) == [Decimal("77.29"), Decimal("12.50"), Decimal("9.11")]


def test_equal_remainders_go_to_the_earlier_part() -> None:
    assert apportion([F(1, 3), F(1, 3), F(1, 3)]) == [
        Decimal("0.34"), Decimal("0.33"), Decimal("0.33")]
    assert apportion([]) == []


def test_a_given_total_must_be_reachable() -> None:
    assert apportion([F("1.004"), F("2.004")], total=Decimal("3.01")) == [
        Decimal("1.01"), Decimal("2.00")]
    with pytest.raises(ValueError):
        apportion([F("1.004"), F("2.004")], total=Decimal("3.03"))
    with pytest.raises(ValueError):
        apportion([F(1)], total=Decimal("1.001"))


@given(parts_lists, places)
def test_the_parts_sum_to_the_exact_total_rounded_half_up(parts: list[F], digits: int) -> None:
    shown = apportion(parts, digits)
    assert sum(shown, Decimal(0)) == round_half_up(sum(parts, F(0)), digits)
    unit = F(1, 10**digits)
    for value, exact in zip(shown, parts, strict=True):
        assert abs(F(value) - exact) < unit  # rounded down or up, never further
        assert F(value) % unit == 0


@given(parts_lists)
def test_parts_already_rounded_stay_as_they_are(parts: list[F]) -> None:
    rounded = [F(round2(p)) for p in parts]
    assert apportion(rounded) == [round2(p) for p in rounded]


@given(assessees)
@settings(max_examples=300, deadline=None)
def test_task_lines_add_to_the_shown_base_and_parts_to_the_shown_total(
        case: AssesseeInput) -> None:
    score = score_assessee(case)
    base, innovation, collaboration = apportion(
        [score.base, score.innovation, score.collaboration])
    assert base + innovation + collaboration == round2(score.total)
    lines = apportion([t.points for t in score.tasks.values()], total=base)
    assert sum(lines, Decimal(0)) == base
