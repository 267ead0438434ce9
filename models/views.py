"""Read-only views for the bot: what a person sees of their tasks, scores and their units.

Nothing here writes; everything shown comes from stored rows and the standings the scoring
core computed (a score is never computed here).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, Select, and_, bindparam, exists, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from models.occurrences import Occurrence, occurrences
from models.overdue import is_overdue, without_jit
from models.ranks import CADRE, UNIT, RankBook, RankedStanding, ranked
from models.raw import one_of
from models.tables import (
    Cadre,
    Delegation,
    InnovationClaim,
    OutboxMessage,
    Period,
    Report,
    Standing,
    StandingHistory,
    Supervision,
    Task,
    Unit,
)
from models.vocab import APPROVED, BLOCKED, DRAFT, SENT, SUBMITTED


def cadre_by_telegram(session: Session, telegram_user_id: int) -> Cadre | None:
    return session.exec(
        select(Cadre).where(Cadre.telegram_user_id == telegram_user_id, col(Cadre.active))
    ).first()


def latest_report(session: Session, task_id: int, occurrence: str, reporter_id: int
                  ) -> Report | None:
    """The cadre's latest report on this occurrence of the task (drafts aside)."""
    return session.exec(select(Report).where(
        Report.task_id == task_id, Report.occurrence == occurrence,
        Report.reporter_id == reporter_id, Report.state != DRAFT,
    ).order_by(col(Report.id).desc())).first()


def zone_of(session: Session, cadre: Cadre, default: ZoneInfo) -> ZoneInfo:
    """The time zone a cadre reads times in: their unit's, else the organisation's."""
    unit = session.get(Unit, cadre.unit_id)
    return ZoneInfo(unit.timezone) if unit is not None and unit.timezone else default


def active_period(session: Session) -> Period | None:
    return session.exec(select(Period).where(col(Period.is_active))).first()


def delegation_in_force(today: date | ColumnElement[date]) -> ColumnElement[bool]:
    """A delegation that counts today: dated to cover today, not revoked, given by a supervisor
    who is still active and still supervises a unit. Checked when it is used, not only when it
    was given."""
    boss = aliased(Cadre)
    return and_(
        col(Delegation.starts_on) <= today,
        col(Delegation.ends_on) >= today,
        col(Delegation.revoked_at).is_(None),
        exists().where(col(boss.id) == col(Delegation.supervisor_id), col(boss.active)),
        exists().where(col(Supervision.cadre_id) == col(Delegation.supervisor_id)),
    )


def delegator_ids(session: Session, cadre_id: int, today: date) -> list[int]:
    """The supervisors for whom this cadre reviews today."""
    return list(session.exec(
        select(Delegation.supervisor_id).where(
            Delegation.delegate_id == cadre_id, delegation_in_force(today))
    ).all())


# Who is writing and whether they review anyone's work today, in one statement: every update
# asks it, so it is built once (the date and the Telegram id are parameters) and SQLAlchemy
# reuses its compiled form. Same rule as `is_supervisor`.
_WRITER = select(Cadre, or_(
    exists().where(col(Supervision.cadre_id) == col(Cadre.id)),
    exists().where(col(Delegation.delegate_id) == col(Cadre.id),
                   delegation_in_force(bindparam("today", type_=Date))),
)).where(col(Cadre.telegram_user_id) == bindparam("telegram_user_id"), col(Cadre.active))


def writer_by_telegram(session: Session, telegram_user_id: int, today: date
                       ) -> tuple[Cadre, bool] | None:
    """The bound, active cadre behind a Telegram account and whether they are a supervisor
    today (`is_supervisor`); None for an unbound or deactivated account."""
    row = session.execute(_WRITER, {"telegram_user_id": telegram_user_id, "today": today}
                          ).first()
    return None if row is None else (row[0], bool(row[1]))


def is_supervisor(session: Session, cadre: Cadre, today: date) -> bool:
    """Supervises a unit, or reviews for someone who does today."""
    if session.exec(select(Supervision).where(Supervision.cadre_id == cadre.id)).first():
        return True
    return bool(delegator_ids(session, cadre.id or 0, today))


