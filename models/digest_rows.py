"""What a batch of cadres' weekly digests show, read with a few set-based queries.

A digest run renders 20,000 digests. Listing every task of every cadre with its occurrences
(models/views.py `reportable_tasks_of`, what /tasks shows) costs more than the rest together,
and a digest needs only the next few deadlines still open: one-off tasks already past are left
in the database, each remaining task is looked at once per batch, not once per reader, and
of a recurring task only the reports of the running occurrence are read (a year of earlier
ones decide nothing a digest shows, but for the rare line a count settles).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import distinct, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from models.occurrences import Occurrence
from models.ranks import CADRE, PostSnapshots, RankBook
from models.tables import Cadre, Period, Report, Standing, Task, Unit
from models.views import _occurrences, _open_occurrence
from models.vocab import APPROVED, DRAFT, RETURNED, SUBMITTED


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


@dataclass(frozen=True, slots=True)
class _Open:
    """A task's open occurrence due on or after today, and who would not see it as to do."""

    id: int
    due: date
    title: str
    # The occurrence's latest report that is not a draft is submitted or approved: it is done
    # for everyone except a reporter whose own draft is newer (they see their draft).
    done_after: int | None
    drafts: dict[int, int]  # reporter id -> their latest draft's id
    cadre_id: int | None
    unit_id: int | None
    earlier: int  # earlier occurrences that must all be approved for the line to show

    def open_for(self, cadre_id: int) -> bool:
        return self.done_after is None or self.drafts.get(cadre_id, 0) > self.done_after

    @property
    def seen_by_anyone(self) -> bool:
        return self.done_after is None or bool(self.drafts)


def next_deadlines(session: Session, cadres: Sequence[Cadre], period: Period, today: date,
                   limit: int = 5) -> dict[int, list[Deadline]]:
    """Per cadre, what reportable_tasks lists first among the lines due on or after `today`
    that are neither submitted nor approved: at most `limit`, soonest first, then by title."""
    cadre_ids = [c.id or 0 for c in cadres]
    unit_ids = sorted({c.unit_id for c in cadres})
    # A one-off task is due on its deadline: one already past never shows.
    still_due = or_(col(Task.recurrence) != "once", col(Task.deadline) >= today)
    owners = (col(Task.cadre_id).in_(cadre_ids),
              col(Task.unit_id).in_(unit_ids) & col(Task.cadre_id).is_(None))
    running = _running(today)
    connection = session.connection()
    tasks: list[Any] = []
    reports: dict[int, list[Any]] = {}
    for owner in owners:  # two queries each, not one with OR: each runs on its own index
        of_tasks = (col(Task.period_id) == period.id, owner, still_due)
        tasks += connection.execute(
            sa_select(col(Task.id), col(Task.title), col(Task.recurrence), col(Task.deadline),
                      col(Task.cadre_id), col(Task.unit_id)).where(*of_tasks)).all()
        for row in connection.execute(
            sa_select(col(Report.id), col(Report.task_id), col(Report.occurrence),
                      col(Report.state), col(Report.reporter_id))
            .join(Task, col(Task.id) == Report.task_id)
            .where(*of_tasks, _not_before_running(running))
            .order_by(col(Report.id))
        ).all():
            reports.setdefault(row[1], []).append(row)
    schedules = _Schedules(period, today, running)
    items = [item for task in tasks
             if (item := _open(task, reports.get(task[0], ()), schedules, today))]
    items = _drop_unless_earlier_approved(session, items, running)
    mine: dict[int, list[_Open]] = {}
    of_unit: dict[int, list[_Open]] = {}
    for item in items:
        owner_list = (mine.setdefault(item.cadre_id, []) if item.cadre_id is not None
                      else of_unit.setdefault(item.unit_id or 0, []))
        owner_list.append(item)
    result = {}
    for cadre in cadres:
        key = cadre.id or 0
        lines = sorted((item for item in (*mine.get(key, ()), *of_unit.get(cadre.unit_id, ()))
                        if item.open_for(key)), key=lambda item: (item.due, item.title, item.id))
        result[key] = [Deadline(item.due, item.title) for item in lines[:limit]]
    return result


def _running(today: date) -> dict[str, str]:
    """Per recurrence, the key of the occurrence running today (keys sort by time within a
    recurrence). Every earlier one fell due before today, so it is never a line of its own;
    it matters only when the running one is approved (then the earliest missing one would be
    the line, past due: none). A year's reports are mostly those earlier ones: they are not
    read, and the rare line that depends on them is checked with a count."""
    return {"monthly": f"{today.year}-{today.month:02d}",
            "quarterly": f"{today.year}Q{(today.month - 1) // 3 + 1}"}


