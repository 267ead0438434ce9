"""Ranks within a unit and the annual grades: SCORING.md "Ranks and annual grades"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import floor

from scoring.numbers import Rational, round2
from scoring.policy import RatingPolicy

EXCELLENT, COMPETENT, BASIC, INCOMPETENT = "excellent", "competent", "basic", "incompetent"
GRADES = (EXCELLENT, COMPETENT, BASIC, INCOMPETENT)


@dataclass(frozen=True, slots=True)
class MemberStanding:
    id: str
    total: Rational
    base: Rational
    key: Rational


@dataclass(frozen=True, slots=True)
class RankedMember:
    id: str
    rank: int  # competition rank on the 2-decimal total: 1, 2, 2, 4
    position: int  # 1-based place in the order, unique


@dataclass(frozen=True, slots=True)
class RatedMember:
    id: str
    total: Rational
    rank: int
    grade: str


@dataclass(frozen=True, slots=True)
class UnitRating:
    ratio: Rational
    slots: int
    members: tuple[RatedMember, ...]  # in rank order


def ordered(members: Sequence[MemberStanding]) -> list[MemberStanding]:
    """Total (2 decimals) descending, then exact base, then exact key points, then id."""
    return sorted(members, key=lambda m: (-round2(m.total), -m.base, -m.key, m.id))


def rank_members(members: Sequence[MemberStanding]) -> list[RankedMember]:
    ranked: list[RankedMember] = []
    previous = None
    rank = 0
    for position, member in enumerate(ordered(members), start=1):
        shown = round2(member.total)
        if shown != previous:
            rank, previous = position, shown
        ranked.append(RankedMember(member.id, rank, position))
    return ranked


def excellence_ratio(rating: RatingPolicy, difficulty: Rational) -> Rational:
    """20 % at D <= 1.0 rising linearly to 40 % at D = 1.2 (with the default policy)."""
    lift = min(Rational(1), max(Rational(0), (difficulty - 1) / Rational(1, 5)))
    return rating.base_ratio + (rating.max_ratio - rating.base_ratio) * lift


def excellence_slots(rating: RatingPolicy, difficulty: Rational,
                     members: int) -> tuple[Rational, int]:
    """The excellence ratio at D and how many of `members` rated members it lets be 优秀."""
    ratio = excellence_ratio(rating, difficulty)
    return ratio, int(floor(ratio * members))  # noqa: RUF046 -- gmpy2 floors to its mpz


def rate_unit(
    members: Sequence[MemberStanding], difficulty: Rational, rating: RatingPolicy
) -> UnitRating:
    """Annual grades of a unit's members; `difficulty` is the unit's own difficulty D."""
    ratio, slots = excellence_slots(rating, difficulty, len(members))
    by_id = {m.id: m for m in members}
    remaining = slots
    rated: list[RatedMember] = []
    for ranked in rank_members(members):
        total = by_id[ranked.id].total
        shown = Rational(round2(total))  # the 2-decimal total decides, as people see it
        if remaining > 0 and shown >= rating.excellent_min:
            grade = EXCELLENT
            remaining -= 1
        elif shown >= rating.competent_min:
            grade = COMPETENT
        elif shown >= rating.basic_min:
            grade = BASIC
        else:
            grade = INCOMPETENT
        rated.append(RatedMember(ranked.id, total, ranked.rank, grade))
    return UnitRating(ratio=ratio, slots=slots, members=tuple(rated))
