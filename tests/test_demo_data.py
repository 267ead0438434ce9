"""The demo organisation: big and varied enough to show every rule, and consistent on both DBs."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from sqlmodel import col, func, select

from bot.demo_data import build_demo
from models.errors import Refused
from models.standings import check
from models.store import Store
from models.tables import Cadre, Cooperation, InnovationClaim, Period, Report, Standing, Task, Unit
from tests.support.snapshot import snapshot


def test_demo_builds_a_changji_style_city_whose_scores_check(store: Store) -> None:
    """One build per database (it takes seconds): everything is asserted on it."""
    summary = build_demo(store)
    assert summary.cadres >= 60
    with store.session() as session:
        units = {u.name: u for u in session.exec(select(Unit)).all()}
        cadres = session.exec(select(Cadre)).all()
        tasks = session.exec(select(Task)).all()
        reports = session.exec(select(Report)).all()
        period = session.exec(select(Period).where(col(Period.is_active))).one()
        periods = session.exec(select(Period)).all()
        claims = session.exec(select(InnovationClaim)).all()
        cooperations = session.exec(select(Cooperation)).all()
        differences = check(session, store.rules, period)
        standings = session.exec(select(func.count()).select_from(Standing)).one()

    # The organisation of the seed page: townships and a street with core offices, the
    # veterans' affairs bureau and the party school; an annual period with its quarters.
    assert {"昌吉市", "榆树沟镇", "宁边路街道", "市退役军人事务局", "市委党校"} <= set(units)
    assert {u.kind for u in units.values()} == {"city", "department", "township", "street",
                                                "office"}
    assert sorted(p.code for p in periods) == ["2026", "2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    names = {c.name for c in cadres}
    assert len(names) == len(cadres), "names are unique, so people can be told apart"
    assert Counter(c.post_category for c in cadres)["core"] >= 30
    assert {"standard", "growth", "veteran"} <= {c.profile for c in cadres}
    assert any(c.is_admin for c in cadres)

    # Duty lists use every feature of the scoring model.
    assert {t.dimension for t in tasks} == {"basic", "key"}
    assert {t.category for t in tasks} == {"business", "general"}
    assert {t.recurrence for t in tasks} == {"once", "monthly", "quarterly"}
    assert {t.difficulty for t in tasks} == {Decimal(d) for d in ("1.2", "1.1", "1", "0.9")}
    titles = {t.title for t in tasks}
    assert {"举办退役军人专场招聘会", "走访慰问驻地部队", "组织保密测试", "科研课题结项"} <= titles
    assert any(t.target is not None for t in tasks)
    assert any(t.boost is not None for t in tasks)
    assert any(t.unit_id is not None for t in tasks)
    assert any(t.parent_id is not None for t in tasks)
    assert {c.confirmed_at is not None for c in cooperations} == {True, False}

    # The year so far: reports in every state, approvals with every grade.
    states = Counter(r.state for r in reports)
    assert set(states) == {"draft", "submitted", "approved", "returned", "rejected"}
    assert states["approved"] > 300
    assert {r.grade for r in reports if r.state == "approved"} == {"A", "B", "C", "D"}
    assert {c.state for c in claims} == {"approved", "submitted"}

    # Every assessee has a standing and each equals a fresh recomputation.
    assert standings >= summary.cadres
    assert differences == []


    # A second build is refused and leaves the database as it was.
    before = snapshot(store.engine)
    with pytest.raises(Refused) as refused:
        build_demo(store)
    assert refused.value.code == "demo_exists"
    assert snapshot(store.engine) == before