@dataclass(frozen=True)
class ReviewFor:
    """A delegation in force: the supervisor this cadre reviews for, and until when."""

    supervisor: str
    ends_on: date


@dataclass(frozen=True)
class Role:
    """What a cadre is besides an assessee, to greet them as what they are: the supervisor of
    some units, a delegate reviewing for a supervisor for a time, or both."""

    supervises: tuple[str, ...]  # the names of the units they supervise
    reviews_for: tuple[ReviewFor, ...]


def role_of(session: Session, cadre: Cadre, today: date) -> Role:
    units = session.exec(
        select(Unit.name).join(Supervision, col(Supervision.unit_id) == Unit.id)
        .where(Supervision.cadre_id == cadre.id).order_by(col(Unit.path))).all()
    delegations = session.exec(
        select(Cadre.name, func.max(Delegation.ends_on))
        .join(Cadre, col(Cadre.id) == Delegation.supervisor_id)
        .where(Delegation.delegate_id == cadre.id, delegation_in_force(today))
        .group_by(col(Cadre.id), col(Cadre.name)).order_by(col(Cadre.name))).all()
    return Role(tuple(units), tuple(ReviewFor(name, ends_on) for name, ends_on in delegations))


@dataclass(frozen=True, slots=True)
class TaskRow:
    """The columns of a task its people are shown (plain values: a digest run reads the task
    lists of thousands of cadres, and ORM rows would cost more than the rest together)."""

    id: int
    title: str
    dimension: str
    measure: str | None
    target: Decimal | None
    recurrence: str
    deadline: date | None
    cadre_id: int | None
    unit_id: int | None


@dataclass(frozen=True, slots=True)
class ReportRow:
    """What a task line needs of each report."""

    task_id: int
    occurrence: str
    state: str
    reporter_id: int
    progress: Decimal | None
    actual: Decimal | None


_TASK_ROW = tuple(col(c) for c in (Task.id, Task.title, Task.dimension, Task.measure,
                                   Task.target, Task.recurrence, Task.deadline, Task.cadre_id,
                                   Task.unit_id))
_REPORT_ROW = tuple(col(c) for c in (Report.task_id, Report.occurrence, Report.state,
                                     Report.reporter_id, Report.progress, Report.actual))


@lru_cache(maxsize=8192)
def _occurrences(recurrence: str, deadline: date | None, starts: date,
                 ends: date) -> tuple[Occurrence, ...]:
    return tuple(occurrences(recurrence, deadline, starts, ends))


@dataclass
class TaskLine:
    """A task as its people see it: how far it is and what happens next."""

    task: TaskRow
    progress: Decimal | None  # of the occurrence shown: the latest approved report, if any
    state: str  # "none", "draft", "submitted", "approved", "returned", "rejected"
    next_due: date | None  # the deadline, or the due date of the next open occurrence
    occurrence: str  # the occurrence a report now would be for ("" for a one-off task)
    done_occurrences: int = 0
    total_occurrences: int = 1
    is_unit_task: bool = False
    overdue: int = 0  # occurrences past their due date with nothing approved or waiting


def _open_occurrence(found: list[Occurrence], done: AbstractSet[str], today: date) -> Occurrence:
    # Same rule as models.reports uses when a report names no occurrence.
    open_now = [o for o in found if o.starts <= today] or found[:1]
    current = open_now[-1]
    if current.key not in done:
        return current
    missing = [o for o in open_now if o.key not in done]
    return missing[0] if missing else current


def reportable_tasks(session: Session, cadre: Cadre, period: Period, today: date) -> list[TaskLine]:
    """The cadre's own tasks and their unit's, most urgent first (next due date, then title)."""
    return reportable_tasks_of(session, [cadre], period, today)[cadre.id or 0]


