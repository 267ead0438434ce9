"""One assessee's score in one period: SCORING.md "One assessee", steps 1 to 9, exactly."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from scoring.errors import ScoringError
from scoring.numbers import Rational, plain
from scoring.policy import DEFAULT_POLICY, DEFAULT_PROFILES, DIMENSIONS, Policy, Profile

HUNDRED = Rational(100)


@dataclass(frozen=True, slots=True)
class TaskInput:
    """One duty item with its approved progress (0-100) and the reviewer's grade."""

    id: str
    category: str
    dimension: str
    weight: Rational
    difficulty: Rational
    progress: Rational
    grade: str | None = None
    boost: Rational | None = None  # None (or 0) means not boosted


@dataclass(frozen=True, slots=True)
class InnovationInput:
    id: str
    points: Rational


@dataclass(frozen=True, slots=True)
class CollaborationInput:
    """A confirmed "1+N" contribution: the led task, this assessee's share, its difficulty."""

    task: str
    share: Rational
    difficulty: Rational


@dataclass(frozen=True, slots=True)
class AssesseeInput:
    tasks: Sequence[TaskInput]
    innovations: Sequence[InnovationInput] = ()
    collaborations: Sequence[CollaborationInput] = ()
    policy: Policy = DEFAULT_POLICY
    profile: Profile = field(default_factory=lambda: DEFAULT_PROFILES["standard"])


@dataclass(frozen=True, slots=True)
class TaskScore:
    share: Rational  # s', the task's weight out of 100 after boosts
    points: Rational
    raw_weight: Rational  # r
    base_share: Rational  # s, before boosts
    quality: Rational  # q = progress x grade factor


@dataclass(frozen=True, slots=True)
class AssesseeScore:
    tasks: Mapping[str, TaskScore]
    base: Rational
    key: Rational  # the key tasks' part of base
    innovation: Rational
    collaboration: Rational
    total: Rational
    difficulty: Rational  # share-weighted mean difficulty, 1 with no tasks


def _outside(value: Rational, low: Rational, high: Rational) -> str:
    return f"{plain(value)} outside [{plain(low)}, {plain(high)}]"


def _boost(task: TaskInput) -> Rational | None:
    return task.boost if task.boost else None


def validate(data: AssesseeInput) -> None:
    """Refuse invalid input with a message naming the item and the field (SCORING.md)."""
    policy = data.policy
    seen: set[str] = set()
    for task in data.tasks:
        where = f"task {task.id}"
        if task.id in seen:
            raise ScoringError(f"{where}: duplicate id")
        seen.add(task.id)
        if task.category not in policy.category_weights:
            raise ScoringError(f"{where}: unknown category {task.category!r}")
        if task.dimension not in DIMENSIONS:
            raise ScoringError(f"{where}: unknown dimension {task.dimension!r}")
        if task.weight <= 0:
            raise ScoringError(f"{where}: weight must be positive")
        low, high = policy.difficulty_range
        if not low <= task.difficulty <= high:
            raise ScoringError(f"{where}: difficulty {_outside(task.difficulty, low, high)}")
        boost = _boost(task)
        if boost is not None:
            if task.dimension != "key":
                raise ScoringError(f"{where}: only key tasks can be boosted")
            low, high = policy.boost_range
            if not low <= boost <= high:
                raise ScoringError(f"{where}: boost {_outside(boost, low, high)}")
        if not 0 <= task.progress <= HUNDRED:
            raise ScoringError(f"{where}: progress {_outside(task.progress, Rational(0), HUNDRED)}")
        if task.grade is not None and task.grade not in policy.grade_factors:
            raise ScoringError(f"{where}: unknown grade {task.grade!r}")
    for item in data.innovations:
        if item.points < 0:
            raise ScoringError(f"innovation {item.id}: points must not be negative")
    for contribution in data.collaborations:
        where = f"collaboration {contribution.task}"
        if not 0 < contribution.share <= 1:
            raise ScoringError(f"{where}: share {plain(contribution.share)} outside (0, 1]")
        low, high = policy.difficulty_range
        if not low <= contribution.difficulty <= high:
            raise ScoringError(
                f"{where}: difficulty {_outside(contribution.difficulty, low, high)}"
            )


def _shares(tasks: Sequence[TaskInput], policy: Policy, profile: Profile) -> dict[str, Rational]:
    """Steps 1-3: raw weights, active categories rescaled to 100, shares within a category."""
    raw = {t.id: _raw_weight(t, policy, profile) for t in tasks}
    raw_by_category: dict[str, Rational] = {}
    for task in tasks:
        raw_by_category[task.category] = raw_by_category.get(task.category, Rational(0)) + raw[
            task.id
        ]
    active = {c: policy.category_weights[c] for c in raw_by_category if policy.category_weights[c]}
    active_total = sum(active.values(), Rational(0))
    shares: dict[str, Rational] = {}
    for task in tasks:
        weight = active.get(task.category, Rational(0))
        if weight == 0:
            shares[task.id] = Rational(0)
            continue
        shares[task.id] = weight * HUNDRED / active_total * raw[task.id] / raw_by_category[
            task.category
        ]
    return shares


