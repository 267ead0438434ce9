"""`check`'s fast path confirms what the exact path confirms, and never hides a difference.

An organisation with what the bench data lacks (boosted key tasks, numeric targets, graded
reports, growth profiles, innovation claims, a task split into parts): every chunk of cadres is
confirmed by the fast path, with the same figures as the exact path; a
standing damaged in any of its fields is left to the exact path, and `check` reports exactly
what it reports without the fast path.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from bench.bulk import build
from models import lean_check, recompute
from models.standings import _check_chunk, check, refresh_all
from models.store import Store
from models.tables import Cadre, InnovationClaim, Period, Standing, StandingBreakdown


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recompute, "CHUNK", 9)  # 40 cadres: five chunks and the units


def _varied(store: Store) -> Period:
    period = build(store, 40, tasks_per_cadre=8)
    with store.transaction() as ctx:
        run = ctx.session.connection().execute
        run(text("UPDATE task SET boost = 150 WHERE dimension = 'key' AND id % 3 = 0"))
        run(text("UPDATE task SET target = 30000 WHERE id % 5 = 1"))
        run(text("UPDATE report SET actual = 10000 + (id % 4) * 5000 "
                 "WHERE task_id IN (SELECT id FROM task WHERE target IS NOT NULL)"))
        run(text("UPDATE report SET grade = CASE id % 4 WHEN 0 THEN 'A' WHEN 1 THEN 'B' "
                 "WHEN 2 THEN 'C' ELSE NULL END"))
        run(text("UPDATE cadre SET profile = 'growth' WHERE id % 4 = 0"))
        cadres = [cadre_id for cadre_id in ctx.session.exec(
            select(Cadre.id).order_by(col(Cadre.id))).all() if cadre_id is not None]
        assert period.id is not None
        now = datetime(2026, 3, 1, tzinfo=UTC)
        for n, cadre_id in enumerate(cadres[::3]):
            ctx.session.add(InnovationClaim(
                period_id=period.id, cadre_id=cadre_id, kind="reform", level="city",
                points=Decimal("1.5") * (n % 4), description="改革", state="approved",
                claimant_id=cadre_id, created_at=now, decided_at=now))
        active = ctx.session.exec(select(Period).where(col(Period.is_active))).one()
        refresh_all(ctx, active)
    return period


def _chunks(session: Session, store: Store, period: Period) -> list[Any]:
    return [chunk for chunk in recompute.chunks(session, period) if chunk is not None]


def test_every_chunk_is_confirmed_with_the_exact_figures(
        store: Store, small_chunks: None, monkeypatch: pytest.MonkeyPatch) -> None:
    period = _varied(store)

    def decoded(*args: Any) -> Any:
        raise AssertionError("a breakdown as written is confirmed by its text")

    monkeypatch.setattr(lean_check, "_breakdown", decoded)
    _confirmed_as_exact(store, period)


def _confirmed_as_exact(store: Store, period: Period) -> None:
    with store.session() as session:
        assert check(session, store.rules, period) == []
        for chunk in _chunks(session, store, period):
            stored = recompute.stored_rows(session, period, chunk)
            confirmed = lean_check.confirmed(session, store.rules, period, chunk, stored)
            assert confirmed is not None and len(confirmed) == len(stored) > 0
            exact = list(recompute.scored(session, store.rules, period, chunk))
            assert [(c.ref, c.total, c.base, c.key) for c in confirmed] == [
                (facts.ref, score.total, score.base, score.key) for facts, score in exact]


def test_a_chunk_whose_task_ids_have_gaps(store: Store, small_chunks: None) -> None:
    """A task added to the first cadre later: the first chunk's ids are no longer one range,
    and its reports are read through the join (a range alone would take other chunks')."""
    period = _varied(store)
    with store.transaction() as ctx:
        run = ctx.session.connection().execute
        columns = ("period_id, cadre_id, unit_id, title, dimension, category, weight, source, "
                   "difficulty, boost, target, measure, deadline, recurrence, lead_unit_id")
        first = run(text("SELECT min(id) FROM task WHERE cadre_id IS NOT NULL")).scalar_one()
        run(text(f"INSERT INTO task (code, {columns}) SELECT code || '-late', {columns} "
                 "FROM task WHERE id = :first"), {"first": first})
        late = run(text("SELECT max(id) FROM task")).scalar_one()
        columns = ("occurrence, reporter_id, progress, actual, note, evidence, state, "
                   "reviewer_id, grade, reason, created_at, submitted_at, decided_at")
        run(text(f"INSERT INTO report (task_id, {columns}) SELECT :late, {columns} "
                 "FROM report WHERE task_id = :first AND state = 'approved'"),
            {"late": late, "first": first})
        refresh_all(ctx, ctx.session.exec(select(Period).where(col(Period.is_active))).one())
    with store.session() as session:
        assert "JOIN" in lean_check._reports_of(session, [first, first + 1, late])
        assert "JOIN" not in lean_check._reports_of(session, [first, first + 1])
    _confirmed_as_exact(store, period)


def _damage_breakdown(session: Session, standing: Standing, field: str) -> None:
    detail = session.get(StandingBreakdown, standing.id)
    assert detail is not None
    breakdown = {key: dict(value) for key, value in detail.breakdown.items()}
    task = next(iter(breakdown.values()))
    task[field] = {"grade": "D", "boost": "0.2"}.get(field, "0.01")
    detail.breakdown = breakdown


DAMAGE = ["total", "base", "key_points", "innovation", "collaboration", "difficulty",
          "post_category", "group_unit_id", "weight", "points", "progress", "grade", "quality",
          "task difficulty", "boost", "a task too many", "no breakdown", "no standing"]


@pytest.mark.parametrize("damage", DAMAGE)
def test_any_damage_goes_to_the_exact_path(store: Store, small_chunks: None,
                                           monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    period = _varied(store)
    with store.transaction() as ctx:
        standing = ctx.session.exec(select(Standing).where(col(Standing.cadre_id).is_not(None))
                                    .order_by(col(Standing.cadre_id)).offset(12)).first()
        assert standing is not None
        session = ctx.session
        if damage in ("total", "base", "key_points", "innovation", "collaboration",
                      "difficulty"):
            setattr(standing, damage, getattr(standing, damage) + Decimal("0.01"))
        elif damage == "post_category":
            standing.post_category = "nonsense"
        elif damage == "group_unit_id":
            standing.group_unit_id = None
        elif damage in ("weight", "points", "progress", "grade", "quality", "boost"):
            _damage_breakdown(session, standing, damage)
        elif damage == "task difficulty":
            _damage_breakdown(session, standing, "difficulty")
        elif damage == "a task too many":
            detail = session.get(StandingBreakdown, standing.id)
            assert detail is not None
            detail.breakdown = {**detail.breakdown, "0": {}}
        elif damage == "no breakdown":
            detail = session.get(StandingBreakdown, standing.id)
            session.delete(detail)
        else:
            session.delete(standing)  # its breakdown goes with it
        damaged = standing.cadre_id
    with store.session() as session:
        found = check(session, store.rules, period)
        assert damaged is not None and f"cadre:{damaged}" in {d.assessee for d in found}
        confirmed = [lean_check.confirmed(session, store.rules, period, chunk,
                                          recompute.stored_rows(session, period, chunk))
                     for chunk in _chunks(session, store, period)]
        assert sum(1 for c in confirmed if c is None) == 1  # the damaged cadre's chunk
    monkeypatch.setattr(lean_check, "confirmed", lambda *args: None)
    with store.session() as session:
        assert check(session, store.rules, period) == found  # what the exact path alone says


def test_a_task_split_into_parts_goes_to_the_exact_path(
        store: Store, small_chunks: None, monkeypatch: pytest.MonkeyPatch) -> None:
    period = _varied(store)
    with store.transaction() as ctx:
        run = ctx.session.connection().execute
        first, second = run(text("SELECT id FROM task WHERE cadre_id IS NOT NULL "
                                 "ORDER BY id LIMIT 2")).scalars().all()
        run(text("UPDATE task SET parent_id = :first WHERE id = :second"),
            {"first": first, "second": second})
    with store.session() as session:
        chunk = _chunks(session, store, period)[0]
        stored = recompute.stored_rows(session, period, chunk)
        assert lean_check.confirmed(session, store.rules, period, chunk, stored) is None
        exact = recompute.scored
        scored: list[Any] = []

        def spied(*args: Any) -> Iterator[Any]:
            scored.extend(exact(*args))
            return iter(scored)

        monkeypatch.setattr(recompute, "scored", spied)
        assert _check_chunk(session, store.rules, period, chunk).differences == []
        assert scored  # the chunk was scored on the exact path
