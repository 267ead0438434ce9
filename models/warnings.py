"""红黄绿预警: a light for every open task, from its progress against the time gone in its window.

A task's window runs from the start of the period (a recurring task: of its current occurrence,
the one a report made today would be for) to its due date (no deadline: the period's end). With
`elapsed` the share of the window gone today and `progress` what was reported (approved, or
waiting for review), a task is

- red: past its due date and not done (a recurring task: or an earlier occurrence past its due
  date with nothing approved or waiting), or more than `red` points behind (`elapsed - progress`),
- yellow: more than `yellow` points behind,
- green: otherwise.

A task is open while it is not done: a one-off task until it is approved (or waits for review)
at 100 %, a recurring one while its current occurrence has nothing approved. A cadre and a unit
get the worst light of their key tasks (green with none) and the count of each colour over all
their open tasks; a unit's are its own tasks' and its members'. `light_of` is pure; the loaders
read everything a list of units needs in a few queries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from models import access, audit
from models.errors import Forbidden, Refused
from models.occurrences import current_occurrence, occurrences
from models.outbox import Kind, enqueue
from models.rules import WarningMargins
from models.store import Ctx
from models.tables import Cadre, Period, Report, Task, Unit
from models.vocab import APPROVED, SUBMITTED
from scoring import Rational, progress_from_count, round2

GREEN, YELLOW, RED = "green", "yellow", "red"
COLOURS = (RED, YELLOW, GREEN)
SEVERITY = {GREEN: 0, YELLOW: 1, RED: 2}
HUNDRED = Decimal(100)
K = TypeVar("K", bound=Hashable)


def light_of(progress: Decimal, starts: date, due: date, today: date,
             margins: WarningMargins) -> tuple[str, Decimal]:
    """The colour of an open task and the share of its window gone (0-100, 2 decimals)."""
    span = (due - starts).days
    if span <= 0:
        elapsed = HUNDRED
    else:
        gone = min(max((today - starts).days, 0), span)
        elapsed = round2(Rational(100 * gone, span))
    if today > due:
        return RED, elapsed
    behind = elapsed - progress
    if behind > margins.red:
        return RED, elapsed
    if behind > margins.yellow:
        return YELLOW, elapsed
    return GREEN, elapsed


@dataclass(frozen=True, slots=True)
class TaskLight:
    task_id: int
    title: str
    dimension: str
    cadre_id: int | None  # the cadre whose task it is (None: a unit's own task)
    unit_id: int  # the unit it counts for: the cadre's unit, or the unit itself
    owner: str  # the cadre's or the unit's name
    occurrence: str
    due: date
    progress: Decimal  # 0-100, what was reported
    elapsed: Decimal  # 0-100, the share of the window gone
    colour: str
    days_late: int

    @property
    def behind(self) -> Decimal:
        return self.elapsed - self.progress

    @property
    def urgency(self) -> tuple[Any, ...]:
        """Sort key, most urgent first: red before yellow, the latest first, then the furthest
        behind, then the nearest due date."""
        return (-SEVERITY[self.colour], -self.days_late, -self.behind, self.due, self.task_id)


@dataclass
class LightSummary:
    colour: str = GREEN  # the worst light of the key tasks
    counts: Counter[str] = field(default_factory=Counter)  # every open task, per colour


class Lit(Protocol):
    """A task's light (TaskLight), or tasks of one light counted together (light_counts.py)."""

    @property
    def colour(self) -> str: ...

    @property
    def dimension(self) -> str: ...


L = TypeVar("L", bound=Lit)


def summarise(lights: Iterable[L], key: Callable[[L], K | None],
              count: Callable[[L], int] = lambda _: 1) -> dict[K, LightSummary]:
    """Per key (a cadre id, a unit id): the worst key-task light and the counts per colour
    (`count`: how many tasks each item stands for)."""
    result: dict[K, LightSummary] = {}
    for light in lights:
        owner = key(light)
        if owner is None:
            continue
        summary = result.setdefault(owner, LightSummary())
        summary.counts[light.colour] += count(light)
        if light.dimension == "key" and SEVERITY[light.colour] > SEVERITY[summary.colour]:
            summary.colour = light.colour
    return result


def by_cadre(lights: Iterable[TaskLight]) -> dict[int, LightSummary]:
    return summarise(lights, lambda light: light.cadre_id)


def by_unit(lights: Iterable[TaskLight]) -> dict[int, LightSummary]:
    return summarise(lights, lambda light: light.unit_id)


# -- loading --------------------------------------------------------------------------------


