"""What a batch of cadres' weekly digests show, read with a few set-based queries.

A digest run renders 20,000 digests. Listing every task of every cadre with its occurrences
(models/views.py `reportable_tasks_of`, what /tasks shows) costs more than the rest together,
and a digest needs only the next few deadlines still open: one-off tasks already past are left
in the database, each remaining task is looked at once per batch, not once per reader, and
of a recurring task only the reports of the running occurrence are read (a year of earlier
ones decide nothing a digest shows, but for the rare line a count settles). Which occurrence
a recurring task's line is about depends only on its schedule and the approvals among those
reports: worked out once per process and day, not per task; the batch's statements are built
once and take the batch as parameters; its lines are sorted once for all its readers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from heapq import merge
from itertools import islice
from operator import attrgetter
from types import MappingProxyType
from typing import Any

from sqlalchemy import and_, bindparam, distinct, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from models.occurrences import Occurrence
from models.ranks import CADRE, PostSnapshots, kind_filter
from models.raw import one_of
from models.tables import Cadre, Period, Report, Standing, Task, Unit
from models.views import _occurrences, _open_occurrence
from models.vocab import APPROVED, DRAFT, RECURRENCES, RETURNED, SUBMITTED


@dataclass(frozen=True, slots=True)
class Deadline:
    due: date
    title: str


@dataclass(frozen=True, slots=True)
class Decision:
    """A report of the cadre's decided this week: approved (with its grade) or returned."""

    state: str
    grade: str | None
    title: str


@dataclass(frozen=True, slots=True)
class Place:
    """A cadre's standing as the digest shows it."""

    total: Decimal
    rank_in_unit: int
    rank_in_post: int
    unit_name: str  # the unit it ranks in


@dataclass(slots=True)  # not frozen: made for each remaining task of a batch
class _Open:
    """A task's open occurrence due on or after today, and who would not see it as to do."""

    id: int
    due: date
    title: str
    # The occurrence's latest report that is not a draft is submitted or approved: it is done
    # for everyone except a reporter whose own draft is newer (they see their draft).
    done_after: int | None
    drafts: Mapping[int, int]  # reporter id -> their latest draft's id
    cadre_id: int | None
    unit_id: int | None
    earlier: int  # earlier occurrences that must all be approved for the line to show

    def open_for(self, cadre_id: int) -> bool:
        return self.done_after is None or self.drafts.get(cadre_id, 0) > self.done_after

    @property
    def seen_by_anyone(self) -> bool:
        return self.done_after is None or bool(self.drafts)


_ORDER = attrgetter("due", "title", "id")  # the order of the task lines


def next_deadlines(session: Session, cadres: Sequence[Cadre], period: Period, today: date,
                   limit: int = 5) -> dict[int, list[Deadline]]:
    """Per cadre, what reportable_tasks lists first among the lines due on or after `today`
    that are neither submitted nor approved: at most `limit`, soonest first, then by title."""
    params = {"period": period.id, "cadres": [c.id or 0 for c in cadres],
              "units": sorted({c.unit_id for c in cadres}), "today": today}
    running = _running(today)
    connection = session.connection()
    of_tasks, of_reports = _statements(tuple(running.items()))
    tasks = [row for statement in of_tasks for row in connection.execute(statement, params).all()]
    reports: dict[int, list[Any]] = {}
    if tasks:
        ids: dict[str, list[int]] = {recurrence: [] for recurrence in RECURRENCES}
        for task in tasks:
            ids[task[2]].append(task[0])
        for row in connection.execute(of_reports, ids).all():
            reports.setdefault(row[1], []).append(row)
    span = (period.starts_on, period.ends_on)
    items = [item for task in tasks
             if (item := _open(task, reports.get(task[0], ()), span, today))]
    items = _drop_unless_earlier_approved(session, items, running)
    items.sort(key=_ORDER)  # once, for every reader
    mine: dict[int, list[_Open]] = {}
    of_unit: dict[int, list[_Open]] = {}
    for item in items:
        owner_list = (mine.setdefault(item.cadre_id, []) if item.cadre_id is not None
                      else of_unit.setdefault(item.unit_id or 0, []))
        owner_list.append(item)
    result = {}
    for cadre in cadres:
        key = cadre.id or 0
        own, shared = mine.get(key, []), of_unit.get(cadre.unit_id, [])
        lines = (merge(own, shared, key=_ORDER)
                 if own and shared else own or shared)
        result[key] = [Deadline(item.due, item.title)
                       for item in islice((item for item in lines if item.open_for(key)), limit)]
    return result


