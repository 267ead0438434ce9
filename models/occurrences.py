"""Occurrences of a task: once, or every month or quarter of its period, each with a due date.

A recurring task is reported per occurrence; each occurrence counts for an equal part of it.
"""

import calendar
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Occurrence:
    key: str  # "" for a one-off task, "2026-03" monthly, "2026Q1" quarterly
    due: date | None
    starts: date  # the first day it can be reported for


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _months(start: date, end: date) -> list[tuple[int, int]]:
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def occurrences(
    recurrence: str, deadline: date | None, period_start: date, period_end: date
) -> list[Occurrence]:
    """Every occurrence of a task in its period, in date order.

    Monthly: due on the deadline's day of the month (the month's last day when the month is
    shorter, or when there is no deadline). Quarterly: due at the end of each quarter.
    """
    if recurrence == "once":
        return [Occurrence("", deadline, period_start)]
    months = _months(period_start, period_end)
    if recurrence == "monthly":
        result = []
        for year, month in months:
            end = _month_end(year, month)
            due = end if deadline is None else end.replace(day=min(deadline.day, end.day))
            result.append(Occurrence(f"{year}-{month:02d}", due, date(year, month, 1)))
        return result
    if recurrence == "quarterly":
        quarters: dict[str, Occurrence] = {}
        for year, month in months:
            quarter = (month - 1) // 3 + 1
            key = f"{year}Q{quarter}"
            if key not in quarters:
                due = _month_end(year, quarter * 3)
                quarters[key] = Occurrence(key, due, max(period_start, date(year, month, 1)))
        return list(quarters.values())
    raise ValueError(f"unknown recurrence {recurrence!r}")


def occurrence_keys(
    recurrence: str, deadline: date | None, period_start: date, period_end: date
) -> list[str]:
    return [o.key for o in occurrences(recurrence, deadline, period_start, period_end)]


def current_occurrence(found: list[Occurrence], done: set[str], today: date) -> Occurrence:
    """The occurrence a report made today is for: this month's (or quarter's) unless it is done
    already, then the earliest open one still missing (an overdue month), else this one."""
    open_now = [o for o in found if o.starts <= today] or found[:1]
    current = open_now[-1]
    if current.key not in done:
        return current
    missing = [o for o in open_now if o.key not in done]
    return missing[0] if missing else current
