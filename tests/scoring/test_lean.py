"""`score_lean` gives exactly what `score_assessee` gives, and refuses what it refuses.

Compared as exact rationals (not rounded), on every assessee of the scoring contract's cases
(members and unit tasks of the unit cases included) and on generated assessees that stray
outside the valid ranges too.
"""

from __future__ import annotations

from fractions import Fraction as F
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import (
    DEFAULT_POLICY,
    DEFAULT_PROFILES,
    AssesseeInput,
    InnovationInput,
    ScoringError,
    TaskInput,
    policy_from_mapping,
    score_assessee,
)
from scoring.cases import assessee_input
from scoring.lean import fold, score_lean
from tests.scoring.test_cases import CASES


def _inputs(case: dict[str, Any]) -> list[Any]:
    """Every assessee a case scores, as its input table and the policy it is scored under."""
    if case.get("kind", "assessee") != "unit":
        return [(case, DEFAULT_POLICY)]
    policy = policy_from_mapping(case.get("policy", {}))
    found = [({"tasks": case["unit_tasks"]}, policy)] if "unit_tasks" in case else []
    return found + [(member, policy) for member in case.get("members", [])]


def _assert_same(data: AssesseeInput) -> None:
    lean = score_lean(fold(data.policy, data.profile),
                      [(t.category, t.dimension, t.weight, t.difficulty, t.progress, t.grade,
                        t.boost) for t in data.tasks],
                      [item.points for item in data.innovations])
    try:
        core = score_assessee(data)
    except ScoringError:
        assert lean is None
        return
    assert lean is not None
    assert lean.shares == [core.tasks[t.id].share for t in data.tasks]
    assert lean.points == [core.tasks[t.id].points for t in data.tasks]
    assert lean.qualities == [core.tasks[t.id].quality for t in data.tasks]
    assert (lean.base, lean.key, lean.innovation, lean.collaboration, lean.total,
            lean.difficulty) == (core.base, core.key, core.innovation, core.collaboration,
                                 core.total, core.difficulty)


SCORED = [(case["name"], table, policy) for case in CASES
          for table, policy in _inputs(case["input"])]


@pytest.mark.parametrize(("table", "policy"), [(t, p) for _, t, p in SCORED],
                         ids=[name for name, _, _ in SCORED])
def test_every_assessee_of_the_cases(table: dict[str, Any], policy: Any) -> None:
    try:
        data = assessee_input(table, policy)
    except ScoringError:
        return  # refused while reading the case: never reaches a scorer
    if data.collaborations or len({t.id for t in data.tasks}) < len(data.tasks):
        return  # a cadre has no "1+N" credit; a table's ids are unique
    _assert_same(data)


def test_the_cases_reach_both_answers() -> None:
    """The comparison above covers scored cases and refused ones."""
    outcomes = set()
    for _, table, policy in SCORED:
        try:
            data = assessee_input(table, policy)
        except ScoringError:
            continue
        lean = score_lean(fold(data.policy, data.profile),
                          [(t.category, t.dimension, t.weight, t.difficulty, t.progress,
                            t.grade, t.boost) for t in data.tasks],
                          [item.points for item in data.innovations])
        outcomes.add(lean is None)
    assert outcomes == {True, False}


# Generated: any rational progress (recurring tasks and counted targets give thirds, twelfths),
# values a little outside the valid ranges, boosts on any dimension, zero category weights.
progress = st.fractions(min_value=-1, max_value=101, max_denominator=1200)
coefficients = st.integers(min_value=70, max_value=130).map(lambda n: F(n, 100))
policies = st.sampled_from([
    DEFAULT_POLICY,
    policy_from_mapping({"category_weights": {"business": 70, "general": 0, "party": 30},
                         "key_factor": 2, "grade_factors": {"B": "0.85"}}),
    policy_from_mapping({"innovation_cap": 3, "boost_range": [0.05, 0.5]}),
])


@st.composite
def lean_assessees(draw: st.DrawFn) -> AssesseeInput:
    tasks = [TaskInput(
        id=str(index),
        category=draw(st.sampled_from(["business", "general", "party", "unknown"])),
        dimension=draw(st.sampled_from(["basic", "key", "key", "other"])),
        weight=F(draw(st.integers(min_value=-1, max_value=300)), 10),
        difficulty=draw(coefficients),
        progress=draw(progress),
        grade=draw(st.sampled_from([None, "A", "B", "C", "D", "E"])),
        boost=draw(st.one_of(st.none(), st.just(F(0)),
                             st.integers(min_value=0, max_value=60).map(lambda n: F(n, 100)))),
    ) for index in range(draw(st.integers(min_value=0, max_value=12)))]
    claims = draw(st.lists(st.fractions(min_value=-1, max_value=8, max_denominator=1000),
                           max_size=3))
    return AssesseeInput(
        tasks=tuple(tasks),
        innovations=tuple(InnovationInput(id=str(i), points=p) for i, p in enumerate(claims)),
        policy=draw(policies),
        profile=draw(st.sampled_from(list(DEFAULT_PROFILES.values()))),
    )


@given(lean_assessees())
@settings(max_examples=600, deadline=None)
def test_generated_assessees(data: AssesseeInput) -> None:
    _assert_same(data)


@given(lean_assessees().filter(lambda data: all(
    t.category in ("business", "general") and t.dimension in ("basic", "key")
    and t.weight > 0 and t.grade != "E" and 0 <= t.progress <= 100
    and F(4, 5) <= t.difficulty <= F(6, 5) and (not t.boost or t.dimension == "key")
    for t in data.tasks)))
@settings(max_examples=300, deadline=None)
def test_generated_valid_assessees(data: AssesseeInput) -> None:
    """Mostly valid input, so that most examples are scored rather than refused."""
    _assert_same(data)