@lru_cache(maxsize=16)
def _statements(running: tuple[tuple[str, str], ...]) -> tuple[list[Any], Any]:
    """A batch's tasks still due, for the cadres' own tasks and for their units' (two
    queries, not one with OR, so that each runs on its own index), and the reports of those
    tasks of the running occurrence and later, found by the tasks' ids, one array per
    recurrence (joined to the tasks again, PostgreSQL planned it in parallel: 10 ms a batch,
    4 ms without). Built once per running month (a run has hundreds of batches); the
    batch's period, cadres, units, day and task ids are parameters."""
    # A one-off task is due on its deadline: one already past never shows.
    still_due = or_(col(Task.recurrence) != "once", col(Task.deadline) >= bindparam("today"))
    owners = (one_of(col(Task.cadre_id), "cadres"),
              and_(one_of(col(Task.unit_id), "units"), col(Task.cadre_id).is_(None)))
    of_tasks = [sa_select(col(Task.id), col(Task.title), col(Task.recurrence),
                          col(Task.deadline), col(Task.cadre_id), col(Task.unit_id))
                .where(col(Task.period_id) == bindparam("period"), owner, still_due)
                for owner in owners]
    # A one-off task's reports all; a recurring task's from the running occurrence on.
    of_reports = (sa_select(col(Report.id), col(Report.task_id), col(Report.occurrence),
                            col(Report.state), col(Report.reporter_id))
                  .where(or_(one_of(col(Report.task_id), "once"),
                             *(and_(one_of(col(Report.task_id), recurrence),
                                    col(Report.occurrence) >= key)
                               for recurrence, key in running)))
                  .order_by(col(Report.id)))
    return of_tasks, of_reports


def _running(today: date) -> dict[str, str]:
    """Per recurrence, the key of the occurrence running today (keys sort by time within a
    recurrence). Every earlier one fell due before today, so it is never a line of its own;
    it matters only when the running one is approved (then the earliest missing one would be
    the line, past due: none). A year's reports are mostly those earlier ones: they are not
    read, and the rare line that depends on them is checked with a count."""
    return {"monthly": f"{today.year}-{today.month:02d}",
            "quarterly": f"{today.year}Q{(today.month - 1) // 3 + 1}"}


@lru_cache(maxsize=8192)
def _current(recurrence: str, deadline: date | None, approved: frozenset[str], starts: date,
             ends: date, today: date) -> tuple[str, date | None, int]:
    """The occurrence a recurring task's line is about, given which of the running one and
    later are approved (most tasks: none), and how many earlier ones must be approved for the
    line to stand. The same for every task of that schedule and those approvals: a few
    hundred cases among 160,000 recurring tasks, worked out once per process and day."""
    started = _started(recurrence, deadline, starts, ends, today)
    cut = _running(today)[recurrence]
    earlier = [o.key for o in started if o.key < cut]
    current = _open_occurrence(started, approved.union(earlier), today)
    # The running one open: the earlier ones do not matter.
    return current.key, current.due, len(earlier) if current.key in approved else 0


_NONE_APPROVED: frozenset[str] = frozenset()
_NO_DRAFTS: Mapping[int, int] = MappingProxyType({})


def _open(task: Any, reports: Sequence[Any], span: tuple[date, date],
          today: date) -> _Open | None:
    """The task's line as models/views.py `_line` makes it, if it is due on or after today;
    `reports` are those of the running occurrence and later (a one-off task's: all), in id
    order. The earlier occurrences are taken as approved: `_Open.earlier` says how many must
    be for the line to stand."""
    task_id, title, recurrence, deadline, cadre_id, unit_id = task
    if recurrence == "once":  # one occurrence, due on the deadline
        key, due, earlier = "", deadline, 0
    else:
        approved = (frozenset(r[2] for r in reports if r[3] == APPROVED) if reports
                    else _NONE_APPROVED)
        key, due, earlier = _current(recurrence, deadline, approved, *span, today)
    if due is None or due < today:
        return None
    if not reports:  # most tasks: nothing reported of this occurrence
        return _Open(task_id, due, title, None, _NO_DRAFTS, cadre_id, unit_id, earlier)
    done_after = None
    drafts: dict[int, int] = {}
    for report_id, _, occurrence, state, reporter_id in reports:  # in id order: last wins
        if occurrence != key:
            continue
        if state == DRAFT:
            drafts[reporter_id] = report_id
        else:
            done_after = report_id if state in (SUBMITTED, APPROVED) else None
    return _Open(task_id, due, title, done_after, drafts, cadre_id, unit_id, earlier)


