"""Properties that hold for every valid input, checked on generated assessees and units."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction as F

from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import (
    DEFAULT_POLICY,
    DEFAULT_PROFILES,
    AssesseeInput,
    InnovationInput,
    MemberStanding,
    TaskInput,
    rank_members,
    rate_unit,
    round2,
    score_assessee,
)

hundredths = st.integers(min_value=0, max_value=10_000).map(lambda n: F(n, 100))
difficulties = st.integers(min_value=80, max_value=120).map(lambda n: F(n, 100))
boosts = st.one_of(st.none(), st.integers(min_value=10, max_value=20).map(lambda n: F(n, 100)))


@st.composite
def task_lists(draw: st.DrawFn) -> tuple[TaskInput, ...]:
    count = draw(st.integers(min_value=0, max_value=8))
    tasks = []
    for index in range(count):
        dimension = draw(st.sampled_from(["basic", "key"]))
        tasks.append(TaskInput(
            id=f"t{index}",
            category=draw(st.sampled_from(["business", "general"])),
            dimension=dimension,
            weight=F(draw(st.integers(min_value=1, max_value=100))),
            difficulty=draw(difficulties),
            progress=draw(hundredths),
            grade=draw(st.sampled_from([None, "A", "B", "C", "D"])),
            boost=draw(boosts) if dimension == "key" else None,
        ))
    return tuple(tasks)


assessees = st.builds(
    AssesseeInput,
    tasks=task_lists(),
    innovations=st.lists(
        st.builds(InnovationInput, id=st.just("i"), points=hundredths.map(lambda p: p / 10)),
        max_size=3,
    ).map(tuple),
    profile=st.sampled_from(list(DEFAULT_PROFILES.values())),
)


@given(assessees)
@settings(max_examples=300, deadline=None)
def test_shares_sum_to_100_and_no_donor_loses_more_than_half(data: AssesseeInput) -> None:
    result = score_assessee(data)
    shares = [part.share for part in result.tasks.values()]
    if data.tasks:
        assert sum(shares) == 100
    for task in data.tasks:
        part = result.tasks[task.id]
        assert part.share >= 0
        if task.boost:
            assert part.share >= part.base_share  # a boost never lowers the boosted task
        else:
            assert part.share >= part.base_share / 2  # nor takes more than half of a donor


@given(assessees)
@settings(max_examples=300, deadline=None)
def test_base_is_bounded_by_the_hardest_task(data: AssesseeInput) -> None:
    result = score_assessee(data)
    hardest = max((t.difficulty for t in data.tasks), default=F(1))
    assert 0 <= result.base <= 100 * hardest
    assert 0 <= result.key <= result.base
    assert 0 <= result.innovation <= DEFAULT_POLICY.innovation_cap
    assert result.total == result.base + result.innovation + result.collaboration
    assert F(4, 5) <= result.difficulty <= F(6, 5)


@given(assessees, st.data())
@settings(max_examples=300, deadline=None)
def test_better_progress_grade_or_difficulty_never_lowers_the_total(
    data: AssesseeInput, draw: st.DataObject
) -> None:
    if not data.tasks:
        return
    index = draw.draw(st.integers(min_value=0, max_value=len(data.tasks) - 1))
    chosen = data.tasks[index]
    what = draw.draw(st.sampled_from(["progress", "grade", "difficulty"]))
    if what == "progress":
        better = replace(chosen, progress=max(chosen.progress, draw.draw(hundredths)))
    elif what == "grade":
        factors = DEFAULT_POLICY.grade_factors
        current = F(1) if chosen.grade is None else factors[chosen.grade]
        higher = [g for g in factors if factors[g] >= current]
        better = replace(chosen, grade=draw.draw(st.sampled_from(higher)))
    else:
        better = replace(chosen, difficulty=max(chosen.difficulty, draw.draw(difficulties)))
    tasks = list(data.tasks)
    tasks[index] = better
    before = score_assessee(data)
    after = score_assessee(replace(data, tasks=tuple(tasks)))
    assert after.total >= before.total


@given(assessees)
@settings(max_examples=100, deadline=None)
def test_task_order_does_not_matter(data: AssesseeInput) -> None:
    forward = score_assessee(data)
    backward = score_assessee(AssesseeInput(
        tasks=tuple(reversed(data.tasks)), innovations=data.innovations, profile=data.profile
    ))
    assert forward.total == backward.total
    assert dict(forward.tasks) == dict(backward.tasks)


members = st.lists(
    st.builds(
        MemberStanding,
        id=st.text(alphabet="abcdefgh", min_size=1, max_size=3),
        total=hundredths.map(lambda t: t * F(6, 5)),
        base=hundredths,
        key=hundredths,
    ),
    max_size=30,
    unique_by=lambda m: m.id,
)


@given(members)
@settings(max_examples=300, deadline=None)
def test_ranks_are_competition_ranks(group: list[MemberStanding]) -> None:
    ranked = rank_members(group)
    totals = {m.id: round2(m.total) for m in group}
    assert sorted(r.position for r in ranked) == list(range(1, len(group) + 1))
    for r in ranked:
        # rank = 1 + number of members with a strictly higher shown total
        assert r.rank == 1 + sum(1 for t in totals.values() if t > totals[r.id])


@given(members, difficulties)
@settings(max_examples=300, deadline=None)
def test_excellent_grades_never_exceed_slots_or_go_below_the_line(
    group: list[MemberStanding], difficulty: F
) -> None:
    rating = rate_unit(group, difficulty, DEFAULT_POLICY.rating)
    excellent = [m for m in rating.members if m.grade == "excellent"]
    assert len(excellent) <= rating.slots
    assert all(round2(m.total) >= 90 for m in excellent)
    assert F(1, 5) <= rating.ratio <= F(2, 5)
    # Nobody ranked below an excellent member outranks them in the shown total.
    order = [m.id for m in rating.members]
    for m in excellent:
        above = order[: order.index(m.id)]
        assert all(round2(x.total) >= round2(m.total)
                   for x in rating.members if x.id in above)
