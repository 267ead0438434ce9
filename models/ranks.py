"""Ranks: where an assessee stands in its unit and in its post category, counted on read.

The one place ranks come from. They are not stored: a stored competition rank makes an
approval worth two points at 20,000 cadres rewrite the ranks of the ~1,900 people it passes.
Counted instead from `standing.total` through the partial indexes on (period, group, total),
one per kind of assessee (models/tables.py), which the counts read without the table:

- one assessee (`ranks_of`): two COUNTs (one statement) of the group's members with a higher total;
- many (`RankBook`): per group, how many members hold each total (one GROUP BY per kind of
  group, a few thousand rows for a post category of 13,000), then each rank is a lookup.
  Readers that show a whole unit, a batch of digests or the whole period use this, so their
  cost does not grow by a query per person;
- a digest run's batches (`PostSnapshots`): every member's total of a post category, kept
  for a minute and shared by the batches that follow, under a rule that keeps each rank shown
  true of the total shown beside it (see there).

Competition ranking, as scoring.rank_members: 1 + the number of members of the group with a
higher 2-decimal total (ties share a rank, the next rank skips). Stored totals are already
rounded to 2 places, so comparing them is comparing what people see.
"""

import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from itertools import accumulate
from threading import Lock
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import BigInteger, ColumnElement, bindparam, false, func, or_, type_coerce
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from models import raw
from models.tables import Standing

CADRE, UNIT = "cadre", "unit"


@dataclass(frozen=True, slots=True)
class Ranks:
    in_unit: int
    in_post: int


def kind_filter(kind: str, table: Any = Standing) -> ColumnElement[bool]:
    """Standings of one kind of assessee (of `table`, or an alias of it); also what makes the
    partial rank indexes usable."""
    owner = table.cadre_id if kind == CADRE else table.unit_id
    return col(owner).is_not(None)


def kind_of(standing: Any) -> str:
    """The kind of assessee of a standing (an ORM row or a plain row with cadre_id)."""
    return CADRE if standing.cadre_id is not None else UNIT


def ranks_of(session: Session, period_id: int, kind: str, group_unit_id: int | None,
             post_category: str, total: Decimal) -> Ranks:
    """The ranks a total has in these groups: two index-only COUNTs in one statement (one
    round trip, which on PostgreSQL costs more than either count)."""
    in_unit, in_post = session.execute(_ranks_statement(kind, group_unit_id is None), {
        "period": period_id, "unit": group_unit_id, "post": post_category, "total": total,
    }).one()
    return Ranks(1 + in_unit, 1 + in_post)


@lru_cache(maxsize=4)
def _ranks_statement(kind: str, no_unit: bool) -> Any:
    """ranks_of's statement, built once per kind of assessee and unit group (parameters:
    period, unit, post, total)."""
    unit_group = (col(Standing.group_unit_id).is_(None) if no_unit
                  else col(Standing.group_unit_id) == bindparam("unit"))
    return sa_select(*(
        sa_select(func.count()).select_from(Standing)
        .where(col(Standing.period_id) == bindparam("period"), kind_filter(kind), group,
               col(Standing.total) > bindparam("total")).scalar_subquery()
        for group in (unit_group, col(Standing.post_category) == bindparam("post"))))


# Totals as stored (integers scaled by 100, models/types.py): a post category's histogram is
# thousands of rows per batch of digests, read without making a Decimal of each.
_TOTAL: Any = Standing.__table__.c.total  # type: ignore[attr-defined]


def _scaled(total: Decimal) -> int:
    stored: int = _TOTAL.type.process_bind_param(total, None)
    return stored


class _Counts:
    """One group's totals (as stored), ascending, and how many members hold each total or a
    higher one."""

    __slots__ = ("at_or_above", "totals")

    def __init__(self, histogram: list[tuple[int, int]]) -> None:
        histogram.sort()
        self.totals = [total for total, _ in histogram]
        # Summed from the top; the last entry (above every member) is 0.
        above = list(accumulate((count for _, count in reversed(histogram)), initial=0))
        self.at_or_above = above[::-1]

    def rank(self, total: Decimal) -> int:
        return 1 + self.above(_scaled(total))

    def above(self, stored: int) -> int:
        """How many members hold a higher total than this one (as stored)."""
        return self.at_or_above[bisect_right(self.totals, stored)]


class RankBook:
    """Ranks for many assessees of one period and one kind, read in a few queries.

    `units` and `posts` name the groups it will be asked about (None: every group of the
    period). Asked about a group it has not read, it raises KeyError.
    """

    def __init__(self, session: Session, period_id: int, kind: str, *,
                 units: Iterable[int | None] | None = None,
                 posts: Iterable[str] | None = None) -> None:
        base = (col(Standing.period_id) == period_id, kind_filter(kind))
        unit = col(Standing.group_unit_id)
        post = col(Standing.post_category)
        if units is None:
            self._units = _histograms(session, unit, *base)
        else:  # units are small: one query for all of them
            wanted = set(units)
            self._units = _histograms(session, unit, *base, or_(
                unit.in_([u for u in wanted if u is not None]),
                unit.is_(None) if None in wanted else false()))
        if posts is None:
            self._posts = _histograms(session, post, *base)
        else:
            # One query per post category, grouped by total alone: grouped by category too,
            # SQLite took 9-20 ms for a category of 13,000 cadres, against 1.3 ms so.
            self._posts = {name: _histogram(session, *base, post == name)
                           for name in set(posts)}

    def ranks(self, group_unit_id: int | None, post_category: str, total: Decimal) -> Ranks:
        return Ranks(self.in_unit(group_unit_id, total), self.in_post(post_category, total))

    def in_unit(self, group_unit_id: int | None, total: Decimal) -> int:
        return self._units[group_unit_id].rank(total)

    def in_post(self, post_category: str, total: Decimal) -> int:
        return self._posts[post_category].rank(total)


