"""Which tasks are overdue, as one SQL condition on the task row (未按期汇报 at a city's scale).

A task is overdue when one of its occurrences is due before today with no report approved or
waiting for review (models/views.py `_line`: `overdue`). Due dates follow a few rules
(models/occurrences.py), so how many occurrences are due by today is a small expression of
the task's recurrence and deadline, and the reports that cover them are counted in a
correlated subquery on the report index: the database answers for 20,000 cadres at once, with
no list of ids (PostgreSQL takes at most 65,535 parameters in one statement).

- once: due when the deadline is before today; covered by a report for occurrence "".
- monthly: every month of the period before today's month is due (its due date is at most its
  last day); today's month when the deadline's day of the month is before today's (the due
  day is min(deadline day, month length), and today's day is at most the month length; no
  deadline: the month's last day, not before today).
- quarterly: due at the end of each quarter, so the quarters before today's.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, and_, case, extract, func, literal, or_, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from models.occurrences import occurrences
from models.tables import Period, Report, Task
from models.vocab import APPROVED, SUBMITTED


def _keys(recurrence: str, period: Period) -> list[str]:
    return [o.key for o in occurrences(recurrence, None, period.starts_on, period.ends_on)]


def is_overdue(period: Period, today: date) -> ColumnElement[bool]:
    """True for a task row of `period` with an occurrence due before today and neither
    approved nor waiting (see the module doc)."""
    month_now = f"{today.year}-{today.month:02d}"
    quarter_now = f"{today.year}Q{(today.month - 1) // 3 + 1}"
    months = [key for key in _keys("monthly", period) if key < month_now]
    quarters = [key for key in _keys("quarterly", period) if key < quarter_now]
    this_month_due = and_(
        literal(month_now in _keys("monthly", period)),
        col(Task.deadline).is_not(None), extract("day", col(Task.deadline)) < today.day)
    due = case(
        (col(Task.recurrence) == "once",
         case((and_(col(Task.deadline).is_not(None), col(Task.deadline) < today), 1), else_=0)),
        (col(Task.recurrence) == "monthly",
         len(months) + case((this_month_due, 1), else_=0)),
        (col(Task.recurrence) == "quarterly", len(quarters)),
        else_=0)
    covered = (
        sa_select(func.count(func.distinct(col(Report.occurrence))))
        .where(col(Report.task_id) == Task.id, col(Report.state).in_((APPROVED, SUBMITTED)),
               or_(and_(col(Task.recurrence) == "once", col(Report.occurrence) == ""),
                   and_(col(Task.recurrence) == "monthly",
                        or_(col(Report.occurrence).in_(months or [""]),
                            and_(col(Report.occurrence) == month_now, this_month_due))),
                   and_(col(Task.recurrence) == "quarterly",
                        col(Report.occurrence).in_(quarters or [""]))))
        .scalar_subquery())
    return and_(due > 0, due > covered)


def without_jit(session: Session) -> None:
    """For the rest of this transaction, PostgreSQL runs queries without JIT compilation.

    A city-wide query with a correlated subquery per task (this one, models/light_counts.py)
    is estimated far above `jit_above_cost`, and PostgreSQL then spends longer compiling its
    expressions than running it: at 2,000 cadres the lights took 8.4 s with JIT and 1.4 s
    without, the late counts 1.7 s and 0.9 s (medians of 6, side by side, load 12).
    SET LOCAL ends with the transaction; SQLite has nothing to turn off."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
