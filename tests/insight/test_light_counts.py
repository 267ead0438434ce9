"""红黄绿 counted by the database (models/light_counts.py) gives every task the colour
models/warnings.py's rule gives it, and so every unit and cadre the same light and counts: on
the demo city, for every period and many days (month ends, deadline days, before and after
each period), on SQLite and PostgreSQL. The demo's
reports (approved, waiting, returned; numeric targets met part-way) make current occurrences
move on through the year. Another pair of margins, with fractions, on some of the days.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import Session, col, select

from bot.demo_data import build_demo
from models import light_counts
from models.rules import WarningMargins
from models.store import Store
from models.tables import Period, Unit
from models.warnings import by_cadre, by_unit, lights_under
from tests.support.days import checked_days

pytestmark = pytest.mark.db

MARGINS = [WarningMargins(), WarningMargins(yellow=Decimal("0.5"), red=Decimal("7.25"))]


def _same(session: Session, period: Period, units: list[int] | None, day: date,
          margins: WarningMargins) -> int:
    python = lights_under(session, period, units, day, margins)
    assert light_counts.colours(session, period, units, day, margins) == {
        light.task_id: light.colour for light in python}, (period.code, day, units)
    assert light_counts.unit_lights(session, period, units, day, margins) == by_unit(python)
    assert light_counts.unit_and_member_lights(session, period, units, day, margins) == (
        by_unit(python), by_cadre(python))
    return len(python)


def test_the_database_gives_every_task_the_rules_light(store: Store) -> None:
    build_demo(store)
    with store.session() as session:
        some_unit = [session.exec(select(Unit.id).order_by(col(Unit.path))).all()[2] or 0]
        seen: set[str] = set()
        for period in session.exec(select(Period)).all():
            for number, day in enumerate(checked_days(period)):
                margins = MARGINS[1 if number % 3 == 1 else 0]
                if _same(session, period, None, day, margins):
                    seen |= set(light_counts.colours(session, period, None, day,
                                                     margins).values())
                if number % 4 == 0:
                    _same(session, period, some_unit, day, margins)
        assert seen == {"red", "yellow", "green"}  # the demo has every colour


def test_tasks_exactly_on_a_margin(store: Store) -> None:
    """The margins are set to how far some tasks are behind, and a cent less: those tasks sit
    exactly on the line (not past it) and a cent past it; both rules agree on each."""
    build_demo(store)
    with store.session() as session:
        period = session.exec(select(Period).where(col(Period.is_active))).one()
        day = date(period.starts_on.year, 7, 15)
        lights = lights_under(session, period, None, day, WarningMargins())
        behind = sorted({light.behind for light in lights
                         if light.days_late == 0 and light.behind > 0})
        assert len(behind) >= 3
        cent = Decimal("0.01")
        for value in behind[::max(1, len(behind) // 4)]:
            for margins in (WarningMargins(yellow=value, red=value + 10),
                            WarningMargins(yellow=value - cent, red=value),
                            WarningMargins(yellow=Decimal(0), red=value - cent)):
                _same(session, period, None, day, margins)