def _histogram(session: Session, *where: ColumnElement[bool]) -> _Counts:
    """How many members of one group hold each total."""
    stored = type_coerce(_TOTAL, BigInteger)
    return _Counts(raw.rows(session, sa_select(stored, func.count()).where(*where)
                            .group_by(stored).order_by(stored)))


def _histograms(session: Session, group: Any, *where: ColumnElement[bool]) -> dict[Any, _Counts]:
    """Per group, how many members hold each total: the group's index read in order."""
    found: dict[Any, list[tuple[int, int]]] = {}
    stored = type_coerce(_TOTAL, BigInteger)
    for name, total, count in raw.rows(
            session, sa_select(group, stored, func.count()).where(*where).group_by(group, stored)):
        found.setdefault(name, []).append((total, count))
    return {name: _Counts(histogram) for name, histogram in found.items()}


SNAPSHOT_SECONDS = 60.0  # how long a post category's snapshot serves later batches


@dataclass(frozen=True, slots=True)
class _Snapshot:
    read_at: float
    totals: dict[int, int]  # cadre id -> stored total, every member of the category
    counts: _Counts


# Per database (its engine), per (period, post category).
_KEPT: WeakKeyDictionary[Engine, dict[tuple[int, str], _Snapshot]] = WeakKeyDictionary()
_KEPT_LOCK = Lock()


class PostSnapshots:
    """The cadres' ranks in their post categories for a digest run, batch after batch.

    A batch of 50 digests needs the post ranks of 50 cadres, but a post category holds some
    13,000 at 20,000 cadres: reading its histogram for every batch was a third of a run's
    time. So each category's totals (every member's, one plain query) are kept per database
    for SNAPSHOT_SECONDS and reused by the batches that follow, on one condition, checked
    per cadre: the snapshot holds that cadre, in that category, with the very total the
    batch read for them (the total the digest shows). Otherwise the category is read again.
    So the total and the rank a digest shows are always a pair that held at one moment, the
    snapshot's: the rank is the place that total had among everyone then. What a snapshot can
    miss is other people moving during that minute, as a digest rendered a minute earlier
    would have; a digest's own total is never older than its batch.
    """

    def __init__(self, session: Session, period_id: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.session, self.period_id, self.clock = session, period_id, clock
        with _KEPT_LOCK:
            self._kept = _KEPT.setdefault(session.get_bind(), {})  # type: ignore[arg-type]

    def ranks(self, members: Iterable[tuple[int, str, Decimal]]) -> dict[int, int]:
        """Per cadre (id, post category, total as the batch read it), its rank in the
        category."""
        wanted = [(cadre_id, post, _scaled(total)) for cadre_id, post, total in members]
        stale = {post for cadre_id, post, total in wanted
                 if not self._holds(post, cadre_id, total)}
        for post in stale:
            self._kept[(self.period_id, post)] = self._read(post)
        return {cadre_id: 1 + self._kept[(self.period_id, post)].counts.above(total)
                for cadre_id, post, total in wanted}

    def _holds(self, post: str, cadre_id: int, total: int) -> bool:
        kept = self._kept.get((self.period_id, post))
        return (kept is not None and self.clock() - kept.read_at < SNAPSHOT_SECONDS
                and kept.totals.get(cadre_id) == total)

    def _read(self, post: str) -> _Snapshot:
        read_at = self.clock()
        totals = dict(raw.rows(self.session, sa_select(col(Standing.cadre_id), _TOTAL).where(
            col(Standing.period_id) == self.period_id, kind_filter(CADRE),
            col(Standing.post_category) == post)))
        return _Snapshot(read_at, totals, _Counts(list(Counter(totals.values()).items())))


class RankedStanding:
    """A stored standing with its ranks, counted when it was read; reads like the Standing
    (total, base, breakdown, ...) for the pages that show one person's score."""

    __slots__ = ("rank_in_post", "rank_in_unit", "standing")

    def __init__(self, standing: Standing, ranks: Ranks) -> None:
        self.standing = standing
        self.rank_in_unit = ranks.in_unit
        self.rank_in_post = ranks.in_post

    def __getattr__(self, name: str) -> Any:
        return getattr(self.standing, name)


def ranked(session: Session, standing: Standing) -> RankedStanding:
    """One standing with its two ranks (two index-only counts)."""
    return RankedStanding(standing, ranks_of(
        session, standing.period_id, kind_of(standing), standing.group_unit_id,
        standing.post_category, standing.total))
