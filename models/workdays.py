"""Which days are workdays in China: weekends and public holidays off, 调休 make-up days on.

The chinese-calendar library carries the State Council's schedule, 调休 included, for the years
it covers; for a later year (announced each November, released soon after) the rule-based
statutory holidays of the `holidays` library and the weekends stand in, and the office can add
the announced days in config.toml ([schedule] extra_holidays / extra_workdays).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, timedelta
from functools import cache

import chinese_calendar
import holidays

log = logging.getLogger(__name__)


@cache
def _statutory(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("CN", years=[year]))


@cache
def _warn_fallback(year: int) -> None:
    log.warning("chinese-calendar has no data for %s: using statutory holidays and weekends, "
                "plus [schedule] extra_holidays / extra_workdays", year)


class WorkCalendar:
    def __init__(self, extra_holidays: Iterable[date] = (),
                 extra_workdays: Iterable[date] = ()) -> None:
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_workdays = frozenset(extra_workdays)
        # A tick at 20,000 cadres asks about the same few dozen days for every task: answered
        # once each (the calendar never changes while it lives).
        self._known: dict[date, bool] = {}

    def is_workday(self, day: date) -> bool:
        known = self._known.get(day)
        if known is None:
            known = self._known[day] = self._look_up(day)
        return known

    def _look_up(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            _warn_fallback(day.year)
            return day.weekday() < 5 and day not in _statutory(day.year)

    def workday_on_or_before(self, day: date) -> date:
        while not self.is_workday(day):
            day -= timedelta(days=1)
        return day

    def nth_workday_after(self, day: date, n: int) -> date:
        """The n-th workday after `day` (n >= 1)."""
        found = 0
        while found < n:
            day += timedelta(days=1)
            if self.is_workday(day):
                found += 1
        return day