def _not_before_running(running: dict[str, str]) -> Any:
    """The reports of one-off tasks, and of the running occurrence of a recurring one and
    later."""
    return or_(col(Task.recurrence) == "once",
               *((col(Task.recurrence) == recurrence) & (col(Report.occurrence) >= key)
                 for recurrence, key in running.items()))


class _Schedules:
    """Per (recurrence, deadline): the occurrences started by today and the keys of those
    before the running one; worked out once per batch (tasks share a few schedules)."""

    def __init__(self, period: Period, today: date, running: dict[str, str]) -> None:
        self.period, self.today, self.running = period, today, running
        self._known: dict[tuple[str, date | None], tuple[list[Occurrence], list[str]]] = {}

    def __call__(self, recurrence: str, deadline: date | None
                 ) -> tuple[list[Occurrence], list[str]]:
        found = self._known.get((recurrence, deadline))
        if found is None:
            started = _started(recurrence, deadline, self.period.starts_on,
                               self.period.ends_on, self.today)
            cut = self.running[recurrence]
            found = self._known[(recurrence, deadline)] = (
                started, [o.key for o in started if o.key < cut])
        return found


def _open(task: Any, reports: Sequence[Any], schedules: _Schedules,
          today: date) -> _Open | None:
    """The task's line as models/views.py `_line` makes it, if it is due on or after today;
    `reports` are those of the running occurrence and later (a one-off task's: all), in id
    order. The earlier occurrences are taken as approved: `_Open.earlier` says how many must
    be for the line to stand."""
    task_id, title, recurrence, deadline, cadre_id, unit_id = task
    earlier: list[str] = []
    if recurrence == "once":  # one occurrence, due on the deadline
        key, due = "", deadline
    else:
        started, earlier = schedules(recurrence, deadline)
        approved = {r[2] for r in reports if r[3] == APPROVED}
        current = _open_occurrence(started, approved.union(earlier), today)
        key, due = current.key, current.due
        if key not in approved:  # the running one is open: the earlier ones do not matter
            earlier = []
    if due is None or due < today:
        return None
    done_after = None
    drafts: dict[int, int] = {}
    for report_id, _, occurrence, state, reporter_id in reports:  # in id order: last wins
        if occurrence != key:
            continue
        if state == DRAFT:
            drafts[reporter_id] = report_id
        else:
            done_after = report_id if state in (SUBMITTED, APPROVED) else None
    return _Open(task_id, due, title, done_after, drafts, cadre_id, unit_id, len(earlier))


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
    for row in session.connection().execute(
        sa_select(col(Report.reporter_id), col(Report.state), col(Report.grade), col(Task.title))
        .join(Task, col(Task.id) == Report.task_id)
        .where(col(Report.reporter_id).in_(cadre_ids),
               col(Report.state).in_((APPROVED, RETURNED)), col(Report.decided_at) >= since)
        .order_by(col(Report.decided_at))
    ).all():
        found.setdefault(row.reporter_id, []).append(Decision(row.state, row.grade, row.title))
    return found


def places(session: Session, period: Period, cadre_ids: Sequence[int]) -> dict[int, Place]:
    """The cadres' standings with their ranks and the name of the unit each ranks in. Ranks
    in the unit are counted for the batch; in the post category they come from the run's
    snapshots (models/ranks.py `PostSnapshots`: each agrees with the total shown)."""
    rows = session.connection().execute(
        sa_select(col(Standing.cadre_id), col(Standing.total), col(Standing.group_unit_id),
                  col(Standing.post_category), col(Unit.name))
        .outerjoin(Unit, col(Unit.id) == Standing.group_unit_id)
        .where(col(Standing.period_id) == period.id,
               col(Standing.cadre_id).in_(cadre_ids))).all()
    units = RankBook(session, period.id or 0, CADRE, units={row.group_unit_id for row in rows},
                     posts=())
    in_post = PostSnapshots(session, period.id or 0).ranks(
        (row.cadre_id, row.post_category, row.total) for row in rows)
    return {row.cadre_id: Place(row.total, units.in_unit(row.group_unit_id, row.total),
                                in_post[row.cadre_id], row.name or "")
            for row in rows}
