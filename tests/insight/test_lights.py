"""红黄绿预警: the light of a task from its progress against the time gone (fixed days)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from models.rules import WarningMargins
from models.warnings import GREEN, RED, YELLOW, TaskLight, by_cadre, by_unit, light_of
from scoring import Rational, place_among

MARGINS = WarningMargins(yellow=Decimal(10), red=Decimal(25))
START, DUE = date(2026, 1, 1), date(2026, 1, 11)  # a ten-day window


def test_progress_against_time_gone() -> None:
    today = date(2026, 1, 6)  # half the window gone
    assert light_of(Decimal(50), START, DUE, today, MARGINS) == (GREEN, Decimal("50.00"))
    assert light_of(Decimal(40), START, DUE, today, MARGINS)[0] == GREEN  # exactly 10 behind
    assert light_of(Decimal("39.99"), START, DUE, today, MARGINS)[0] == YELLOW
    assert light_of(Decimal(25), START, DUE, today, MARGINS)[0] == YELLOW  # exactly 25 behind
    assert light_of(Decimal("24.99"), START, DUE, today, MARGINS)[0] == RED
    assert light_of(Decimal(0), START, DUE, START, MARGINS) == (GREEN, Decimal("0.00"))
    assert light_of(Decimal(99), START, DUE, date(2026, 1, 12), MARGINS)[0] == RED  # overdue
    assert light_of(Decimal(0), DUE, DUE, DUE, MARGINS) == (RED, Decimal(100))  # due today


def _light(task: int, colour: str, dimension: str, cadre: int | None, unit: int) -> TaskLight:
    return TaskLight(task, "t", dimension, cadre, unit, "x", "", DUE, Decimal(0), Decimal(0),
                     colour, 0)


def test_worst_key_task_and_counts_per_colour() -> None:
    lights = [_light(1, RED, "basic", 7, 3), _light(2, YELLOW, "key", 7, 3),
              _light(3, GREEN, "key", 8, 3), _light(4, RED, "key", None, 3)]
    cadres = by_cadre(lights)
    assert cadres[7].colour == YELLOW  # the red one is a routine duty
    assert dict(cadres[7].counts) == {RED: 1, YELLOW: 1}
    assert cadres[8].colour == GREEN
    unit = by_unit(lights)[3]
    assert unit.colour == RED and dict(unit.counts) == {RED: 2, YELLOW: 1, GREEN: 1}
    assert sorted(lights, key=lambda light: light.urgency)[0].colour == RED


def test_a_projected_total_is_placed_by_its_two_decimal_total() -> None:
    others = sorted(Decimal(v) for v in ("50", "60", "60", "70.01"))
    assert place_among(others, Rational(70)).rank == 2
    assert place_among(others, Rational("70.005")) .rank == 1  # rounds to 70.01: tied first
    assert place_among(others, Rational("70.005")).gap_above is None
    assert place_among(others, Rational(60)).rank == 2  # ties share the rank
    assert place_among(others, Rational(60)).gap_above == Decimal("10.01")
    assert place_among([], Rational(1)).rank == 1
