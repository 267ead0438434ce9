"""The 总览's per-unit figures, worked out beside the bot and kept: each unit's 红黄绿 light and
counts (models/light_counts.py) and its 未按期汇报 count (models/overdue.py, through
models/views.py `late_counts`).

City-wide they take seconds of the database's time (1.7 s and 0.6 s of CPU on SQLite at
20,000 cadres), far over what a page load may take. The FIGURES job (bot/jobs.py) works them
out for the active period in a read, then replaces the period's rows of `unit_figures` in a
short write; the scheduler's tick queues it every [webapp] figures_minutes and when the day
changes. The dashboard serves the kept ones while they are today's, and works them out live
(queueing the job) when none are.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, true
from sqlmodel import Session, col, func, select

from models.claims import take_turns
from models.jobs import DONE, JobKind, enqueue
from models.light_counts import unit_lights
from models.store import Ctx
from models.tables import Job, Period, Unit, UnitFigures
from models.views import active_period, late_counts
from models.vocab import PENDING
from models.warnings import COLOURS, LightSummary


@dataclass(frozen=True)
class Kept:
    """A period's figures for one day, per unit id."""

    period_id: int
    for_day: date
    computed_at: datetime
    lights: dict[int, LightSummary]
    late: dict[int, int]


def work_out(ctx: Ctx, period: Period) -> Kept:
    """Every unit's figures today, as the dashboard computes them live."""
    lights = unit_lights(ctx.session, period, None, ctx.today, ctx.rules.warnings)
    late = late_counts(ctx.session, period, ctx.today, true())
    units = ctx.session.exec(select(Unit.id)).all()
    return Kept(period.id or 0, ctx.today, ctx.now,
                {unit_id or 0: lights.get(unit_id or 0) or LightSummary() for unit_id in units},
                {unit_id or 0: late.get(unit_id or 0, 0) for unit_id in units})


def keep(ctx: Ctx, kept: Kept) -> int:
    """Replace the period's figures with `kept` (in ctx's transaction); how many units."""
    ctx.session.execute(delete(UnitFigures).where(col(UnitFigures.period_id) == kept.period_id))
    ctx.session.add_all(UnitFigures(
        period_id=kept.period_id, unit_id=unit_id, for_day=kept.for_day,
        computed_at=kept.computed_at, colour=light.colour,
        late=kept.late.get(unit_id, 0), **{colour: light.counts[colour] for colour in COLOURS})
        for unit_id, light in kept.lights.items())
    return len(kept.lights)


def kept_for_today(session: Session, period: Period, today: date,
                   unit_ids: Collection[int] | None) -> Kept | None:
    """The kept figures of these units (None: all), when they are today's; else None."""
    rows = session.exec(select(UnitFigures).where(
        UnitFigures.period_id == period.id, UnitFigures.for_day == today,
        true() if unit_ids is None else col(UnitFigures.unit_id).in_(unit_ids))).all()
    if not rows:
        return None
    return Kept(period.id or 0, today, min(row.computed_at for row in rows),
                {row.unit_id: _light(row) for row in rows},
                {row.unit_id: row.late for row in rows if row.late})


def _light(row: UnitFigures) -> LightSummary:
    summary = LightSummary(colour=row.colour)
    for colour in COLOURS:
        summary.counts[colour] = getattr(row, colour)
    return summary


# -- the job ----------------------------------------------------------------------------------


def look(ctx: Ctx, _payload: dict[str, Any]) -> Kept | None:
    """The FIGURES job's read: the active period's figures (None: no active period)."""
    period = active_period(ctx.session)
    return None if period is None else work_out(ctx, period)


def write(ctx: Ctx, kept: Kept | None) -> dict[str, Any]:
    """The FIGURES job's write: keep what `look` found, unless its period stopped being the
    active one meanwhile."""
    period = active_period(ctx.session)
    if kept is None or period is None or period.id != kept.period_id:
        return {"count": 0}
    return {"count": keep(ctx, kept)}


def queue(ctx: Ctx) -> Job | None:
    """Queue the FIGURES job, unless one is waiting already (None then)."""
    take_turns(ctx, "figures")  # two asking at once: the second sees the first's job
    if ctx.session.exec(select(Job.id).where(
            Job.kind == JobKind.FIGURES.value, Job.state == PENDING)).first() is not None:
        return None
    # The job runs every few minutes: its finished rows of earlier days say nothing anyone reads.
    ctx.session.execute(delete(Job).where(
        col(Job.kind) == JobKind.FIGURES.value, col(Job.state) == DONE,
        col(Job.finished_at) < ctx.now - timedelta(days=1)))
    return enqueue(ctx, JobKind.FIGURES)


def queue_when_due(ctx: Ctx, every: timedelta) -> Job | None:
    """The scheduler's tick: queue the job when the active period's figures are not today's
    or are older than `every`."""
    period = active_period(ctx.session)
    if period is None:
        return None
    latest = ctx.session.exec(select(func.max(UnitFigures.computed_at)).where(
        UnitFigures.period_id == period.id, UnitFigures.for_day == ctx.today)).one()
    if latest is not None and ctx.now - latest < every:
        return None
    return queue(ctx)
