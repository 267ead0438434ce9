"""未按期汇报 picked by the database (models/overdue.py) gives the same people and tasks as the
task lines' own rule (models/views.py `_line`: an occurrence due before today with nothing
approved or waiting), on the demo city, for every period and many days: month ends, deadline
days, before and after each period. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, col, select

from bot.demo_data import build_demo
from models import org
from models.dashboard import late, late_counts
from models.reports import submit_report
from models.store import Store
from models.tables import Cadre, Period, Unit
from models.views import late_counts as counts_where
from models.views import not_reported, reportable_tasks_of
from tests.support.days import checked_days

pytestmark = pytest.mark.db


def by_task_lines(session: Session, period: Period, unit: Unit,
                  today: date) -> dict[str, list[int]]:
    """The rule as the task lines apply it, cadre by cadre in Python."""
    members = session.exec(select(Cadre).join(Unit, col(Unit.id) == Cadre.unit_id).where(
        col(Cadre.active), col(Unit.path).startswith(unit.path))).all()
    lines = reportable_tasks_of(session, members, period, today)
    found = {cadre.code: sorted(line.task.id for line in lines[cadre.id or 0]
                                if line.task.cadre_id == cadre.id and line.overdue)
             for cadre in members}
    return {code: ids for code, ids in found.items() if ids}


def test_the_database_finds_who_is_late_as_the_task_lines_do(store: Store) -> None:
    build_demo(store)
    with store.session() as session:
        city = session.exec(select(Unit).where(col(Unit.parent_id).is_(None))).one()
        units = session.exec(select(Unit)).all()
        late_somewhere = 0
        for period in session.exec(select(Period)).all():
            for day in checked_days(period):
                found = not_reported(session, period, city, day, below=True)
                expected = by_task_lines(session, period, city, day)
                assert {m.cadre.code: sorted(t.id for t in m.tasks)
                        for m in found} == expected, (period.code, day)
                assert [m.cadre.code for m in found] == sorted(expected)
                late_somewhere += bool(found)
                counts = counts_where(session, period, day)
                assert counts == {u: n for u, n in (
                    (unit.id, sum(1 for m in found if m.cadre.unit_id == unit.id))
                    for unit in units) if n}
        assert late_somewhere > 10  # the demo's year has late people on most days
        # One unit alone, as 排行榜's button asks.
        year = session.exec(select(Period).where(col(Period.is_active))).one()
        day = year.ends_on
        everyone = not_reported(session, year, city, day, below=True)
        unit_id = everyone[0].cadre.unit_id
        office = next(u for u in units if u.id == unit_id)
        assert [m.cadre.code for m in not_reported(session, year, office, day)] == [
            m.cadre.code for m in everyone if m.cadre.unit_id == unit_id]


def _late_now(store: Store) -> tuple[dict[int, list[int]], dict[int, int]]:
    """cadre id -> their late task ids, and the dashboard's counts for the admin (every unit,
    no list of ids), today."""
    with store.reading() as ctx:
        year = ctx.session.exec(select(Period).where(col(Period.is_active))).one()
        city = ctx.session.exec(select(Unit).where(col(Unit.parent_id).is_(None))).one()
        admin = ctx.session.exec(select(Cadre).where(col(Cadre.is_admin))).first()
        assert admin is not None
        late = {m.cadre.id or 0: [t.id for t in m.tasks]
                for m in not_reported(ctx.session, year, city, ctx.today, below=True)}
        return late, late_counts(ctx, admin).by_unit


def test_a_task_reported_and_waiting_is_not_late(store: Store) -> None:
    """A one-off task past its deadline makes its cadre late, in the list and in the
    dashboard's counts; a submission waiting for review takes it off again."""
    build_demo(store)
    late, counts = _late_now(store)
    with store.transaction() as ctx:
        year = ctx.session.exec(select(Period).where(col(Period.is_active))).one()
        cadre = ctx.session.exec(select(Cadre).where(
            col(Cadre.active), col(Cadre.id).not_in(list(late)))
            .order_by(col(Cadre.code))).first()
        assert cadre is not None
        cadre_id, unit_id = cadre.id or 0, cadre.unit_id
        task = org.add_task(ctx, None, period=year, code="LATE-1", title="逾期事项",
                            dimension="basic", category="business", weight=Decimal(5),
                            cadre=cadre, source="unit_points",
                            deadline=ctx.today - timedelta(days=1))
        ctx.session.flush()
        task_id = task.id or 0
    now_late, now_counts = _late_now(store)
    assert now_late[cadre_id] == [task_id]
    assert now_counts[unit_id] == counts.get(unit_id, 0) + 1

    with store.transaction() as ctx:
        submit_report(ctx, cadre_id, task_id, progress=Decimal(50))
    assert _late_now(store) == (late, counts)


def test_the_late_list_pages_through_every_late_person_once(store: Store) -> None:
    """未按期汇报 a page at a time (the dashboard's /api/late): following `next` from the
    first page to the last gives every late person of the city once, unit by unit in tree
    order, as the whole list does."""
    build_demo(store)
    with store.reading() as ctx:
        admin = ctx.session.exec(select(Cadre).where(col(Cadre.is_admin))).first()
        city = ctx.session.exec(select(Unit).where(col(Unit.parent_id).is_(None))).one()
        year = ctx.session.exec(select(Period).where(col(Period.is_active))).one()
        assert admin is not None
        whole = late(ctx, admin, limit=10**6)
        assert whole.next is None
        everyone = {m.cadre.code for m in not_reported(ctx.session, year, city, ctx.today,
                                                       below=True)}
        assert {c.code for entry in whole.units for c, _ in entry.people} == everyone
        pages, start = [], 0
        while True:
            page = late(ctx, admin, start, limit=1, batch_size=1)
            pages.append(page)
            if page.next is None:
                break
            assert page.next > start
            start = page.next
        assert len(pages) > 2
        assert [(e.unit.id, [c.id for c, _ in e.people]) for p in pages for e in p.units] == [
            (e.unit.id, [c.id for c, _ in e.people]) for e in whole.units]
