"""Projections: the one-task rescoring equals scoring the changed input whole, exactly."""

from __future__ import annotations

import random

import pytest

from scoring import (
    AssesseeInput,
    Change,
    Rational,
    ScoringError,
    TaskInput,
    changed_input,
    project,
    score_assessee,
    suggestions,
)
from scoring.policy import DEFAULT_PROFILES


def _assessee(rng: random.Random) -> AssesseeInput:
    tasks = []
    for n in range(rng.randint(1, 12)):
        key = rng.random() < 0.4
        tasks.append(TaskInput(
            id=f"t{n}", category=rng.choice(("business", "general")),
            dimension="key" if key else "basic", weight=Rational(rng.randint(1, 20)),
            difficulty=Rational(rng.choice((8, 9, 10, 11, 12)), 10),
            progress=Rational(rng.randint(0, 100)), grade=rng.choice((None, "A", "B", "C", "D")),
            boost=Rational(rng.choice((10, 15, 20)), 100) if key and rng.random() < 0.5 else None))
    return AssesseeInput(tasks=tuple(tasks), profile=DEFAULT_PROFILES[rng.choice(
        ("standard", "growth", "veteran"))])


def test_rescoring_one_task_equals_scoring_the_whole_input() -> None:
    rng = random.Random(15)
    for _ in range(300):
        data = _assessee(rng)
        task = rng.choice(data.tasks).id
        pieces = rng.choice((1, 3, 12))
        others = tuple((Rational(rng.randint(0, 100)), rng.choice(("A", "B", None)))
                       for _ in range(rng.randint(0, pieces - 1)))
        change = Change(task, Rational(rng.randint(0, 100)), rng.choice(("A", "B", "C", "D")),
                        pieces, others)
        fast = project(data, change, score_assessee(data))
        whole = score_assessee(changed_input(data, change)).total
        assert fast.total == whole
        assert fast.gain == whole - score_assessee(data).total


def test_suggestions_are_sorted_by_gain_and_bad_changes_refused() -> None:
    data = _assessee(random.Random(3))
    found = suggestions(data, [Change(t.id, Rational(100), "A") for t in data.tasks])
    assert [p.gain for p in found] == sorted((p.gain for p in found), reverse=True)
    with pytest.raises(ScoringError, match="unknown grade"):
        project(data, Change(data.tasks[0].id, Rational(50), "E"))
    with pytest.raises(ScoringError, match="progress"):
        project(data, Change(data.tasks[0].id, Rational(101), "A"))
    with pytest.raises(ScoringError, match="not one of"):
        project(data, Change("nope", Rational(50), "A"))
