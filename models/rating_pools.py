"""Rating pools 评定池: who is rated together under one excellence quota (docs/rating.md).

Rated unit by unit, a unit of 3-4 people gets floor(0.2 x 4) = 0 excellence places, so its best
cadre can never be 优秀. Offices pool small units:

- a pool is a unit marked so in the roster (`Unit.rating_pool` True, column 评定池 = 是); one
  marked 否 (False) is not; unmarked (None), each unit directly below a root (the city) is one.
  A root is the pool of last resort for the cadres no pool below it holds;
- a pool holds every active cadre of its subtree, except the subtrees of pools nested in it;
- its difficulty D is the share-weighted mean difficulty of the tasks of its units (the pool
  unit's own and its sub-units', nested pools' excluded): sum of s'.k over sum of s' over all
  those tasks, 1 when there are none -- SCORING.md's unit difficulty, with the pool for the unit;
- the scoring core's `rate_unit` rates the pool's members with that D, under the rating policy
  of the pool unit's post category; the core is unchanged, the pool decides who the members are;
- a cadre with no task in the period is not rated: listed 未参评 with the reason (`no_tasks`).

For features that show "the 优秀 line":

    pool_of(session: Session, rules: Rules, period: Period, cadre_id: int) -> PoolQuota | None
        The pool the cadre is rated in, with its members (rated, in SCORING.md's order, and
        not rated), D, ratio and slots, as the facts stand now; None for no such active cadre.
        Loads only that pool's facts.
    excellence_line(pool: PoolQuota) -> Decimal | None
        The 2-decimal total of the last member inside the quota today (the `slots`-th of the
        order); None when the pool has no slot. 优秀 also needs pool.excellent_min (90).

Member ids in SCORING.md's order are staff codes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from sqlalchemy import BigInteger, and_, exists, type_coerce
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from models.access import Pathed, unit_chain
from models.facts import AssesseeFacts, AssesseeRef, FactsLoader
from models.rules import Rules
from models.tables import Cadre, Period, Standing, Task, Unit
from scoring import (
    AssesseeScore,
    MemberStanding,
    RatedMember,
    Rational,
    UnitRating,
    excellence_slots,
    rate_unit,
    round2,
    round_half_up,
    score_assessee,
)
from scoring.ranking import EXCELLENT, ordered

# What decided a tie on the 2-decimal total, in SCORING.md's order.
BY_BASE, BY_KEY, BY_CODE = "base", "key", "code"
NO_TASKS = "no_tasks"  # why a cadre is not rated
NOT_RATED = "not_rated"  # 未参评, where a grade would be shown


@dataclass(frozen=True, slots=True)
class RatedCadre:
    cadre_id: int
    code: str
    name: str
    total: Decimal  # 2 decimals, as shown everywhere
    rank: int  # competition rank in the pool
    grade: str  # excellent, competent, basic, incompetent


@dataclass(frozen=True, slots=True)
class NotRated:
    """A cadre of the pool who is not rated (未参评), and why (NO_TASKS)."""

    cadre_id: int
    code: str
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class BoundaryTie:
    """Members tied on the 2-decimal total across the last excellence slot."""

    total: Decimal
    inside: tuple[RatedCadre, ...]  # got an excellence slot
    outside: tuple[RatedCadre, ...]  # did not, only for want of a slot
    decided_by: str  # BY_BASE, BY_KEY or BY_CODE: what set the last one in before the first out
    inside_value: str  # that criterion's value for the last one in, and the first one out
    outside_value: str


@dataclass(frozen=True, slots=True)
class PoolQuota:
    """One pool: its unit, the units it holds, D, the quota, and its cadres."""

    unit_id: int  # the pool unit
    code: str
    name: str
    unit_names: tuple[str, ...]  # every unit it holds, the pool unit first, in tree order
    difficulty: Fraction  # D, exact
    ratio: Fraction  # the excellence ratio from D
    slots: int
    excellent_min: Fraction  # the policy's threshold for 优秀
    members: tuple[RatedCadre, ...]  # the rated, in SCORING.md's order
    not_rated: tuple[NotRated, ...]  # 未参评, by staff code
    tie: BoundaryTie | None

    @property
    def excellent(self) -> int:
        return sum(1 for m in self.members if m.grade == EXCELLENT)


def excellence_line(pool: PoolQuota) -> Decimal | None:
    """The total of the last member inside the quota today; None with no slot (see above)."""
    if pool.slots == 0 or not pool.members:
        return None
    return pool.members[min(pool.slots, len(pool.members)) - 1].total


# -- who is in which pool ---------------------------------------------------------------------


class Placed(Pathed, Protocol):
    """A unit, or a row of the columns that place it in a pool."""

    @property
    def id(self) -> int | None: ...

    @property
    def rating_pool(self) -> bool | None: ...


def is_pool(unit: Placed) -> bool:
    """Marked in the roster, or by default a unit directly below a root; a root always is."""
    depth = len(unit_chain(unit))
    if depth <= 1:
        return True
    return unit.rating_pool if unit.rating_pool is not None else depth == 2


def pool_map(units: Iterable[Placed]) -> dict[int, int]:
    """Each unit's id -> the id of the pool it belongs to: itself or its nearest pool above."""
    by_id = {u.id: u for u in units}
    pools = {i for i, u in by_id.items() if is_pool(u)}
    found: dict[int, int] = {}
    for unit_id, unit in by_id.items():
        chain = unit_chain(unit)
        found[unit_id or 0] = next(
            (i for i in reversed(chain) if i in pools), chain[0] if chain else unit_id or 0)
    return found