_TASK = tuple(col(c) for c in (Task.id, Task.title, Task.dimension, Task.recurrence,
                               Task.deadline, Task.target, Task.cadre_id, Task.unit_id))


@dataclass(frozen=True, slots=True)
class _Reported:
    occurrence: str
    state: str
    progress: Decimal | None
    actual: Decimal | None


def lights_under(session: Session, period: Period, unit_ids: Collection[int] | None,
                 today: date, margins: WarningMargins) -> list[TaskLight]:
    """Every open task of the units (None: all units) and of their active cadres, with its
    light, most urgent first. Four queries, whatever the number of units."""
    cadre_query = sa_select(col(Cadre.id), col(Cadre.name), col(Cadre.unit_id)).where(
        col(Cadre.active))
    unit_query = sa_select(col(Unit.id), col(Unit.name))
    if unit_ids is not None:
        cadre_query = cadre_query.where(col(Cadre.unit_id).in_(unit_ids))
        unit_query = unit_query.where(col(Unit.id).in_(unit_ids))
    cadres = {row[0]: (row[1], row[2]) for row in session.execute(cadre_query).all()}
    units = {row[0]: row[1] for row in session.execute(unit_query).all()}
    tasks = _tasks(session, period, unit_ids)
    reports = _reports(session, period, unit_ids)
    found: list[TaskLight] = []
    for row in tasks:
        task_id, title, dimension, recurrence, deadline, target, cadre_id, unit_id = row
        if cadre_id is not None:
            if cadre_id not in cadres:
                continue
            owner, home = cadres[cadre_id]
        elif unit_id in units:
            owner, home = units[unit_id], unit_id
        else:
            continue
        light = _light(task_id, title, dimension, recurrence, deadline, target,
                       reports.get(task_id, []), period, today, margins)
        if light is not None:
            found.append(TaskLight(task_id, title, dimension, cadre_id, home, owner, *light))
    return sorted(found, key=lambda light: light.urgency)


def _tasks(session: Session, period: Period,
           unit_ids: Collection[int] | None) -> list[Any]:
    """The cadres' tasks (joined to their cadre, so no list of cadre ids is sent) and the
    units' own."""
    of_cadres = sa_select(*_TASK).join(Cadre, col(Cadre.id) == Task.cadre_id).where(
        col(Task.period_id) == period.id)
    of_units = sa_select(*_TASK).where(col(Task.period_id) == period.id,
                                       col(Task.unit_id).is_not(None))
    if unit_ids is not None:
        of_cadres = of_cadres.where(col(Cadre.unit_id).in_(unit_ids))
        of_units = of_units.where(col(Task.unit_id).in_(unit_ids))
    return [*session.execute(of_cadres).all(), *session.execute(of_units).all()]


def _reports(session: Session, period: Period,
             unit_ids: Collection[int] | None) -> dict[int, list[_Reported]]:
    """Approved and waiting reports of those tasks, oldest decision first."""
    columns = (col(Report.id), col(Report.task_id), col(Report.occurrence), col(Report.state),
               col(Report.progress), col(Report.actual))
    query = (sa_select(*columns).join(Task, col(Task.id) == Report.task_id)
             .where(col(Task.period_id) == period.id,
                    col(Report.state).in_((APPROVED, SUBMITTED))))
    if unit_ids is None:
        queries = [query]
    else:  # two queries, not one with OR: each then reads only its units' rows by index
        queries = [query.join(Cadre, col(Cadre.id) == Task.cadre_id)
                   .where(col(Cadre.unit_id).in_(unit_ids)),
                   query.where(col(Task.unit_id).in_(unit_ids))]
    rows = sorted((row for q in queries for row in session.execute(q).all()),
                  key=lambda row: row[0])
    result: dict[int, list[_Reported]] = {}
    for _, task_id, occurrence, state, progress, actual in rows:
        result.setdefault(task_id, []).append(_Reported(occurrence, state, progress, actual))
    return result


def _progress(report: _Reported, target: Decimal | None) -> Decimal:
    if target is not None and report.actual is not None:
        return round2(progress_from_count(Rational(report.actual), Rational(target)))
    return report.progress or Decimal(0)


