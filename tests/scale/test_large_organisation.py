"""The database tests' invariants on a large organisation, on SQLite and PostgreSQL.

`KAOHE_TEST_SCALE_CADRES` cadres (default 2,000; CI runs that) with 40 tasks each and a year of
reports, built in bulk (bench/bulk.py). Then, as the bot would: approvals through the real
operations keep every standing and rank equal to a full recompute, the week's digests are
planned for everyone and rendered, and a locked period refuses a change and keeps it out.
The prefecture-sized run:
    KAOHE_TEST_SCALE_CADRES=20000 .venv/bin/python -m pytest tests/scale
"""

from __future__ import annotations

import os
import random
from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import col, func, select

from bench.bulk import TODAY, build
from models.errors import Refused
from models.reports import approve_report, submit_report
from models.schedule import Planner, ScheduleRules
from models.standings import check
from models.store import Store
from models.tables import AuditEntry, Cadre, Period, Report, Supervision, Task, Unit
from models.views import not_reported
from tests.models.test_not_reported import by_task_lines
from ui import digests
from ui.render import Renderer

CADRES = int(os.environ.get("KAOHE_TEST_SCALE_CADRES", "2000"))


def test_a_large_organisation_stays_consistent(store: Store) -> None:
    period = build(store, CADRES, tasks_per_cadre=40)
    rng = random.Random(5)
    with store.session() as session:
        assert session.exec(select(func.count()).select_from(Task)).one() == CADRES * 40
        assert check(session, store.rules, period) == []
        bosses = dict(session.exec(select(Supervision.unit_id, Supervision.cadre_id)).all())
        open_tasks = session.exec(
            select(Task.id, Task.cadre_id, Cadre.unit_id)
            .join(Cadre, col(Cadre.id) == Task.cadre_id)
            .where(Task.recurrence == "once",
                   ~select(Report.id).where(Report.task_id == Task.id).exists(),
                   col(Task.cadre_id).not_in(list(bosses.values())))
        ).all()
        audit_before = session.exec(select(func.count()).select_from(AuditEntry)).one()

    # Approvals all over the organisation, totals up and down: ranks stay exact.
    approved = rng.sample(list(open_tasks), 25)
    for task_id, cadre_id, unit_id in approved:
        with store.transaction() as ctx:
            report = submit_report(ctx, cadre_id or 0, task_id or 0,
                                   progress=Decimal(rng.randint(0, 100)))
            approve_report(ctx, bosses[unit_id], report.id or 0, rng.choice("ABCD"))
    with store.session() as session:
        assert check(session, store.rules, period) == []
        audit_after = session.exec(select(func.count()).select_from(AuditEntry)).one()
        assert audit_after == audit_before + 50  # a submit and an approval each

    # The Monday digest run: everyone bound gets one, each renders.
    with store.session() as session:
        planned = Planner(session, ScheduleRules(), store.tz).digests_for_week(
            period, date(2026, 11, 23))
        assert sum(1 for p in planned if p.kind == "digest_cadre") == CADRES
        people = session.exec(select(Cadre).order_by(col(Cadre.id)).limit(200)).all()
        cards = digests.cadre_digests(session, {"period_id": period.id, "week": "2026-11-23"},
                                      people, lambda _: Renderer("zh_CN"))
        assert len(cards) == 200 and all("本周考核简报" in card.text for card in cards.values())

    # 未按期汇报 for the whole city at once (CADRES x 40 tasks: at 2,000 cadres more ids than
    # PostgreSQL takes in one statement, had they been listed), as the task lines' rule finds
    # it unit by unit.
    with store.session() as session:
        city = session.exec(select(Unit).where(col(Unit.parent_id).is_(None))).one()
        everyone = not_reported(session, period, city, TODAY, below=True)
        assert everyone
        for unit in rng.sample(list(session.exec(select(Unit).where(
                Unit.parent_id == city.id)).all()), 3):
            assert {m.cadre.code: sorted(t.id for t in m.tasks) for m in everyone
                    if m.cadre.unit_id == unit.id} == by_task_lines(session, period, unit, TODAY)

    # A locked period refuses a change and keeps nothing of it.
    with store.transaction() as ctx:
        row = ctx.session.get(Period, period.id)
        assert row is not None
        row.locked = True
    task_id, cadre_id, _unit = next(t for t in open_tasks if t not in approved)
    with pytest.raises(Refused) as refused, store.transaction() as ctx:
        submit_report(ctx, cadre_id or 0, task_id or 0, progress=Decimal(50))
    assert refused.value.code == "period_locked"
    with store.session() as session:
        assert session.exec(select(func.count()).select_from(Report).where(
            Report.task_id == task_id)).one() == 0