def reportable_tasks_of(session: Session, cadres: Sequence[Cadre], period: Period,
                        today: date) -> dict[int, list[TaskLine]]:
    """reportable_tasks for many cadres in two queries (the weekly digests need thousands)."""
    cadre_ids = [c.id for c in cadres]
    unit_ids = {c.unit_id for c in cadres}
    # Two queries, not one with OR: each then runs on its own index.
    tasks = [TaskRow(*row) for query in (
        select(*_TASK_ROW).where(Task.period_id == period.id, col(Task.cadre_id).in_(cadre_ids)),
        select(*_TASK_ROW).where(Task.period_id == period.id, col(Task.unit_id).in_(unit_ids)),
    ) for row in session.execute(query).all()]
    by_task: dict[int, list[ReportRow]] = {}
    if tasks:
        for row in session.execute(
            select(*_REPORT_ROW).where(col(Report.task_id).in_([t.id for t in tasks]))
            .order_by(col(Report.id))
        ).all():
            report = ReportRow(*row)
            by_task.setdefault(report.task_id, []).append(report)
    of_cadre: dict[int, list[TaskRow]] = {}
    of_unit: dict[int, list[TaskRow]] = {}
    for task in tasks:
        if task.cadre_id is not None:
            of_cadre.setdefault(task.cadre_id, []).append(task)
        elif task.unit_id is not None:
            of_unit.setdefault(task.unit_id, []).append(task)
    far = date.max
    result: dict[int, list[TaskLine]] = {}
    for cadre in cadres:
        mine = sorted(of_cadre.get(cadre.id or 0, []) + of_unit.get(cadre.unit_id, []),
                      key=lambda task: task.id)
        lines = [_line(task, by_task.get(task.id, []), period, today, cadre)
                 for task in mine]
        result[cadre.id or 0] = sorted(lines, key=lambda line: (line.next_due or far,
                                                                line.task.title))
    return result


def task_line(session: Session, cadre: Cadre, period: Period, today: date, task_id: int
              ) -> TaskLine | None:
    """The line `reportable_tasks` shows for one task, read alone (a tap on a task needs only
    its own line, not the cadre's forty and their year of reports); None when the task is not
    one of that list's."""
    row = session.execute(select(*_TASK_ROW).where(
        Task.id == task_id, Task.period_id == period.id,
        or_(col(Task.cadre_id) == cadre.id, col(Task.unit_id) == cadre.unit_id))).first()
    if row is None:
        return None
    reports = [ReportRow(*r) for r in session.execute(
        select(*_REPORT_ROW).where(Report.task_id == task_id).order_by(col(Report.id))).all()]
    return _line(TaskRow(*row), reports, period, today, cadre)


def _line(task: TaskRow, reports: list[ReportRow], period: Period, today: date,
          cadre: Cadre) -> TaskLine:
    found = list(_occurrences(task.recurrence, task.deadline, period.starts_on, period.ends_on))
    done = {r.occurrence for r in reports if r.state == APPROVED}
    current = _open_occurrence(found, done, today)
    mine = [r for r in reports if r.occurrence == current.key
            and (r.state != DRAFT or r.reporter_id == cadre.id)]
    latest = mine[-1] if mine else None
    approved = [r for r in reports if r.occurrence == current.key and r.state == APPROVED]
    shown = approved[-1] if approved else None
    progress = None
    if shown is not None:
        progress = shown.progress if task.target is None else shown.actual
    next_due = current.due if task.recurrence != "once" else task.deadline
    waiting = {r.occurrence for r in reports if r.state == SUBMITTED}
    overdue = [o for o in found if o.due is not None and o.due < today
               and o.key not in done and o.key not in waiting]
    return TaskLine(
        task=task, progress=progress, state=latest.state if latest else "none",
        next_due=next_due, occurrence=current.key,
        done_occurrences=len({o.key for o in found} & done), total_occurrences=len(found),
        is_unit_task=task.unit_id is not None, overdue=len(overdue),
    )


def standing_of(session: Session, period: Period, *, cadre_id: int | None = None,
                unit_id: int | None = None) -> RankedStanding | None:
    """An assessee's standing with its ranks (None: no standing in the period)."""
    query = select(Standing).where(Standing.period_id == period.id)
    if cadre_id is not None:
        query = query.where(Standing.cadre_id == cadre_id)
    else:
        query = query.where(Standing.unit_id == unit_id)
    found = session.exec(query).first()
    return None if found is None else ranked(session, found)