def _light(task_id: int, title: str, dimension: str, recurrence: str, deadline: date | None,
           target: Decimal | None, reports: list[_Reported], period: Period, today: date,
           margins: WarningMargins) -> tuple[str, date, Decimal, Decimal, str, int] | None:
    """(occurrence, due, progress, elapsed, colour, days late) of an open task; None when done
    or not started."""
    found = occurrences(recurrence, deadline, period.starts_on, period.ends_on)
    done = {r.occurrence for r in reports if r.state == APPROVED}
    current = current_occurrence(found, done, today)
    starts = period.starts_on if recurrence == "once" else current.starts
    if starts > today:
        return None
    mine = [r for r in reports if r.occurrence == current.key]
    progress = max((_progress(r, target) for r in mine), default=Decimal(0))
    if progress >= HUNDRED or (recurrence != "once" and current.key in done):
        return None
    due = current.due or period.ends_on
    colour, elapsed = light_of(progress, starts, due, today, margins)
    # An earlier occurrence past its due date with nothing approved or waiting is overdue too.
    waiting = {r.occurrence for r in reports if r.state == SUBMITTED}
    missed = [o.due for o in found if o.due is not None and o.due < today
              and o.key not in done and o.key not in waiting]
    late = max([(today - day).days for day in (*missed, due)] + [0])
    return current.key, due, progress, elapsed, RED if late else colour, late


def task_light(session: Session, period: Period, task: Task, today: date,
               margins: WarningMargins) -> tuple[str, date, Decimal, Decimal, str, int] | None:
    """_light of one task (None: done, or not started)."""
    rows = session.execute(
        sa_select(col(Report.occurrence), col(Report.state), col(Report.progress),
                  col(Report.actual))
        .where(col(Report.task_id) == task.id, col(Report.state).in_((APPROVED, SUBMITTED)))
        .order_by(col(Report.id))).all()
    return _light(task.id or 0, task.title, task.dimension, task.recurrence, task.deadline,
                  task.target, [_Reported(*row) for row in rows], period, today, margins)


# -- 提醒: a supervisor reminds the person behind a red or yellow task, now -----------------

REMIND_KIND = Kind.WARN_REMINDER


def remind_key(task_id: int, day: date) -> str:
    """At most one reminder a day per task: the outbox refuses a second row with this key."""
    return f"warn:{task_id}:{day.isoformat()}"


def remind(ctx: Ctx, actor_id: int, task_id: int) -> Cadre:
    """Queue a reminder to the cadre whose task it is, now; returns that cadre.

    Only someone who may review the task's unit (its supervisors up the tree, today's delegates,
    admins) may remind; anyone else is refused and the attempt audited. Refused too: a unit's
    own task (no one person to remind), a task that is done, a cadre not bound to Telegram, and
    a second reminder of the same task on the same day.
    """
    who = access.actor(ctx, actor_id)
    task = access.load(ctx, Task, task_id)
    unit = access.task_unit(ctx, task)
    if not access.may_review(ctx, who, unit):
        raise Forbidden(who.id, "remind", "task", task.id)
    if task.cadre_id is None:
        raise Refused("remind_unit_task")
    cadre = access.load(ctx, Cadre, task.cadre_id)
    period = access.load(ctx, Period, task.period_id)
    light = task_light(ctx.session, period, task, ctx.today, ctx.rules.warnings)
    if light is None:
        raise Refused("remind_nothing_open", name=cadre.name)
    if cadre.telegram_user_id is None:
        raise Refused("remind_unbound", name=cadre.name)
    occurrence, due, progress, elapsed, colour, days_late = light
    key = remind_key(task.id or 0, ctx.today)
    payload = {"task_id": task.id, "from_id": who.id, "occurrence": occurrence,
               "due": due.isoformat(), "progress": str(progress), "elapsed": str(elapsed),
               "colour": colour, "days_late": days_late}
    if not enqueue(ctx, REMIND_KIND, payload, recipient=cadre, dedupe_key=key):
        raise Refused("already_reminded", name=cadre.name)
    audit.record(ctx, who.id, "remind", task, before=None,
                 after={"cadre_id": cadre.id, **payload}, period_id=task.period_id,
                 unit_id=unit.id, cadre_id=cadre.id, task_id=task.id)
    return cadre


@dataclass
class BoardLights:
    """What 排行榜 shows a supervisor: the unit's light and each member's."""

    unit: LightSummary
    cadres: dict[int, LightSummary]

    def of(self, cadre_id: int) -> LightSummary:
        return self.cadres.get(cadre_id) or LightSummary()


def board_lights(session: Session, unit_id: int, today: date,
                 margins: WarningMargins) -> BoardLights | None:
    """The lights of one unit's board (None without an active period)."""
    period = session.exec(select(Period).where(col(Period.is_active))).first()
    if period is None:
        return None
    lights = lights_under(session, period, [unit_id], today, margins)
    return BoardLights(by_unit(lights).get(unit_id) or LightSummary(), by_cadre(lights))
