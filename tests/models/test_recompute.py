"""The full recompute in chunks and on worker processes: the same differences, in the same
order, as one pass in one process would list, and refresh_all writes what check expects."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import col, select

from bench.bulk import build
from models import recompute
from models.standings import check, refresh_all
from models.store import Store
from models.tables import Cadre, Period, Standing, StandingBreakdown


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recompute, "CHUNK", 7)  # 60 cadres: nine chunks and the units


def _tamper(store: Store) -> list[int]:
    """Three kinds of damage to three cadres' stored standings; returns their ids."""
    with store.transaction() as ctx:
        rows = ctx.session.exec(select(Standing).where(col(Standing.cadre_id).is_not(None))
                                .order_by(col(Standing.cadre_id))).all()
        first, second, third = rows[3], rows[20], rows[41]
        first.total += Decimal("0.01")
        second.collaboration += Decimal("0.01")
        detail = ctx.session.get(StandingBreakdown, third.id)
        assert detail is not None
        detail.breakdown = {}
        return [r.cadre_id or 0 for r in (first, second, third)]


def test_workers_list_the_same_differences_as_one_process(store: Store,
                                                          small_chunks: None) -> None:
    period = build(store, 60, tasks_per_cadre=6)
    with store.session() as session:
        assert check(session, store.rules, period, workers=2) == []
    first, second, third = _tamper(store)
    with store.session() as session:
        alone = check(session, store.rules, period)
    with store.snapshot() as session:
        spread = check(session, store.rules, period, workers=2)
    assert spread == alone
    found = {(d.assessee, d.field) for d in alone}
    assert {(f"cadre:{first}", "total"), (f"cadre:{second}", "collaboration"),
            (f"cadre:{third}", "breakdown")} <= found
    assert [d.assessee for d in alone if d.field == "breakdown"] == [f"cadre:{third}"]


def test_refresh_all_in_chunks_repairs_everything(store: Store, small_chunks: None) -> None:
    period = build(store, 60, tasks_per_cadre=6)
    _tamper(store)
    with store.transaction() as ctx:
        active = ctx.session.exec(select(Period).where(col(Period.is_active))).one()
        assert refresh_all(ctx, active) == len(ctx.session.exec(
            select(Cadre.id).where(col(Cadre.active))).all())
    with store.session() as session:
        assert check(session, store.rules, period, workers=2) == []