def _drop_unless_earlier_approved(session: Session, items: list[_Open],
                                  running: dict[str, str]) -> list[_Open]:
    """The lines that stand: those whose earlier occurrences are all approved, where it
    matters (a line nobody would see needs no check)."""
    doubtful = [item.id for item in items if item.earlier and item.seen_by_anyone]
    approved: dict[int, int] = {}
    if doubtful:
        before_running = or_(*((col(Task.recurrence) == recurrence)
                               & (col(Report.occurrence) < key)
                               for recurrence, key in running.items()))
        approved = dict(session.connection().execute(
            sa_select(col(Report.task_id), func.count(distinct(col(Report.occurrence))))
            .join(Task, col(Task.id) == Report.task_id)
            .where(col(Report.task_id).in_(doubtful), col(Report.state) == APPROVED,
                   before_running)
            .group_by(col(Report.task_id))).tuples().all())
    return [item for item in items
            if not item.earlier or (item.seen_by_anyone
                                    and approved.get(item.id, 0) >= item.earlier)]


@lru_cache(maxsize=4096)
def _started(recurrence: str, deadline: date | None, starts: date, ends: date,
             today: date) -> list[Occurrence]:
    """The occurrences that have started by today (the first, if none has): all that
    `_open_occurrence` picks from, so it picks the same from these as from all of them."""
    found = _occurrences(recurrence, deadline, starts, ends)
    return [o for o in found if o.starts <= today] or list(found[:1])


def decided_since(session: Session, cadre_ids: Sequence[int],
                  since: datetime) -> dict[int, list[Decision]]:
    """Per cadre, their reports approved or returned since `since`, in the order decided."""
    found: dict[int, list[Decision]] = {}
    for reporter_id, state, grade, title in session.connection().execute(
            _decided(), {"cadres": list(cadre_ids), "since": since}).all():
        found.setdefault(reporter_id, []).append(Decision(state, grade, title))
    return found


@lru_cache(maxsize=1)
def _decided() -> Any:
    return (sa_select(col(Report.reporter_id), col(Report.state), col(Report.grade),
                      col(Task.title))
            .join(Task, col(Task.id) == Report.task_id)
            .where(one_of(col(Report.reporter_id), "cadres"),
                   col(Report.state).in_((APPROVED, RETURNED)),
                   col(Report.decided_at) >= bindparam("since"))
            .order_by(col(Report.decided_at), col(Report.id)))  # ties: in order made


def places(session: Session, period: Period, cadre_ids: Sequence[int]) -> dict[int, Place]:
    """The cadres' standings with their ranks and the name of the unit each ranks in. The
    rank in the unit is counted in the same statement as the total (a unit's few dozen index
    entries per cadre); in the post category it comes from the run's snapshots (models/ranks.py
    `PostSnapshots`); either agrees with the total shown."""
    rows = session.connection().execute(_places(), {
        "period": period.id, "cadres": list(cadre_ids)}).all()
    in_post = PostSnapshots(session, period.id or 0).ranks(
        (row.cadre_id, row.post_category, row.total) for row in rows)
    return {row.cadre_id: Place(row.total, 1 + row.above_in_unit, in_post[row.cadre_id],
                                row.name or "")
            for row in rows}


@lru_cache(maxsize=1)
def _places() -> Any:
    mine, other = aliased(Standing), aliased(Standing)
    # A cadre's standing always has its unit as group (never NULL), so equality finds it.
    above_in_unit = (
        sa_select(func.count()).select_from(other)
        .where(col(other.period_id) == col(mine.period_id), kind_filter(CADRE, other),
               col(other.group_unit_id) == col(mine.group_unit_id),
               col(other.total) > col(mine.total))
        .scalar_subquery().label("above_in_unit"))
    return (sa_select(col(mine.cadre_id), col(mine.total), col(mine.post_category),
                      col(Unit.name), above_in_unit)
            .outerjoin(Unit, col(Unit.id) == mine.group_unit_id)
            .where(col(mine.period_id) == bindparam("period"),
                   one_of(col(mine.cadre_id), "cadres")))
