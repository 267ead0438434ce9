"""The scoring core: exact, pure scoring of assessees, ranks and annual grades (SCORING.md).

No database, no Telegram, no clock. Everything else shows what this package computes.
"""

from scoring.assessee import (
    AssesseeInput,
    AssesseeScore,
    CollaborationInput,
    InnovationInput,
    TaskInput,
    TaskScore,
    combined_progress,
    progress_from_count,
    score_assessee,
)
from scoring.display import apportion
from scoring.errors import ScoringError
from scoring.numbers import Rational, exact, plain, round2, round2_text, round_half_up
from scoring.policy import (
    DEFAULT_POLICY,
    DEFAULT_PROFILES,
    DIMENSIONS,
    CollaborationPolicy,
    Policy,
    Profile,
    RatingPolicy,
    policy_from_mapping,
    profile_from_mapping,
)
from scoring.projection import (
    Change,
    Place,
    Projection,
    best_case,
    changed_input,
    mean,
    place_among,
    project,
    suggestions,
)
from scoring.ranking import (
    GRADES,
    MemberStanding,
    RankedMember,
    RatedMember,
    UnitRating,
    excellence_ratio,
    rank_members,
    rate_unit,
)

__all__ = [
    "DEFAULT_POLICY",
    "DEFAULT_PROFILES",
    "DIMENSIONS",
    "GRADES",
    "AssesseeInput",
    "AssesseeScore",
    "Change",
    "CollaborationInput",
    "CollaborationPolicy",
    "InnovationInput",
    "MemberStanding",
    "Place",
    "Policy",
    "Profile",
    "Projection",
    "RankedMember",
    "RatedMember",
    "RatingPolicy",
    "Rational",
    "ScoringError",
    "TaskInput",
    "TaskScore",
    "UnitRating",
    "apportion",
    "best_case",
    "changed_input",
    "combined_progress",
    "exact",
    "excellence_ratio",
    "mean",
    "place_among",
    "plain",
    "policy_from_mapping",
    "profile_from_mapping",
    "progress_from_count",
    "project",
    "rank_members",
    "rate_unit",
    "round2",
    "round2_text",
    "round_half_up",
    "score_assessee",
    "suggestions",
]
