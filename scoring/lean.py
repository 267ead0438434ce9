"""`score_assessee` again for a full recompute: the same exact numbers from plain tuples.

A full recompute scores 800,000 tasks, and the core's per-task Python (a dataclass per task in
and out, validation and steps 1-6 each looking the policy up again) was most of its time.
`score_lean` takes each task as a tuple, the policy and profile folded once (`fold`), and gives
the same exact rationals: tests/scoring/test_lean.py checks it against `score_assessee` on every
case of cases.json and on generated assessees. It scores only what a cadre has (tasks and
innovation claims, no "1+N" collaborations) and answers None for any input the core would
refuse, so the caller falls back to the core, which refuses it with its usual message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from scoring.numbers import Rational
from scoring.policy import DIMENSIONS, Policy, Profile

ZERO = Rational(0)
ONE = Rational(1)
HUNDRED = Rational(100)

# One task: category, dimension, weight, difficulty, progress, grade, boost (None or 0: none).
LeanTask = tuple[str, str, Rational, Rational, Rational, str | None, Rational | None]


@dataclass(frozen=True, slots=True)
class Folded:
    """A policy and a profile, as the per-task steps read them."""

    policy: Policy
    profile: Profile
    raw_factors: Mapping[str, Rational]  # dimension -> key factor x the profile's factor
    grade_factors: Mapping[str | None, Rational]  # None (ungraded) -> 1
    low: Rational  # the difficulty range
    high: Rational


def fold(policy: Policy, profile: Profile) -> Folded:
    raw = {dimension: (policy.key_factor if dimension == "key" else ONE)
           * profile.dimension_factors[dimension] for dimension in DIMENSIONS}
    grades: dict[str | None, Rational] = {None: ONE}
    grades.update(policy.grade_factors)
    low, high = policy.difficulty_range
    return Folded(policy, profile, raw, grades, low, high)


class LeanScore(NamedTuple):
    """AssesseeScore's figures, and per task (in input order) its share, points and quality."""

    shares: list[Rational]
    points: list[Rational]
    qualities: list[Rational]
    base: Rational
    key: Rational
    innovation: Rational
    collaboration: Rational
    total: Rational
    difficulty: Rational


def _valid(folded: Folded, tasks: Sequence[LeanTask], claims: Sequence[Rational]) -> bool:
    """What `validate` accepts (task ids aside: the caller's are a table's keys)."""
    policy = folded.policy
    low, high = folded.low, folded.high
    boost_low, boost_high = policy.boost_range
    categories, dimensions = policy.category_weights, folded.raw_factors
    grades = folded.grade_factors
    for category, dimension, weight, difficulty, progress, grade, boost in tasks:
        if (category not in categories or dimension not in dimensions or weight <= 0
                or not low <= difficulty <= high or not 0 <= progress <= HUNDRED
                or grade not in grades):
            return False
        if boost and (dimension != "key" or not boost_low <= boost <= boost_high):
            return False
    return all(points >= 0 for points in claims)


def score_lean(folded: Folded, tasks: Sequence[LeanTask],
               claims: Sequence[Rational]) -> LeanScore | None:
    """Steps 1-9 of SCORING.md for tasks and innovation claims; None where the core refuses."""
    if not _valid(folded, tasks, claims):
        return None
    policy, raw_factors = folded.policy, folded.raw_factors
    # Steps 1-3: a task's share is its raw weight times one multiplier per category.
    raws = [task[2] * raw_factors[task[1]] for task in tasks]
    by_category: dict[str, Rational] = {}
    for task, raw in zip(tasks, raws, strict=True):
        by_category[task[0]] = by_category.get(task[0], ZERO) + raw
    active = {c: policy.category_weights[c] for c in by_category if policy.category_weights[c]}
    active_total = sum(active.values(), ZERO)
    multiplier = {c: active[c] * HUNDRED / active_total / by_category[c] if c in active else ZERO
                  for c in by_category}
    shares = [raw * multiplier[task[0]] for task, raw in zip(tasks, raws, strict=True)]
    if any(task[6] for task in tasks):
        shares = _boosted(tasks, shares)
    # Steps 5-7: points s' x q / 100 x k, summed as lists (each the same exact value).
    grade_factors = folded.grade_factors
    qualities = [task[4] * grade_factors[task[5]] for task in tasks]
    weighted = [share * task[3] for task, share in zip(tasks, shares, strict=True)]
    points = [part * quality / HUNDRED for part, quality in zip(weighted, qualities, strict=True)]
    base = sum(points, ZERO)
    key = sum((earned for earned, task in zip(points, tasks, strict=True) if task[1] == "key"),
              ZERO)
    weighted_difficulty = sum(weighted, ZERO)
    share_total = sum(shares, ZERO)
    difficulty = weighted_difficulty / share_total if share_total else ONE
    # Steps 8-9: a cadre has no "1+N" contributions, which the core credits as 0 (min 0 and cap).
    innovation = min(policy.innovation_cap, folded.profile.innovation_factor * sum(claims, ZERO))
    collaboration = ZERO
    return LeanScore(shares, points, qualities, base, key, innovation, collaboration,
                     base + innovation + collaboration, difficulty)


def _boosted(tasks: Sequence[LeanTask], shares: list[Rational]) -> list[Rational]:
    """Step 4, as `scoring.assessee._boosted` does it."""
    boosted = [index for index, task in enumerate(tasks) if task[6]]
    unboosted = [index for index, task in enumerate(tasks) if not task[6]]
    delta = sum((shares[index] * (tasks[index][6] or ZERO) for index in boosted), ZERO)
    donors = [index for index in unboosted if tasks[index][1] == "basic"] or unboosted
    donor_total = sum((shares[index] for index in donors), ZERO)
    if delta == 0 or donor_total == 0:
        return shares
    moved = min(delta, donor_total / 2)
    result = list(shares)
    for index in boosted:
        result[index] = shares[index] + shares[index] * (tasks[index][6] or ZERO) * moved / delta
    for index in donors:
        result[index] = shares[index] - moved * shares[index] / donor_total
    return result