def pooled_difficulty(scores: Iterable[AssesseeScore]) -> Fraction:
    """D of a pool from its units' scores: sum of s'.k over sum of s' across all their tasks."""
    weighted = shares = Rational(0)
    for score in scores:
        total = sum((t.share for t in score.tasks.values()), Rational(0))
        weighted += score.difficulty * total  # a unit's D is its sum s'.k over sum s'
        shares += total
    return weighted / shares if shares else Rational(1)


# -- rating one pool --------------------------------------------------------------------------


def rate_pool(pool: Unit, units: list[Unit], cadres: list[Cadre],
              loaded: Mapping[AssesseeRef, AssesseeFacts],
              scores: Mapping[AssesseeRef, AssesseeScore], rules: Rules) -> PoolQuota:
    """The pool's D, quota and grades; `units` are the units it holds, `cadres` its active
    cadres, `loaded`/`scores` their facts and exact scores (units without facts have no task)."""
    own_scores = [scores[AssesseeRef.unit(u.id or 0)] for u in units
                  if AssesseeRef.unit(u.id or 0) in scores]
    difficulty = pooled_difficulty(own_scores)
    rated, skipped = [], []
    for cadre in sorted(cadres, key=lambda c: c.code):
        facts = loaded.get(AssesseeRef.cadre(cadre.id or 0))
        if facts is None or not facts.input.tasks:
            skipped.append(NotRated(cadre.id or 0, cadre.code, cadre.name, NO_TASKS))
        else:
            rated.append(cadre)
    policy = rules.policy(pool.post_category).rating
    by_code = {c.code: c for c in rated}
    standings = {}
    for cadre in rated:
        score = scores[AssesseeRef.cadre(cadre.id or 0)]
        standings[cadre.code] = MemberStanding(cadre.code, score.total, score.base, score.key)
    rating = rate_unit(list(standings.values()), difficulty, policy)
    members = tuple(_shown(by_code[m.id], m) for m in rating.members)
    return PoolQuota(pool.id or 0, pool.code, pool.name,
                     tuple(u.name for u in sorted(units, key=unit_chain)), difficulty,
                     rating.ratio, rating.slots, policy.excellent_min,
                     members, tuple(skipped), _boundary_tie(rating, members, standings))


def pool_of(session: Session, rules: Rules, period: Period, cadre_id: int) -> PoolQuota | None:
    """The pool this active cadre is rated in this period, as it stands now (see above)."""
    cadre = session.get(Cadre, cadre_id)
    if cadre is None or not cadre.active:
        return None
    return pools_of(session, rules, period, [cadre.unit_id])[cadre.unit_id]


def pools_of(session: Session, rules: Rules, period: Period, unit_ids: Iterable[int]
             ) -> dict[int, PoolQuota]:
    """The pool of each of these units, each pool rated once (the digests ask for many)."""
    all_units = list(session.exec(select(Unit)).all())
    pools = pool_map(all_units)
    rated: dict[int, PoolQuota] = {}
    for pool_id in sorted({pools[unit_id] for unit_id in unit_ids}):
        units = [u for u in all_units if pools[u.id or 0] == pool_id]
        cadres = list(session.exec(select(Cadre).where(
            col(Cadre.unit_id).in_([u.id for u in units]), col(Cadre.active))).all())
        refs = [AssesseeRef.cadre(c.id or 0) for c in cadres] + \
            [AssesseeRef.unit(u.id or 0) for u in units]
        loaded = FactsLoader(session, rules, period).load(refs)
        scores = {ref: score_assessee(facts.input) for ref, facts in loaded.items()}
        pool = next(u for u in all_units if u.id == pool_id)
        rated[pool_id] = rate_pool(pool, units, cadres, loaded, scores, rules)
    return {unit_id: rated[pools[unit_id]] for unit_id in unit_ids}


