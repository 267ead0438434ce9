"""The 总览's kept figures (models/figures.py): worked out by the FIGURES job, equal to what the
dashboard works out live, served only for the day they are for, queued once while one waits."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.config import ScheduleSettings
from bot.demo_data import build_demo
from bot.jobs import JobRunner
from bot.scheduler import tick
from models import dashboard, figures
from models.jobs import JobKind
from models.store import Store
from models.tables import Cadre, Job, Unit
from models.views import is_supervisor, overseen_units
from models.vocab import PENDING
from models.warnings import LightSummary
from tests.conftest import FakeClock
from tests.webapp.conftest import ADMIN, BOSS, Dashboard

pytestmark = pytest.mark.db

EVERY = timedelta(minutes=10)


def _waiting(store: Store) -> int:
    with store.session() as session:
        return len(session.exec(select(Job.id).where(
            Job.kind == JobKind.FIGURES.value, Job.state == PENDING)).all())


def _finished(store: Store) -> int:
    with store.session() as session:
        return len(session.exec(select(Job.id).where(
            Job.kind == JobKind.FIGURES.value, Job.state != PENDING)).all())


def _run_jobs(store: Store) -> int:
    return asyncio.run(JobRunner(store, ScheduleSettings()).drain())


def _figures(store: Store, cadre_id: int
             ) -> tuple[dashboard.Figures[LightSummary], dashboard.Figures[int]]:
    with store.reading() as ctx:
        who = ctx.session.get(Cadre, cadre_id)
        assert who is not None
        return dashboard.unit_lights(ctx, who), dashboard.late_counts(ctx, who)


def test_kept_figures_equal_the_live_ones_on_the_demo_city(store: Store) -> None:
    """The job keeps, for the admin and for a supervisor (their subtree only), exactly what
    the dashboard works out live."""
    build_demo(store)
    with store.reading() as ctx:
        admin = ctx.session.exec(select(Cadre.id).where(col(Cadre.is_admin))).first()
        reach = {c.id: {u.id for u in overseen_units(ctx.session, c, ctx.today)}
                 for c in ctx.session.exec(select(Cadre)).all()
                 if not c.is_admin and is_supervisor(ctx.session, c, ctx.today)}
        boss_id = min(reach, key=lambda cadre_id: len(reach[cadre_id]))  # a town's, say
        boss, theirs = boss_id or 0, reach[boss_id]
        everyone = len(ctx.session.exec(select(Unit.id)).all())
    assert admin is not None and 0 < len(theirs) < everyone
    live = {who: _figures(store, who) for who in (admin, boss)}
    assert all(f.computed_at is None for both in live.values() for f in both)

    with store.transaction() as ctx:
        figures.queue(ctx)
    assert _run_jobs(store) == 1
    for who in (admin, boss):
        kept = _figures(store, who)
        assert all(f.computed_at == store.clock() for f in kept)
        assert [f.by_unit for f in kept] == [f.by_unit for f in live[who]]
    assert set(_figures(store, boss)[0].by_unit) == theirs
    assert any(n for n in live[admin][1].by_unit.values())  # someone is late in the demo


def test_served_for_today_only_and_queued_once(dash: Dashboard, clock: FakeClock) -> None:
    """No figures kept: the API works them out and queues the job (once, however often it is
    asked); kept: it serves them with their time; the next day they are not served."""
    status, live = dash.get("/api/lights", BOSS)
    status_late, live_late = dash.get("/api/late-counts", BOSS)
    assert (status, status_late) == (200, 200)
    assert live["computed_at"] is None and live_late["computed_at"] is None
    dash.get("/api/lights", ADMIN)
    assert _waiting(dash.store) == 1

    assert _run_jobs(dash.store) == 1
    clock.advance(minutes=3)
    _, kept = dash.get("/api/lights", BOSS)
    _, kept_late = dash.get("/api/late-counts", BOSS)
    # 10:00 in the organisation's zone (Asia/Shanghai), when the job read the database.
    assert kept == {**live, "computed_at": "10:00"}
    assert kept_late == {**live_late, "computed_at": "10:00"}
    assert _waiting(dash.store) == 0

    clock.advance(days=1)
    _, tomorrow = dash.get("/api/lights", BOSS)
    assert tomorrow["computed_at"] is None
    assert _waiting(dash.store) == 1


def test_the_tick_queues_them_when_due_never_twice(dash: Dashboard, clock: FakeClock) -> None:
    store, settings = dash.store, ScheduleSettings()
    tick(store, settings, EVERY)
    tick(store, settings, EVERY)
    assert _waiting(store) == 1  # none kept: due, but one is waiting already
    _run_jobs(store)
    clock.advance(minutes=9)
    tick(store, settings, EVERY)
    assert _waiting(store) == 0  # kept 9 minutes ago
    clock.advance(minutes=1)
    tick(store, settings, EVERY)
    assert _waiting(store) == 1
    _run_jobs(store)
    assert _finished(store) == 2
    clock.advance(days=1, minutes=1)
    tick(store, settings, EVERY)
    assert _waiting(store) == 1
    assert _finished(store) == 0  # the finished ones of an earlier day are let go
    tick(store, settings, None)  # the dashboard off: nothing more
    assert _waiting(store) == 1
