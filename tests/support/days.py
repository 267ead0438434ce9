"""The days an equivalence test checks a period on: the day before it and after it, and in every
month from its start to a month past its end the first, the 10th, a middle day and the 28th
(month ends and deadlines fall around them)."""

from __future__ import annotations

from datetime import date, timedelta

from models.tables import Period


def checked_days(period: Period, middle: int = 14) -> list[date]:
    """`middle`: days after the first of the month for the middle day."""
    days = {period.starts_on - timedelta(days=1), period.ends_on + timedelta(days=1)}
    day = period.starts_on
    while day <= period.ends_on + timedelta(days=31):
        days |= {day, day + timedelta(days=9), day + timedelta(days=middle),
                 day + timedelta(days=27)}
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)  # the next month
    return sorted(days)
