"""Each rule of SCORING.md, one at a time, with exact fractions."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction as F

import pytest

from scoring import (
    DEFAULT_POLICY,
    DEFAULT_PROFILES,
    AssesseeInput,
    CollaborationInput,
    InnovationInput,
    MemberStanding,
    ScoringError,
    TaskInput,
    combined_progress,
    excellence_ratio,
    policy_from_mapping,
    profile_from_mapping,
    progress_from_count,
    rank_members,
    rate_unit,
    round2,
    score_assessee,
)


def task(id: str, category: str = "business", dimension: str = "basic", weight: int = 10,
         difficulty: F = F(1), progress: F = F(100), grade: str | None = "A",
         boost: F | None = None) -> TaskInput:
    return TaskInput(id, category, dimension, F(weight), difficulty, progress, grade, boost)


def score(*tasks: TaskInput, **kwargs: object) -> object:
    return score_assessee(AssesseeInput(tasks=tasks, **kwargs))  # type: ignore[arg-type]


# -- rounding ----------------------------------------------------------------------------


@pytest.mark.parametrize("value, shown", [
    (F(1, 200), "0.01"), (F(-1, 200), "-0.01"), (F(1, 3), "0.33"), (F(2, 3), "0.67"),
    (F(12345, 1000), "12.35"), (F(100), "100.00"), (F(0), "0.00"),
])
def test_round2_is_half_up(value: F, shown: str) -> None:
    assert round2(value) == Decimal(shown)
    assert str(round2(value)) == shown


# -- steps 1-3: raw weights and shares -----------------------------------------------------


def test_key_factor_and_profile_dimension_factor_multiply_the_raw_weight() -> None:
    growth = DEFAULT_PROFILES["growth"]
    result = score_assessee(AssesseeInput(
        tasks=(task("a"), task("b", dimension="key")), profile=growth
    ))
    assert result.tasks["a"].raw_weight == F(12)  # 10 x 1.2 (growth, basic)
    assert result.tasks["b"].raw_weight == F(15)  # 10 x 1.5 (key factor)


def test_a_category_with_zero_weight_gets_nothing_and_the_others_fill_100() -> None:
    policy = policy_from_mapping({"category_weights": {"business": 100, "general": 0}})
    result = score_assessee(AssesseeInput(
        tasks=(task("a"), task("b", category="general")), policy=policy
    ))
    assert result.tasks["a"].share == 100
    assert result.tasks["b"].share == 0
    assert result.base == 100


def test_shares_within_a_category_follow_raw_weights() -> None:
    result = score_assessee(AssesseeInput(tasks=(task("a", weight=1), task("b", weight=3))))
    assert (result.tasks["a"].share, result.tasks["b"].share) == (F(25), F(75))


# -- step 4: boost ---------------------------------------------------------------------------


def test_boost_moves_weight_from_basic_donors_and_keeps_the_sum() -> None:
    result = score_assessee(AssesseeInput(tasks=(
        task("k", dimension="key", boost=F(1, 5)), task("b1"), task("b2"),
    )))
    shares = {k: v.share for k, v in result.tasks.items()}
    assert sum(shares.values()) == 100
    # k: 15/35 of 100; delta = s x 0.2; the donors lose it in proportion to their shares.
    s_k = F(1500, 35)
    assert shares["k"] == s_k * F(6, 5)
    assert shares["b1"] == shares["b2"] == (100 - s_k * F(6, 5)) / 2


def test_zero_boost_means_not_boosted() -> None:
    plain = score(task("k", dimension="key"), task("b"))
    zero = score(task("k", dimension="key", boost=F(0)), task("b"))
    assert plain == zero


# -- steps 5-6: quality and points --------------------------------------------------------


def test_grade_factor_scales_progress() -> None:
    for grade, factor in DEFAULT_POLICY.grade_factors.items():
        result = score_assessee(AssesseeInput(tasks=(task("a", grade=grade, progress=F(80)),)))
        assert result.tasks["a"].quality == 80 * factor
        assert result.base == 80 * factor


def test_difficulty_scales_points_and_is_share_weighted() -> None:
    result = score_assessee(AssesseeInput(tasks=(
        task("a", difficulty=F(6, 5)), task("b", category="general", difficulty=F(4, 5)),
    )))
    assert result.base == 50 * F(6, 5) + 50 * F(4, 5)
    assert result.difficulty == 1


# -- steps 7-9 --------------------------------------------------------------------------------


def test_innovation_factor_is_applied_before_the_cap() -> None:
    veteran = DEFAULT_PROFILES["veteran"]
    result = score_assessee(AssesseeInput(
        tasks=(), innovations=(InnovationInput("i", F(4)),), profile=veteran
    ))
    assert result.innovation == 5
    capped = score_assessee(AssesseeInput(
        tasks=(), innovations=(InnovationInput("i", F(9)),), profile=veteran
    ))
    assert capped.innovation == 10


def test_collaboration_credit_runs_from_min_to_max_with_share_and_difficulty() -> None:
    def credit(share: F, difficulty: F) -> F:
        return score_assessee(AssesseeInput(
            tasks=(), collaborations=(CollaborationInput("x", share, difficulty),)
        )).collaboration

    assert credit(F(1), F(4, 5)) == F(1, 10)
    assert credit(F(1), F(6, 5)) == F(3, 10)
    assert credit(F(1, 2), F(1)) == F(3, 20)


def test_total_is_rounded_from_the_exact_sum() -> None:
    result = score_assessee(AssesseeInput(
        tasks=(task("a", weight=1, progress=F(1, 3)), task("b", weight=1, progress=F(1, 3))),
        innovations=(InnovationInput("i", F(1, 300)),),
    ))
    # base 1/3 (0.33) + innovation 1/300 (0.00) = 0.3366.. -> 0.34, not 0.33
    assert round2(result.base) + round2(result.innovation) == Decimal("0.33")
    assert round2(result.total) == Decimal("0.34")


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad, message", [
    (task("a", dimension="urgent"), "task a: unknown dimension 'urgent'"),
    (task("a", weight=-1), "task a: weight must be positive"),
    (task("a", progress=F(-1)), "task a: progress -1 outside [0, 100]"),
    (task("a", difficulty=F(7, 10)), "task a: difficulty 0.7 outside [0.8, 1.2]"),
    (task("a", dimension="key", boost=F(1, 20)), "task a: boost 0.05 outside [0.1, 0.2]"),
])
def test_invalid_task_is_refused_naming_task_and_field(bad: TaskInput, message: str) -> None:
    with pytest.raises(ScoringError, match=message.replace("[", r"\[").replace("]", r"\]")):
        score_assessee(AssesseeInput(tasks=(bad,)))


def test_collaboration_difficulty_outside_range_is_refused() -> None:
    with pytest.raises(ScoringError, match="collaboration x: difficulty"):
        score_assessee(AssesseeInput(
            tasks=(), collaborations=(CollaborationInput("x", F(1), F(2)),)
        ))


@pytest.mark.parametrize("mapping, named", [
    ({"key_factor": 0}, "key_factor"),
    ({"boost_range": [0.2, 0.1]}, "boost_range"),
    ({"category_weights": {"business": 0}}, "category_weights"),
    ({"grade_factors": {"A": "much"}}, "grade_factors.A"),
    ({"rating": {"excellent_min": 50}}, "rating"),
    ({"collaboration": {"min": 0.5, "max": 0.3}}, "collaboration"),
    ({"typo": 1}, "typo"),
    ({"innovation_cap": True}, "innovation_cap"),
])
def test_bad_policy_is_refused_naming_the_key(mapping: dict[str, object], named: str) -> None:
    with pytest.raises(ScoringError, match=named):
        policy_from_mapping(mapping)


def test_policy_merges_over_defaults_but_category_weights_replace() -> None:
    policy = policy_from_mapping(
        {"category_weights": {"business": 60}, "rating": {"basic_min": 55}}
    )
    assert dict(policy.category_weights) == {"business": 60}
    assert policy.rating.basic_min == 55
    assert policy.rating.excellent_min == 90
    assert policy.grade_factors == DEFAULT_POLICY.grade_factors


def test_profile_by_name_or_table() -> None:
    assert profile_from_mapping("growth") == DEFAULT_PROFILES["growth"]
    assert profile_from_mapping({"innovation_factor": 1.25}).innovation_factor == F(5, 4)
    with pytest.raises(ScoringError, match="unknown profile"):
        profile_from_mapping("lazy")


# -- progress helpers -------------------------------------------------------------------------


def test_progress_from_count_is_capped_at_100() -> None:
    assert progress_from_count(F(6), F(12)) == 50
    assert progress_from_count(F(15), F(12)) == 100
    with pytest.raises(ScoringError):
        progress_from_count(F(1), F(0))


def test_combined_progress_counts_missing_pieces_as_zero() -> None:
    factors = DEFAULT_POLICY.grade_factors
    assert combined_progress([(F(100), "A"), (F(100), "B")], 4, factors) == F(190, 4)
    assert combined_progress([], 0, factors) == 0


# -- ranks and grades -------------------------------------------------------------------------


def member(id: str, total: F, base: F | None = None, key: F = F(0)) -> MemberStanding:
    return MemberStanding(id, total, total if base is None else base, key)


def test_ranks_are_competition_ranks_on_the_rounded_total() -> None:
    ranked = rank_members([
        member("a", F(90)), member("b", F(8000_1, 1000)), member("c", F(8000_4, 1000)),
        member("d", F(70)),
    ])
    # b (80.001) and c (80.004) both show 80.00: same rank; c first on exact base.
    assert [(r.id, r.rank, r.position) for r in ranked] == [
        ("a", 1, 1), ("c", 2, 2), ("b", 2, 3), ("d", 4, 4)
    ]


def test_ties_break_on_base_then_key_then_id() -> None:
    ranked = rank_members([
        member("z", F(90), base=F(80), key=F(10)),
        member("y", F(90), base=F(80), key=F(20)),
        member("x", F(90), base=F(80), key=F(20)),
        member("w", F(90), base=F(85)),
    ])
    assert [r.id for r in ranked] == ["w", "x", "y", "z"]
    assert {r.rank for r in ranked} == {1}


@pytest.mark.parametrize("difficulty, ratio", [
    (F(9, 10), F(1, 5)), (F(1), F(1, 5)), (F(11, 10), F(3, 10)), (F(6, 5), F(2, 5)),
    (F(13, 10), F(2, 5)),
])
def test_excellence_ratio_rises_with_difficulty(difficulty: F, ratio: F) -> None:
    assert excellence_ratio(DEFAULT_POLICY.rating, difficulty) == ratio


def test_grades_follow_order_slots_and_thresholds() -> None:
    members = [member(f"m{i}", F(total)) for i, total in enumerate([95, 92, 91, 75, 65, 10])]
    rating = rate_unit(members, F(1), DEFAULT_POLICY.rating)
    assert rating.slots == 1  # floor(0.2 x 6)
    assert [m.grade for m in rating.members] == [
        "excellent", "competent", "competent", "competent", "basic", "incompetent"
    ]


def test_an_unused_slot_is_not_given_below_the_excellence_line() -> None:
    members = [member("a", F(89)), member("b", F(88))] * 1
    rating = rate_unit(members + [member(f"c{i}", F(50)) for i in range(8)], F(1),
                       DEFAULT_POLICY.rating)
    assert rating.slots == 2
    assert not any(m.grade == "excellent" for m in rating.members)
