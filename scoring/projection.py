"""Projections: an assessee's score with one task's work replaced, exactly (issue 15).

What 提分建议 and /whatif show is computed here and only here: the assessee's input with one
task's progress and grade changed goes through `score_assessee` whole, so weights rescaled
across categories, boosts, difficulty and the profile all act as SCORING.md says.

A recurring task is reported in pieces (its occurrences); changing "the task" means changing
one piece, the one a report made today would be for, while the other pieces keep what was
approved for them: the task's progress is then `combined_progress` of all its pieces, as the
facts loader computes it for the real score.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from scoring.assessee import (
    HUNDRED,
    AssesseeInput,
    AssesseeScore,
    TaskInput,
    combined_progress,
    score_assessee,
    task_points,
)
from scoring.errors import ScoringError
from scoring.numbers import Rational, plain, round2

BEST_GRADE = "A"


@dataclass(frozen=True, slots=True)
class Change:
    """One task's work as it might be: `progress` (0-100) at `grade`.

    For a task done in pieces (a recurring task's occurrences), `pieces` is how many there are
    and `others` the approved (progress, grade) of every other piece; the change is to the
    remaining one.
    """

    task: str
    progress: Rational
    grade: str | None
    pieces: int = 1
    others: tuple[tuple[Rational, str | None], ...] = ()


@dataclass(frozen=True, slots=True)
class Projection:
    change: Change
    total: Rational  # the projected total, exact
    gain: Rational  # total - the current total, exact


def _changed_task(task: TaskInput, change: Change, data: AssesseeInput) -> TaskInput:
    grade_factors = data.policy.grade_factors
    if change.grade is not None and change.grade not in grade_factors:
        raise ScoringError(f"task {change.task}: unknown grade {change.grade!r}")
    if not 0 <= change.progress <= HUNDRED:
        raise ScoringError(f"task {change.task}: progress {plain(change.progress)} outside "
                           "[0, 100]")
    if change.pieces <= 1:
        return replace(task, progress=change.progress, grade=change.grade)
    pieces = (*change.others, (change.progress, change.grade))
    progress = combined_progress(pieces, change.pieces, grade_factors)
    return replace(task, progress=progress, grade=None)  # grades folded in, as the facts do


def changed_input(data: AssesseeInput, change: Change) -> AssesseeInput:
    """The assessee's input with `change` applied; ScoringError for an unknown task, a grade
    the policy does not know or a progress outside [0, 100]."""
    changed = _changed_task(_task(data, change.task), change, data)
    return replace(data, tasks=tuple(changed if t.id == change.task else t for t in data.tasks))


def project(data: AssesseeInput, change: Change,
            current: AssesseeScore | None = None) -> Projection:
    """The assessee's total with `change` applied, and its gain over the current total.

    With the current score given, only the changed task is rescored: a task's share (steps
    1-4) reads no progress and no grade, so the change moves that task's points and nothing
    else, and the projected total is the current one with those points swapped, exactly as
    scoring the changed input whole gives (tests/insight check both ways). Without it, the
    changed input is scored whole.
    """
    if current is None:
        now, score = score_assessee(data), score_assessee(changed_input(data, change))
        return Projection(change, score.total, score.total - now.total)
    task = _changed_task(_task(data, change.task), change, data)
    before = current.tasks[change.task]
    _, points = task_points(task, before.share, data.policy)
    total = current.total - before.points + points
    return Projection(change, total, total - current.total)


def _task(data: AssesseeInput, task_id: str) -> TaskInput:
    for task in data.tasks:
        if task.id == task_id:
            return task
    raise ScoringError(f"task {task_id}: not one of this assessee's tasks")


def best_case(task: str, pieces: int = 1,
              others: Sequence[tuple[Rational, str | None]] = ()) -> Change:
    """The task (or its open piece) completed: 100 % at grade A."""
    return Change(task, HUNDRED, BEST_GRADE, pieces, tuple(others))


def suggestions(data: AssesseeInput, candidates: Iterable[Change]) -> list[Projection]:
    """Each candidate change projected, the largest gain first (then by task id)."""
    current = score_assessee(data)
    found = [project(data, change, current) for change in candidates]
    return sorted(found, key=lambda p: (-p.gain, p.change.task))


@dataclass(frozen=True, slots=True)
class Place:
    """Where a total would stand in a group: its competition rank, and how far the lowest
    total above it is (None at the top)."""

    rank: int
    gap_above: Decimal | None


def place_among(others_ascending: Sequence[Decimal], total: Rational) -> Place:
    """`total` placed among the other members' 2-decimal totals (as stored, sorted ascending):
    rank is 1 + the number of higher totals, on the 2-decimal total as people see it."""
    shown = round2(total)
    higher_from = bisect_right(others_ascending, shown)
    rank = 1 + len(others_ascending) - higher_from
    gap = None if higher_from == len(others_ascending) else others_ascending[higher_from] - shown
    return Place(rank, gap)


def mean(values: Sequence[Rational]) -> Rational | None:
    """The plain mean (a unit's average total on a chart); None for no values."""
    return sum(values, Rational(0)) / len(values) if values else None
