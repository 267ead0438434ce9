"""A weekly digest's next deadlines (models/digest_rows.py, read for a batch of cadres without
the earlier occurrences' reports) are what the task lines list first (models/views.py
`reportable_tasks_of`): lines due on or after the day, neither submitted nor approved, soonest
first, then by title. On the demo city, every period, many days; SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, col, select

from bot.demo_data import build_demo
from models.digest_rows import next_deadlines
from models.store import Store
from models.tables import Cadre, Period
from models.views import reportable_tasks_of
from models.vocab import APPROVED, SUBMITTED
from tests.support.days import checked_days

pytestmark = pytest.mark.db


def by_task_lines(session: Session, cadres: list[Cadre], period: Period,
                  today: date) -> dict[int, list[tuple[date, str]]]:
    lines = reportable_tasks_of(session, cadres, period, today)
    found = {}
    for cadre in cadres:
        shown = sorted((line for line in lines[cadre.id or 0]
                        if line.next_due is not None and line.next_due >= today
                        and line.state not in (SUBMITTED, APPROVED)),
                       key=lambda line: (line.next_due, line.task.title, line.task.id))
        found[cadre.id or 0] = [(line.next_due, line.task.title) for line in shown[:5]
                                if line.next_due is not None]
    return found


def test_a_digest_lists_the_deadlines_the_task_lines_do(store: Store) -> None:
    build_demo(store)
    with store.session() as session:
        cadres = list(session.exec(select(Cadre).order_by(col(Cadre.id))).all())
        shown = 0
        for period in session.exec(select(Period)).all():
            for day in checked_days(period, middle=20):
                found = next_deadlines(session, cadres, period, day)
                expected = by_task_lines(session, cadres, period, day)
                assert {key: [(d.due, d.title) for d in lines]
                        for key, lines in found.items()} == expected, (period.code, day)
                shown += sum(len(lines) for lines in found.values())
        assert shown  # the days chosen do show deadlines