def total_a_week_ago(session: Session, period: Period, cadre_id: int,
                     today: date) -> Decimal | None:
    """The total recorded on the latest day at least 7 days ago (None: no history yet)."""
    return totals_a_week_ago(session, period, [cadre_id], today).get(cadre_id)


def totals_a_week_ago(session: Session, period: Period, cadre_ids: Sequence[int],
                      today: date) -> dict[int, Decimal]:
    """total_a_week_ago for many cadres in one query."""
    rows = session.connection().execute(_totals_a_week_ago(), {
        "period": period.id, "cadres": list(cadre_ids), "day": today - timedelta(days=7)})
    return {cadre_id: total for cadre_id, total in rows if cadre_id is not None}


@lru_cache(maxsize=1)
def _totals_a_week_ago() -> Any:
    """Built once: a digest run asks it for every batch."""
    latest = (
        select(StandingHistory.cadre_id, func.max(StandingHistory.taken_on).label("day"))
        .where(StandingHistory.period_id == bindparam("period"),
               one_of(col(StandingHistory.cadre_id), "cadres"),
               col(StandingHistory.taken_on) <= bindparam("day"))
        .group_by(col(StandingHistory.cadre_id)).subquery()
    )
    return (select(col(StandingHistory.cadre_id), col(StandingHistory.total)).join(
        latest, (col(StandingHistory.cadre_id) == latest.c.cadre_id)
        & (col(StandingHistory.taken_on) == latest.c.day))
        # The join keeps only these cadres; said here too, PostgreSQL reads their index
        # entries instead of the period's whole history.
        .where(StandingHistory.period_id == bindparam("period"),
               one_of(col(StandingHistory.cadre_id), "cadres")))


@dataclass
class StandingLine:
    rank: int
    name: str
    total: Decimal
    cadre_id: int


@dataclass
class UnitBoard:
    unit: Unit
    lines: list[StandingLine]
    size: int
    own: StandingLine | None = None


def unit_board(session: Session, period: Period, unit: Unit, viewer: Cadre | None,
               top: int = 10) -> UnitBoard:
    """The unit's cadres by rank: the top `top` and the viewer's own line."""
    rows = session.exec(
        select(Standing, Cadre).join(Cadre, col(Cadre.id) == Standing.cadre_id)
        .where(Standing.period_id == period.id, Standing.group_unit_id == unit.id)
        .order_by(col(Standing.total).desc(), col(Cadre.code))
    ).all()
    book = RankBook(session, period.id or 0, CADRE, units=[unit.id], posts=())
    lines = [StandingLine(book.in_unit(unit.id, s.total), c.name, s.total, c.id or 0)
             for s, c in rows]
    own = next((line for line in lines if viewer and line.cadre_id == viewer.id), None)
    return UnitBoard(unit=unit, lines=lines[:top], size=len(lines), own=own)


def units_below(session: Session, unit: Unit) -> list[int]:
    """The ids of the unit and of every unit below it (the unit table is small)."""
    found = session.exec(select(Unit.id).where(col(Unit.path).startswith(unit.path))).all()
    return [unit_id for unit_id in found if unit_id is not None]


def boards_below(session: Session, period: Period, unit: Unit, top: int = 10) -> list[UnitBoard]:
    """The boards of the unit and of every unit below it that ranks anyone, in tree order:
    a township's supervisor sees the township's own leaders and each of its offices."""
    units = {u.id: u for u in session.exec(
        select(Unit).where(col(Unit.path).startswith(unit.path))).all()}
    rows = session.exec(
        select(Standing, Cadre).join(Cadre, col(Cadre.id) == Standing.cadre_id)
        .where(Standing.period_id == period.id, col(Standing.group_unit_id).in_(units))
        .order_by(col(Standing.total).desc(), col(Cadre.code))
    ).all()
    book = RankBook(session, period.id or 0, CADRE, units=units, posts=())
    lines: dict[int, list[StandingLine]] = {}
    for standing, cadre in rows:
        lines.setdefault(standing.group_unit_id or 0, []).append(StandingLine(
            book.in_unit(standing.group_unit_id, standing.total), cadre.name, standing.total,
            cadre.id or 0))
    in_tree_order = sorted(lines, key=lambda key: units[key].path)
    return [UnitBoard(unit=units[key], lines=lines[key][:top], size=len(lines[key]))
            for key in in_tree_order]


