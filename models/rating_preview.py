"""The annual rating as it stands now: each unit's quota and its cadres' provisional grades.

A pure read. Scores are recomputed exactly from the stored facts (as `kaohe check` does) because
SCORING.md breaks ties on the exact base and key points, which the stored 2-decimal standings
do not keep. Each unit rates the cadres of that unit under its own post category's rating
policy and its own difficulty D (the share-weighted mean difficulty of the unit's own tasks; 1
when it has none). A member's id in SCORING.md's order is the cadre's staff code.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from sqlmodel import Session, col, select

from models.access import unit_chain
from models.facts import AssesseeRef, FactsLoader
from models.rules import Rules
from models.tables import Cadre, Period, Unit
from scoring import (
    AssesseeScore,
    MemberStanding,
    RatedMember,
    UnitRating,
    rate_unit,
    round2,
    round_half_up,
    score_assessee,
)
from scoring.ranking import EXCELLENT

# What decided a tie on the 2-decimal total, in SCORING.md's order.
BY_BASE, BY_KEY, BY_CODE = "base", "key", "code"


@dataclass(frozen=True, slots=True)
class RatedCadre:
    cadre_id: int
    code: str
    name: str
    total: Decimal  # 2 decimals, as shown everywhere
    rank: int  # competition rank in the unit
    grade: str  # excellent, competent, basic, incompetent


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
class UnitQuota:
    unit_id: int
    code: str
    name: str
    difficulty: Fraction  # D, exact
    ratio: Fraction  # the excellence ratio from D
    slots: int
    members: tuple[RatedCadre, ...]  # in SCORING.md's order
    tie: BoundaryTie | None

    @property
    def excellent(self) -> int:
        return sum(1 for m in self.members if m.grade == EXCELLENT)


@dataclass(frozen=True, slots=True)
class RatingPreview:
    period_id: int
    units: tuple[UnitQuota, ...]  # in the organisation's tree order

    def grade_of(self, cadre_id: int) -> tuple[UnitQuota, RatedCadre] | None:
        for unit in self.units:
            for member in unit.members:
                if member.cadre_id == cadre_id:
                    return unit, member
        return None


def preview(session: Session, rules: Rules, period: Period) -> RatingPreview:
    """Every unit's quota and its cadres' grades, from the period's stored facts."""
    assert period.id is not None
    loaded = FactsLoader(session, rules, period).load(None)
    scores = {ref: score_assessee(facts.input) for ref, facts in loaded.items()}
    members: dict[int, list[int]] = {}
    for ref, facts in loaded.items():
        if ref.kind == "cadre" and facts.group_unit_id is not None:
            members.setdefault(facts.group_unit_id, []).append(ref.id)
    cadre_ids = [i for ids in members.values() for i in ids]
    cadres = {c.id: c for c in session.exec(select(Cadre).where(col(Cadre.id).in_(cadre_ids)))}
    found = session.exec(select(Unit).where(col(Unit.id).in_(list(members)))).all()
    units = sorted(found, key=unit_chain)
    quotas = []
    for unit in units:
        assert unit.id is not None
        own = scores.get(AssesseeRef.unit(unit.id))
        difficulty = own.difficulty if own is not None else Fraction(1)
        people = [cadres[i] for i in members[unit.id]]
        quotas.append(_rate(unit, difficulty, people, scores, rules))
    return RatingPreview(period.id, tuple(quotas))


def _rate(unit: Unit, difficulty: Fraction, people: list[Cadre],
          scores: dict[AssesseeRef, AssesseeScore], rules: Rules) -> UnitQuota:
    by_code = {c.code: c for c in people}
    standings = {}
    for cadre in people:
        score = scores[AssesseeRef.cadre(cadre.id or 0)]
        standings[cadre.code] = MemberStanding(cadre.code, score.total, score.base, score.key)
    rating = rate_unit(list(standings.values()), difficulty,
                       rules.policy(unit.post_category).rating)
    rated = tuple(_shown(by_code[m.id], m) for m in rating.members)
    return UnitQuota(unit.id or 0, unit.code, unit.name, difficulty, rating.ratio, rating.slots,
                     rated, _boundary_tie(rating, rated, standings))


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