def _raw_weight(task: TaskInput, policy: Policy, profile: Profile) -> Rational:
    key_factor = policy.key_factor if task.dimension == "key" else Rational(1)
    return task.weight * key_factor * profile.dimension_factors[task.dimension]


def _boosted(tasks: Sequence[TaskInput], shares: Mapping[str, Rational]) -> dict[str, Rational]:
    """Step 4: boosted key tasks take weight from donors, never more than half of the donors'."""
    boosted = [t for t in tasks if _boost(t) is not None]
    delta = sum((shares[t.id] * (_boost(t) or 0) for t in boosted), Rational(0))
    unboosted = [t for t in tasks if _boost(t) is None]
    donors = [t for t in unboosted if t.dimension == "basic"] or unboosted
    donor_total = sum((shares[t.id] for t in donors), Rational(0))
    result = dict(shares)
    if delta == 0 or donor_total == 0:
        return result  # nothing to move: boosting has no effect
    moved = min(delta, donor_total / 2)
    for task in boosted:
        result[task.id] = shares[task.id] + shares[task.id] * (_boost(task) or 0) * moved / delta
    for task in donors:
        result[task.id] = shares[task.id] - moved * shares[task.id] / donor_total
    return result


def _collaboration(items: Iterable[CollaborationInput], policy: Policy) -> Rational:
    """Step 8. The difficulty's place in the policy's range (0.8-1.2 by default) scales it."""
    rule = policy.collaboration
    low, high = policy.difficulty_range
    span = high - low
    total = Rational(0)
    for item in items:
        position = (item.difficulty - low) / span if span else Rational(1)
        total += rule.min + (rule.max - rule.min) * item.share * position
    return total if rule.cap is None else min(total, rule.cap)


def task_points(task: TaskInput, share: Rational, policy: Policy) -> tuple[Rational, Rational]:
    """Steps 5 and 6 for one task: its quality q and its points s' x q / 100 x k."""
    factor = Rational(1) if task.grade is None else policy.grade_factors[task.grade]
    quality = task.progress * factor
    return quality, share * quality / HUNDRED * task.difficulty


def score_assessee(data: AssesseeInput) -> AssesseeScore:
    """Score one assessee; raises ScoringError on invalid input."""
    validate(data)
    policy, profile = data.policy, data.profile
    base_shares = _shares(data.tasks, policy, profile)
    shares = _boosted(data.tasks, base_shares)
    tasks: dict[str, TaskScore] = {}
    base = key = weighted_difficulty = Rational(0)
    for task in data.tasks:
        quality, points = task_points(task, shares[task.id], policy)
        tasks[task.id] = TaskScore(
            share=shares[task.id],
            points=points,
            raw_weight=_raw_weight(task, policy, profile),
            base_share=base_shares[task.id],
            quality=quality,
        )
        base += points
        if task.dimension == "key":
            key += points
        weighted_difficulty += shares[task.id] * task.difficulty
    share_total = sum(shares.values(), Rational(0))
    difficulty = weighted_difficulty / share_total if share_total else Rational(1)
    claimed = sum((item.points for item in data.innovations), Rational(0))
    innovation = min(policy.innovation_cap, profile.innovation_factor * claimed)
    collaboration = _collaboration(data.collaborations, policy)
    return AssesseeScore(
        tasks=tasks,
        base=base,
        key=key,
        innovation=innovation,
        collaboration=collaboration,
        total=base + innovation + collaboration,
        difficulty=difficulty,
    )


def progress_from_count(actual: Rational, target: Rational) -> Rational:
    """Progress on a numeric target: min(100, 100 x actual / target), never below 0."""
    if target <= 0:
        raise ScoringError(f"target {plain(target)} must be positive")
    return max(Rational(0), min(HUNDRED, HUNDRED * actual / target))


def combined_progress(
    parts: Sequence[tuple[Rational, str | None]],
    count: int,
    grade_factors: Mapping[str, Rational],
) -> Rational:
    """Progress of work done in `count` pieces (occurrences of a recurring task, or the parts of
    a decomposed one): the mean of each piece's progress times its grade factor; a piece with no
    approved report counts 0. The grades are folded in here, so the whole is scored ungraded."""
    if count <= 0:
        return Rational(0)
    total = Rational(0)
    for progress, grade in parts:
        factor = Rational(1) if grade is None else grade_factors[grade]
        total += progress * factor
    return min(HUNDRED, total / count)