def _supervised_by(session: Session, cadre: Cadre, today: date) -> Sequence[Unit]:
    """The units this cadre supervises, or supervises today for someone (a delegate)."""
    bosses = [cadre.id, *delegator_ids(session, cadre.id or 0, today)]
    return session.exec(
        select(Unit).join(Supervision, col(Supervision.unit_id) == Unit.id)
        .where(col(Supervision.cadre_id).in_(bosses))
    ).all()


def overseen_roots(session: Session, cadre: Cadre, today: date) -> list[Unit]:
    """The tops of what a cadre oversees: the top units for admins, else the units they
    supervise (or review for today) that are not inside another of them; in tree order."""
    if cadre.is_admin:
        top = select(Unit).where(col(Unit.parent_id).is_(None))
        units: Sequence[Unit] = session.exec(top).all()
    else:
        units = _supervised_by(session, cadre, today)
    roots = {unit.id: unit for unit in units}
    return sorted((unit for unit in roots.values() if not any(
        other.id != unit.id and unit.path.startswith(other.path) for other in roots.values())),
        key=lambda unit: unit.path)


@dataclass(frozen=True)
class UnitLine:
    """A unit in a ranking of units: its own score (its tasks, the tasks decomposed to it and
    its share of co-operation), its place among the units beside it, and its people."""

    rank: int | None  # None: the unit has no score of its own in the period
    unit: Unit
    total: Decimal | None
    members: int  # active cadres in the unit and the units below it


@dataclass(frozen=True)
class UnitRanking:
    parent: Unit
    lines: list[UnitLine]


def unit_rankings(session: Session, period: Period, parents: Sequence[Unit]) -> list[UnitRanking]:
    """For each parent, the units directly below it ranked by their own scores (those with no
    score after, in tree order); a parent with no unit below is left out."""
    rankings = []
    for parent in parents:
        below = session.exec(select(Unit).where(col(Unit.path).startswith(parent.path),
                                                col(Unit.id) != parent.id)).all()
        children = [unit for unit in below if unit.parent_id == parent.id]
        if not children:
            continue
        paths = {unit.id: unit.path for unit in below}
        people = Counter[str]()
        for unit_id, count in session.exec(
                select(Cadre.unit_id, func.count()).where(
                    col(Cadre.active), col(Cadre.unit_id).in_(list(paths)))
                .group_by(col(Cadre.unit_id))).all():
            people[paths[unit_id]] += count
        standings = {s.unit_id: s for s in session.exec(select(Standing).where(
            Standing.period_id == period.id,
            col(Standing.unit_id).in_([c.id for c in children]))).all()}
        book = RankBook(session, period.id or 0, UNIT, posts=(),
                        units={s.group_unit_id for s in standings.values()})
        lines = []
        for child in children:
            standing = standings.get(child.id)
            members = sum(n for path, n in people.items() if path.startswith(child.path))
            rank = book.in_unit(standing.group_unit_id, standing.total) if standing else None
            lines.append(UnitLine(rank, child, standing.total if standing else None, members))
        lines.sort(key=lambda line: (line.rank is None, line.rank or 0, line.unit.path))
        rankings.append(UnitRanking(parent, lines))
    return rankings


