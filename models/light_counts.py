"""红黄绿 counted by the database: each unit's and cadre's light and counts per colour, at a
city's scale (800,000 tasks) without bringing a task row into Python.

The rule is models/warnings.py's (`_light`, `light_of`), written as SQL over the task row and
its approved or waiting reports; tests/insight/test_light_counts.py checks that both give the
same colour to every task of the demo city on many days, so the two cannot drift apart.
/warn keeps the Python path: it lists each task with its title, due date and days late.

Everything is in cents (integers), as the columns store it (models/types.py), so the
database's arithmetic is exact:

- progress: a report's `progress`, or on a numeric target round2(min(100, 100 x actual /
  target)), never below 0; the most of the current occurrence's approved or waiting reports.
- elapsed: round2(100 x gone / span), span = due - starts in days (100 when span <= 0), gone =
  today - starts kept within [0, span]. Half up: (2 x 10000 x gone + span) div (2 x span).
- red: today > due, or more than `red` points behind, or (a recurring task) an earlier
  occurrence due before today with nothing approved or waiting: that is models/overdue.py's
  `is_overdue`, the same condition 未按期汇报 uses. Yellow: more than `yellow` points behind.

A one-off task is open from the period's start while its progress is below 100. A recurring
task's current occurrence is today's month (quarter) unless approved, else the earliest one
not approved, found with a chain of EXISTS probes on the report index; with every occurrence
so far approved it is closed. That chain is worked out once per task in a materialized CTE,
so the expressions that use it do not probe again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    exists,
    extract,
    func,
    literal,
    null,
    type_coerce,
    union_all,
)
from sqlalchemy import select as sa_select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement
from sqlmodel import Session, col

from models.occurrences import Occurrence, occurrences
from models.overdue import is_overdue, without_jit
from models.rules import WarningMargins
from models.tables import Cadre, Period, Report, Task
from models.vocab import APPROVED, SUBMITTED
from models.warnings import GREEN, RED, YELLOW, LightSummary, summarise

FULL = 10000  # 100 %, in cents


class _DaysAfter(FunctionElement[int]):
    """(a - b) in days for two dates: julianday on SQLite, date subtraction on PostgreSQL."""

    type = Integer()
    inherit_cache = True
    name = "days_after"


@compiles(_DaysAfter, "sqlite")
def _days_after_sqlite(element: _DaysAfter, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


@compiles(_DaysAfter, "postgresql")
def _days_after_postgresql(element: _DaysAfter, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"({later} - {earlier})"


def _cents(margin: Decimal) -> int:
    """behind (whole cents) > margin  <=>  behind > floor(100 x margin)."""
    return int((margin * 100).to_integral_value(ROUND_FLOOR))


def _int(column: Any) -> Any:
    """The stored scaled integer (models/types.py), so literals next to it stay plain."""
    return type_coerce(column, Integer)


def _best_progress(task_id: Any, target: Any, occurrence: Any) -> ColumnElement[int]:
    """The most of the approved or waiting reports of this occurrence, in cents (0 with
    none); a report's on a numeric target is round2(min(100, 100 x actual / target)), never
    below 0 (models/warnings.py `_progress`)."""
    target, actual, progress = _int(target), _int(Report.actual), _int(Report.progress)
    counted = case((actual <= 0, 0), (actual >= target, FULL),
                   else_=(2 * FULL * actual + target) // (2 * target))
    each = case((and_(target.is_not(None), actual.is_not(None)), counted),
                else_=func.coalesce(progress, 0))
    best = (sa_select(func.max(each))
            .where(col(Report.task_id) == task_id, col(Report.occurrence) == occurrence,
                   col(Report.state).in_((APPROVED, SUBMITTED)))
            .scalar_subquery())
    return type_coerce(func.coalesce(best, 0), Integer)


def _colour(span: ColumnElement[int], gone: ColumnElement[int] | int,
            progress: ColumnElement[int], late: ColumnElement[bool],
            margins: WarningMargins) -> ColumnElement[str]:
    """light_of, in cents: `gone` is today - starts (>= 0), `late` an earlier miss."""
    kept = case((span < gone, span), else_=gone)
    elapsed = case((span <= 0, FULL), else_=(2 * FULL * kept + span) // (2 * span))
    behind = elapsed - progress
    return case((span < gone, RED), (behind > _cents(margins.red), RED), (late, RED),
                (behind > _cents(margins.yellow), YELLOW), else_=GREEN)


def _owned(period: Period, unit_ids: Collection[int] | None) -> Any:
    """(task id, cadre id or NULL, the unit it counts for) of the units' tasks and their active
    cadres': two selects, each served by its partial index, never one with OR."""
    of_cadres: Any = (
        sa_select(col(Task.id).label("task_id"), col(Cadre.id).label("cadre_id"),
                  col(Cadre.unit_id).label("home"))
        .join(Cadre, col(Cadre.id) == Task.cadre_id)
        .where(col(Task.period_id) == period.id, col(Cadre.active)))
    of_units: Any = sa_select(col(Task.id).label("task_id"), null().label("cadre_id"),
                         col(Task.unit_id).label("home")).where(
        col(Task.period_id) == period.id, col(Task.unit_id).is_not(None))
    if unit_ids is not None:
        of_cadres = of_cadres.where(col(Cadre.unit_id).in_(unit_ids))
        of_units = of_units.where(col(Task.unit_id).in_(unit_ids))
    return union_all(of_cadres, of_units).subquery("owned")