# -- the line from the stored standings --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PoolLine:
    """A pool's quota and 优秀 line today, as `rate_pool` would give them (see pool_lines)."""

    unit_id: int
    name: str
    difficulty: Fraction  # D, exact
    ratio: Fraction
    slots: int
    excellent_min: Fraction
    hundredths: Mapping[int, int]  # rated member's cadre id -> total in hundredths, as stored
    line: Decimal | None  # as excellence_line
    excellent: frozenset[int]  # cadre ids inside the quota today

    @property
    def members(self) -> int:
        return len(self.hundredths)

    def total_of(self, cadre_id: int) -> Decimal | None:
        """The rated member's 2-decimal total (None: not rated in this pool)."""
        found = self.hundredths.get(cadre_id)
        return None if found is None else _total(found)

    @property
    def totals(self) -> dict[int, Decimal]:
        return {cadre_id: _total(h) for cadre_id, h in self.hundredths.items()}


def _total(hundredths: int) -> Decimal:
    return Decimal(hundredths).scaleb(-2)  # as models/types.py Scaled(2) reads it back


def pool_lines(session: Session, rules: Rules, period: Period, unit_ids: Iterable[int]
               ) -> dict[int, PoolLine]:
    """The pool of each of these units, from stored standings (see the module doc).

    Why it equals `rate_pool`: SCORING.md orders members by the 2-decimal total first, which is
    what a standing stores, so the `slots`-th total of the order is the `slots`-th largest
    stored total, and the members above it are inside. Only members tied on that total across
    the boundary need the exact base and key points: those few are scored from their facts.
    The rated members are the active cadres with a task this period (as the facts loader
    sees them); D needs the pool units' task shares only. Only a cadre with no standing yet
    (given tasks, not scored since) is scored from facts."""
    all_units = [_UnitRow(*row) for row in session.execute(sa_select(
        col(Unit.id), col(Unit.path), col(Unit.rating_pool), col(Unit.name),
        col(Unit.post_category))).all()]  # plain rows: a city has hundreds of units
    pools = pool_map(all_units)
    wanted = {pools[unit_id] for unit_id in unit_ids}
    held = {u.id or 0: pools[u.id or 0] for u in all_units if pools[u.id or 0] in wanted}
    has_task = exists().where(col(Task.period_id) == period.id, col(Task.cadre_id) == Cadre.id)
    # The totals as stored (hundredths): a city's 20,000 need no conversion to compare.
    rows = session.execute(
        sa_select(col(Cadre.id), col(Cadre.unit_id),
                  type_coerce(col(Standing.total), BigInteger))
        .outerjoin(Standing, and_(col(Standing.cadre_id) == Cadre.id,
                                  col(Standing.period_id) == period.id))
        .where(col(Cadre.active), col(Cadre.unit_id).in_(held), has_task)
    ).all()
    # A cadre given tasks and not scored since has no standing yet: scored here.
    unscored = _scored(session, rules, period, [row[0] for row in rows if row[2] is None])
    members: dict[int, list[tuple[int, int]]] = {pool_id: [] for pool_id in wanted}
    for cadre_id, unit_id, total in rows:
        members[held[unit_id]].append(
            (cadre_id, int(unscored[cadre_id].scaleb(2)) if total is None else total))
    loader = FactsLoader(session, rules, period)
    unit_scores: dict[int, list[AssesseeScore]] = {pool_id: [] for pool_id in wanted}
    for ref, facts in loader.load([AssesseeRef.unit(unit_id) for unit_id in held]).items():
        if facts.input.tasks:  # a unit without tasks adds no share to D
            unit_scores[held[ref.id]].append(score_assessee(facts.input))
    by_id = {u.id: u for u in all_units}
    found = {}
    for pool_id in sorted(wanted):
        difficulty = pooled_difficulty(unit_scores[pool_id])
        found[pool_id] = _line_of(session, rules, period, by_id[pool_id], difficulty,
                                  members[pool_id])
    return {unit_id: found[pools[unit_id]] for unit_id in unit_ids}


