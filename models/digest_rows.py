"""What a batch of cadres' weekly digests show, read with a few set-based queries.

A digest run renders 20,000 digests. Listing every task of every cadre with its occurrences
(models/views.py `reportable_tasks_of`, what /tasks shows) costs more than the rest together,
and a digest needs only the next few deadlines still open: one-off tasks already past are left
in the database, and each remaining task is looked at once per batch, not once per reader.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from models.occurrences import Occurrence
from models.ranks import CADRE, RankBook
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

    def open_for(self, cadre_id: int) -> bool:
        return self.done_after is None or self.drafts.get(cadre_id, 0) > self.done_after


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
    connection = session.connection()
    tasks: list[Any] = []
    reports: dict[int, list[Any]] = {}
    for owner in owners:  # two queries each, not one with OR: each runs on its own index
        tasks += connection.execute(
            sa_select(col(Task.id), col(Task.title), col(Task.recurrence), col(Task.deadline),
                   col(Task.cadre_id), col(Task.unit_id))
            .where(col(Task.period_id) == period.id, owner, still_due)).all()
        for row in connection.execute(
            sa_select(col(Report.id), col(Report.task_id), col(Report.occurrence),
                   col(Report.state), col(Report.reporter_id))
            .join(Task, col(Task.id) == Report.task_id)
            .where(col(Task.period_id) == period.id, owner, still_due)
            .order_by(col(Report.id))
        ).all():
            reports.setdefault(row.task_id, []).append(row)
    mine: dict[int, list[_Open]] = {}
    of_unit: dict[int, list[_Open]] = {}
    for task in tasks:
        item = _open(task, reports.get(task.id, []), period, today)
        if item is not None:
            owner_list = (mine.setdefault(task.cadre_id, []) if task.cadre_id is not None
                          else of_unit.setdefault(task.unit_id, []))
            owner_list.append(item)
    result = {}
    for cadre in cadres:
        key = cadre.id or 0
        lines = sorted((item for item in (*mine.get(key, ()), *of_unit.get(cadre.unit_id, ()))
                        if item.open_for(key)), key=lambda item: (item.due, item.title, item.id))
        result[key] = [Deadline(item.due, item.title) for item in lines[:limit]]
    return result


def _open(task: Any, reports: list[Any], period: Period, today: date) -> _Open | None:
    """The task's line as models/views.py `_line` makes it, if it is due on or after today."""
    if task.recurrence == "once":  # one occurrence, due on the deadline
        key, due = "", task.deadline
    else:
        done = {r.occurrence for r in reports if r.state == APPROVED}
        current = _open_occurrence(
            _started(task.recurrence, task.deadline, period.starts_on, period.ends_on, today),
            done, today)
        key, due = current.key, current.due
    if due is None or due < today:
        return None
    done_after = None
    drafts: dict[int, int] = {}
    for report in reports:  # in id order: the last one wins
        if report.occurrence != key:
            continue
        if report.state == DRAFT:
            drafts[report.reporter_id] = report.id
        else:
            done_after = report.id if report.state in (SUBMITTED, APPROVED) else None
    return _Open(task.id, due, task.title, done_after, drafts)


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
    """The cadres' standings with their ranks and the name of the unit each ranks in."""
    rows = session.connection().execute(
        sa_select(col(Standing.cadre_id), col(Standing.total), col(Standing.group_unit_id),
                  col(Standing.post_category), col(Unit.name))
        .outerjoin(Unit, col(Unit.id) == Standing.group_unit_id)
        .where(col(Standing.period_id) == period.id,
               col(Standing.cadre_id).in_(cadre_ids))).all()
    book = RankBook(session, period.id or 0, CADRE, units={row.group_unit_id for row in rows},
                    posts={row.post_category for row in rows})
    found = {}
    for row in rows:
        ranks = book.ranks(row.group_unit_id, row.post_category, row.total)
        found[row.cadre_id] = Place(row.total, ranks.in_unit, ranks.in_post, row.name or "")
    return found