def _once(period: Period, today: date, margins: WarningMargins,
          unit_ids: Collection[int] | None) -> Select[Any] | None:
    if period.starts_on > today:
        return None  # not started
    owned = _owned(period, unit_ids)
    reported = (sa_select(owned.c.task_id, owned.c.home, owned.c.cadre_id, col(Task.dimension),
                          col(Task.deadline),
                          _best_progress(col(Task.id), col(Task.target), literal(""))
                          .label("progress"))
                .join(Task, col(Task.id) == owned.c.task_id)
                .where(col(Task.recurrence) == "once")
                .cte("once_progress").prefix_with("MATERIALIZED"))
    due = func.coalesce(reported.c.deadline, period.ends_on)
    span = _DaysAfter(due, literal(period.starts_on))
    colour = _colour(span, (today - period.starts_on).days, reported.c.progress,
                     literal(False), margins)
    return sa_select(reported.c.task_id, reported.c.home, reported.c.cadre_id,
                     reported.c.dimension, colour.label("colour")).where(
        reported.c.progress < FULL)


def _recurring(period: Period, today: date, margins: WarningMargins,
               unit_ids: Collection[int] | None, recurrence: str) -> Select[Any] | None:
    found = occurrences(recurrence, None, period.starts_on, period.ends_on)
    open_now = [o for o in found if o.starts <= today]
    if not open_now:
        return None  # not started
    now = open_now[-1]
    owned = _owned(period, unit_ids)

    def approved(key: str) -> ColumnElement[bool]:
        return exists().where(col(Report.task_id) == owned.c.task_id,
                              col(Report.occurrence) == key, col(Report.state) == APPROVED)

    # models/occurrences.py current_occurrence: today's unless approved, else the earliest
    # one not approved; NULL: all approved (closed).
    chain = [(~approved(o.key), o.key) for o in [now, *open_now[:-1]]]
    current = (sa_select(owned.c.task_id, owned.c.home, owned.c.cadre_id,
                         case(*chain, else_=null()).label("occurrence"))
               .join(Task, col(Task.id) == owned.c.task_id)
               .where(col(Task.recurrence) == recurrence)
               .cte(f"current_{recurrence}").prefix_with("MATERIALIZED"))
    key = current.c.occurrence

    def per_key(values: dict[str, Any]) -> ColumnElement[Any]:
        return case(*[(key == k, v) for k, v in values.items()], else_=null())

    reported = (sa_select(current.c.task_id, current.c.home, current.c.cadre_id,
                          col(Task.dimension),
                          per_key({o.key: (today - o.starts).days for o in open_now})
                          .label("gone"),
                          _span(recurrence, open_now, per_key).label("span"),
                          _best_progress(col(Task.id), col(Task.target), key)
                          .label("progress"))
                .join(Task, col(Task.id) == current.c.task_id)
                .where(key.is_not(None))
                .cte(f"{recurrence}_progress").prefix_with("MATERIALIZED"))
    # The earlier occurrences missed: joined to the task row again, as is_overdue reads it.
    colour = _colour(reported.c.span, reported.c.gone, reported.c.progress,
                     is_overdue(period, today), margins)
    return (sa_select(reported.c.task_id, reported.c.home, reported.c.cadre_id,
                      reported.c.dimension, colour.label("colour"))
            .join(Task, col(Task.id) == reported.c.task_id)
            .where(reported.c.progress < FULL))