def _scored(session: Session, rules: Rules, period: Period,
            cadre_ids: list[int]) -> dict[int, Decimal]:
    """The 2-decimal totals of these cadres from their facts."""
    if not cadre_ids:
        return {}
    loaded = FactsLoader(session, rules, period).load(
        [AssesseeRef.cadre(cadre_id) for cadre_id in cadre_ids])
    return {ref.id: round2(score_assessee(facts.input).total) for ref, facts in loaded.items()}


@dataclass(frozen=True, slots=True)
class _UnitRow:
    id: int
    path: str
    rating_pool: bool | None
    name: str
    post_category: str


def _line_of(session: Session, rules: Rules, period: Period, pool: _UnitRow,
             difficulty: Fraction, members: list[tuple[int, int]]) -> PoolLine:
    policy = rules.policy(pool.post_category).rating
    ratio, slots = excellence_slots(policy, difficulty, len(members))
    totals = sorted((total for _, total in members), reverse=True)
    line = _total(totals[min(slots, len(totals)) - 1]) if slots and totals else None
    # 优秀: the first `slots` of the order that reach the threshold (a prefix of the order).
    given = 0
    while given < min(slots, len(totals)) and (
            Rational(totals[given], 100) >= policy.excellent_min):
        given += 1
    excellent: set[int] = set()
    if given:
        last = totals[given - 1]
        excellent = {cadre_id for cadre_id, total in members if total > last}
        tied = [cadre_id for cadre_id, total in members if total == last]
        excellent |= _first_of_tied(session, rules, period, tied, given - len(excellent))
    return PoolLine(pool.id, pool.name, difficulty, ratio, slots, policy.excellent_min,
                    dict(members), line, frozenset(excellent))


def _first_of_tied(session: Session, rules: Rules, period: Period,
                   tied: list[int], places: int) -> set[int]:
    """The `places` members first in SCORING.md's order among these cadres, tied on the
    2-decimal total: their exact base and key points decide (then the staff code)."""
    if places >= len(tied):
        return set(tied)
    loaded = FactsLoader(session, rules, period).load(
        [AssesseeRef.cadre(cadre_id) for cadre_id in tied])
    codes = dict(session.execute(
        sa_select(col(Cadre.id), col(Cadre.code)).where(col(Cadre.id).in_(tied))).all())
    standings = []
    for cadre_id in tied:
        score = score_assessee(loaded[AssesseeRef.cadre(cadre_id)].input)
        standings.append(MemberStanding(codes[cadre_id], score.total, score.base, score.key))
    first = {m.id for m in ordered(standings)[:places]}
    return {cadre_id for cadre_id in tied if codes[cadre_id] in first}


def _shown(cadre: Cadre, member: RatedMember) -> RatedCadre:
    return RatedCadre(cadre.id or 0, cadre.code, cadre.name, round2(member.total), member.rank,
                      member.grade)


def _boundary_tie(rating: UnitRating, rated: tuple[RatedCadre, ...],
                  standings: dict[str, MemberStanding]) -> BoundaryTie | None:
    """A tie only matters where the quota, not the excellence threshold, drew the line: the
    excellent members are a prefix of the order, as many as there are slots, and the next
    member has the same 2-decimal total as the last of them."""
    given = sum(1 for m in rated if m.grade == EXCELLENT)
    if given == 0 or given < rating.slots or given == len(rated):
        return None
    last_in, first_out = rated[given - 1], rated[given]
    if last_in.total != first_out.total:
        return None
    tied = [m for m in rated if m.total == last_in.total]
    decided, inside_value, outside_value = _decider(standings[last_in.code],
                                                    standings[first_out.code])
    return BoundaryTie(last_in.total, tuple(m for m in tied if m.grade == EXCELLENT),
                       tuple(m for m in tied if m.grade != EXCELLENT), decided,
                       inside_value, outside_value)


def _decider(last_in: MemberStanding, first_out: MemberStanding) -> tuple[str, str, str]:
    """What set `last_in` before `first_out` (SCORING.md: exact base, exact key points, id),
    with both values; four decimals, as the exact parts may differ below the hundredth."""
    if last_in.base != first_out.base:
        return BY_BASE, str(round_half_up(last_in.base, 4)), str(round_half_up(first_out.base, 4))
    if last_in.key != first_out.key:
        return BY_KEY, str(round_half_up(last_in.key, 4)), str(round_half_up(first_out.key, 4))
    return BY_CODE, last_in.id, first_out.id