def overseen_units(session: Session, cadre: Cadre, today: date) -> list[Unit]:
    """Units whose standings this cadre may look at: all for admins; for supervisors (and
    today's delegates) the units they supervise and every unit below."""
    if cadre.is_admin:
        return list(session.exec(select(Unit).order_by(col(Unit.path))).all())
    roots = _supervised_by(session, cadre, today)
    found: dict[int, Unit] = {}
    for root in roots:
        for unit in session.exec(
            select(Unit).where(col(Unit.path).startswith(root.path)).order_by(col(Unit.path))
        ).all():
            found[unit.id or 0] = unit
    return sorted(found.values(), key=lambda u: u.path)


@dataclass
class Missing:
    """A cadre with tasks due and nothing submitted or approved for them."""

    cadre: Cadre
    tasks: list[TaskRow] = field(default_factory=list)


def not_reported(session: Session, period: Period, unit: Unit, today: date, *,
                 below: bool = False) -> list[Missing]:
    """Members of the unit (and of the units below it, if `below`) with a task of their own
    whose deadline (or occurrence) is due, with nothing approved or waiting: by staff code,
    each one's tasks by deadline and title."""
    return late_people(session, period, today,
                       col(Unit.path).startswith(unit.path) if below
                       else col(Cadre.unit_id) == unit.id)


def _late_tasks(period: Period, today: date, *where: ColumnElement[bool]) -> Select[Any]:
    """The overdue own tasks of the active cadres matching `where` (on Cadre and their Unit).
    The database picks them (models/overdue.py): no list of ids, whatever the number."""
    return (select(*_TASK_ROW).join(Cadre, col(Cadre.id) == Task.cadre_id)
            .join(Unit, col(Unit.id) == Cadre.unit_id)
            .where(Task.period_id == period.id, col(Cadre.active), is_overdue(period, today),
                   *where))


def late_people(session: Session, period: Period, today: date,
                *where: ColumnElement[bool]) -> list[Missing]:
    """not_reported for the active cadres matching `where`, in two queries."""
    late = _late_tasks(period, today, *where)
    without_jit(session)
    tasks: dict[int, list[TaskRow]] = {}
    for row in session.execute(late).all():
        task = TaskRow(*row)
        tasks.setdefault(task.cadre_id or 0, []).append(task)
    if not tasks:
        return []
    people = session.exec(select(Cadre).where(
        col(Cadre.id).in_(late.with_only_columns(col(Task.cadre_id))))
        .order_by(col(Cadre.code))).all()
    return [Missing(cadre, sorted(tasks[cadre.id or 0],
                                  key=lambda t: (t.deadline or date.max, t.title)))
            for cadre in people]


def late_counts(session: Session, period: Period, today: date,
                *where: ColumnElement[bool]) -> dict[int, int]:
    """Per unit, how many of its active cadres matching `where` have a task overdue (one
    query; only units with someone late)."""
    late = _late_tasks(period, today, *where)
    without_jit(session)
    rows = session.execute(late.with_only_columns(
        col(Cadre.unit_id), func.count(func.distinct(col(Task.cadre_id))))
        .group_by(col(Cadre.unit_id))).all()
    return {unit_id: count for unit_id, count in rows}


def waiting_claims(session: Session) -> list[InnovationClaim]:
    return list(session.exec(
        select(InnovationClaim).where(InnovationClaim.state == SUBMITTED)
        .order_by(col(InnovationClaim.created_at))
    ).all())


def count_waiting_reviews(session: Session) -> int:
    return int(session.exec(
        select(func.count()).select_from(Report).where(Report.state == SUBMITTED)
    ).one())


def blocked_people(session: Session) -> list[str]:
    """Names of cadres who blocked the bot: Telegram refused a message to them, and nothing
    has reached them since (one who unblocked and wrote again drops off the list)."""
    blocked, later = aliased(OutboxMessage), aliased(OutboxMessage)
    delivered_since = select(col(later.id)).where(
        col(later.recipient_id) == col(blocked.recipient_id), col(later.state) == SENT,
        col(later.id) > col(blocked.id))
    rows = session.exec(
        select(Cadre.name).join(blocked, col(blocked.recipient_id) == Cadre.id)
        .where(col(blocked.state) == BLOCKED, ~delivered_since.exists())
        .distinct().order_by(col(Cadre.name))
    ).all()
    return list(rows)