def _span(recurrence: str, open_now: list[Occurrence],
          per_key: Callable[[dict[str, Any]], ColumnElement[Any]]) -> ColumnElement[Any]:
    """due - starts of the current occurrence, in days. Quarterly: fixed per quarter. Monthly:
    due on the deadline's day of the month, at most the month's last (no deadline: the last);
    starts on the 1st."""
    if recurrence == "quarterly":
        return per_key({o.key: ((o.due or o.starts) - o.starts).days for o in open_now})
    last_day = per_key({o.key: (o.due or o.starts).day for o in open_now})
    deadline_day = extract("day", col(Task.deadline))
    due_day = case((col(Task.deadline).is_(None), last_day),
                   (deadline_day < last_day, deadline_day), else_=last_day)
    return due_day - 1


def task_colours(period: Period, today: date, margins: WarningMargins,
                 unit_ids: Collection[int] | None) -> Any:
    """(task id, home unit, cadre id or NULL, dimension, colour) of every open task of the units
    (None: all) and their active cadres, as a subquery."""
    parts = [part for part in (
        _once(period, today, margins, unit_ids),
        _recurring(period, today, margins, unit_ids, "monthly"),
        _recurring(period, today, margins, unit_ids, "quarterly")) if part is not None]
    if not parts:
        return sa_select(null().label("task_id"), null().label("home"), null().label("cadre_id"),
                         null().label("dimension"), null().label("colour")).where(
            literal(False)).subquery("lights")
    return union_all(*parts).subquery("lights")


@dataclass(frozen=True, slots=True)
class Counted:
    home: int  # the unit the tasks count for
    cadre_id: int | None  # whose they are (None: the unit's own)
    dimension: str
    colour: str
    count: int


def _summaries(rows: list[Counted], owner: Callable[[Counted], int | None]
               ) -> dict[int, LightSummary]:
    return summarise(rows, owner, lambda row: row.count)


def _counted(session: Session, period: Period, today: date, margins: WarningMargins,
             unit_ids: Collection[int] | None, by_cadre: bool) -> list[Counted]:
    """Open tasks counted per unit (and per cadre, `by_cadre`), dimension and colour."""
    lights = task_colours(period, today, margins, unit_ids)
    group = [lights.c.home, *([lights.c.cadre_id] if by_cadre else []), lights.c.dimension,
             lights.c.colour]
    without_jit(session)
    rows = session.execute(sa_select(*group, func.count()).group_by(*group)).all()
    if by_cadre:
        return [Counted(*row) for row in rows]
    return [Counted(home, None, dimension, colour, count)
            for home, dimension, colour, count in rows]


def colours(session: Session, period: Period, unit_ids: Collection[int] | None,
            today: date, margins: WarningMargins) -> dict[int, str]:
    """Task id -> colour of every open task (what the equivalence test compares)."""
    lights = task_colours(period, today, margins, unit_ids)
    return {task_id: colour for task_id, colour in session.execute(
        sa_select(lights.c.task_id, lights.c.colour)).all()}


def unit_lights(session: Session, period: Period, unit_ids: Collection[int] | None,
                today: date, margins: WarningMargins) -> dict[int, LightSummary]:
    """Per unit with an open task (its own, or a member's): its light and counts."""
    rows = _counted(session, period, today, margins, unit_ids, by_cadre=False)
    return _summaries(rows, lambda row: row.home)


def unit_and_member_lights(session: Session, period: Period, unit_ids: Collection[int] | None,
                 today: date, margins: WarningMargins
                 ) -> tuple[dict[int, LightSummary], dict[int, LightSummary]]:
    """Per unit and per active cadre of the units, with an open task: their light and
    counts, from one query."""
    rows = _counted(session, period, today, margins, unit_ids, by_cadre=True)
    return (_summaries(rows, lambda row: row.home), _summaries(rows, lambda row: row.cadre_id))
