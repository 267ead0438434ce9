"""The scoring policy (per post category) and the personal profiles, with their defaults.

`policy_from_mapping` reads a partial policy as written in config.toml or a JSON case: it is
merged over a base policy key by key, except `category_weights`, which replaces the base's whole
(a post category lists every indicator category it weighs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from scoring.errors import ScoringError
from scoring.numbers import Rational, exact, plain

DIMENSIONS = ("basic", "key")


def _frozen(mapping: Mapping[str, Rational]) -> Mapping[str, Rational]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class CollaborationPolicy:
    """"1+N" credit per confirmed contribution: from `min` to `max`, summed, optionally capped."""

    min: Rational = Rational(1, 10)
    max: Rational = Rational(3, 10)
    cap: Rational | None = None


@dataclass(frozen=True, slots=True)
class RatingPolicy:
    """Annual grades: the excellence quota and the score thresholds."""

    base_ratio: Rational = Rational(1, 5)
    max_ratio: Rational = Rational(2, 5)
    excellent_min: Rational = Rational(90)
    competent_min: Rational = Rational(70)
    basic_min: Rational = Rational(60)


@dataclass(frozen=True, slots=True)
class Policy:
    """How one post category's assessees are scored (SCORING.md, "Policy")."""

    category_weights: Mapping[str, Rational] = field(
        default_factory=lambda: _frozen({"business": Rational(50), "general": Rational(50)})
    )
    key_factor: Rational = Rational(3, 2)
    boost_range: tuple[Rational, Rational] = (Rational(1, 10), Rational(1, 5))
    difficulty_range: tuple[Rational, Rational] = (Rational(4, 5), Rational(6, 5))
    grade_factors: Mapping[str, Rational] = field(
        default_factory=lambda: _frozen({
            "A": Rational(1), "B": Rational(9, 10), "C": Rational(3, 4), "D": Rational(1, 2),
        })
    )
    innovation_cap: Rational = Rational(10)
    collaboration: CollaborationPolicy = CollaborationPolicy()
    rating: RatingPolicy = RatingPolicy()


@dataclass(frozen=True, slots=True)
class Profile:
    """A personal profile: a factor on innovation points and one per task dimension."""

    innovation_factor: Rational = Rational(1)
    dimension_factors: Mapping[str, Rational] = field(
        default_factory=lambda: _frozen({"basic": Rational(1), "key": Rational(1)})
    )


DEFAULT_POLICY = Policy()
DEFAULT_PROFILES: Mapping[str, Profile] = MappingProxyType({
    "standard": Profile(),
    "growth": Profile(Rational(5, 4), _frozen({"basic": Rational(6, 5), "key": Rational(1)})),
    "veteran": Profile(Rational(5, 4), _frozen({"basic": Rational(1), "key": Rational(1)})),
})


# -- reading -------------------------------------------------------------------------------


def _table(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ScoringError(f"{what} must be a table")
    return value


def _only(table: Mapping[str, Any], allowed: set[str], what: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ScoringError(f"{what}: unknown key {unknown[0]!r}")


def _range(value: object, what: str) -> tuple[Rational, Rational]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ScoringError(f"{what} must be [low, high]")
    low, high = exact(value[0], what), exact(value[1], what)
    if low > high:
        raise ScoringError(f"{what}: low {plain(low)} is above high {plain(high)}")
    return low, high


def _non_negative(value: object, what: str) -> Rational:
    number = exact(value, what)
    if number < 0:
        raise ScoringError(f"{what} must not be negative")
    return number


def _positive(value: object, what: str) -> Rational:
    number = exact(value, what)
    if number <= 0:
        raise ScoringError(f"{what} must be positive")
    return number


def _fraction_table(value: object, what: str, check: Any) -> dict[str, Rational]:
    table = _table(value, what)
    return {str(name): check(number, f"{what}.{name}") for name, number in table.items()}


def _collaboration(value: object, base: CollaborationPolicy) -> CollaborationPolicy:
    table = _table(value, "collaboration")
    _only(table, {"min", "max", "cap"}, "collaboration")
    low = _non_negative(table["min"], "collaboration.min") if "min" in table else base.min
    high = _non_negative(table["max"], "collaboration.max") if "max" in table else base.max
    cap = base.cap
    if "cap" in table:
        cap = None if table["cap"] is None else _non_negative(table["cap"], "collaboration.cap")
    if low > high:
        raise ScoringError("collaboration: min is above max")
    return CollaborationPolicy(low, high, cap)


def _rating(value: object, base: RatingPolicy) -> RatingPolicy:
    table = _table(value, "rating")
    fields = {"base_ratio", "max_ratio", "excellent_min", "competent_min", "basic_min"}
    _only(table, fields, "rating")
    rating = replace(base, **{
        name: _non_negative(number, f"rating.{name}") for name, number in table.items()
    })
    if not rating.base_ratio <= rating.max_ratio <= 1:
        raise ScoringError("rating: need base_ratio <= max_ratio <= 1")
    if not rating.basic_min <= rating.competent_min <= rating.excellent_min:
        raise ScoringError("rating: need basic_min <= competent_min <= excellent_min")
    return rating


_POLICY_KEYS = {
    "category_weights", "key_factor", "boost_range", "difficulty_range", "grade_factors",
    "innovation_cap", "collaboration", "rating",
}


def policy_from_mapping(mapping: Mapping[str, Any], base: Policy = DEFAULT_POLICY) -> Policy:
    """A policy: `mapping`'s keys over `base` (see module doc). Refuses unknown keys and values."""
    table = _table(mapping, "policy")
    _only(table, _POLICY_KEYS, "policy")
    policy = base
    if "category_weights" in table:
        weights = _fraction_table(table["category_weights"], "category_weights", _non_negative)
        if not any(weights.values()):
            raise ScoringError("category_weights: at least one category needs a positive weight")
        policy = replace(policy, category_weights=_frozen(weights))
    if "key_factor" in table:
        policy = replace(policy, key_factor=_positive(table["key_factor"], "key_factor"))
    if "boost_range" in table:
        boost = _range(table["boost_range"], "boost_range")
        if boost[0] <= 0:
            raise ScoringError("boost_range must be above 0")
        policy = replace(policy, boost_range=boost)
    if "difficulty_range" in table:
        difficulty = _range(table["difficulty_range"], "difficulty_range")
        if difficulty[0] <= 0:
            raise ScoringError("difficulty_range must be above 0")
        policy = replace(policy, difficulty_range=difficulty)
    if "grade_factors" in table:
        grades = dict(policy.grade_factors)
        grades.update(_fraction_table(table["grade_factors"], "grade_factors", _non_negative))
        policy = replace(policy, grade_factors=_frozen(grades))
    if "innovation_cap" in table:
        cap = _non_negative(table["innovation_cap"], "innovation_cap")
        policy = replace(policy, innovation_cap=cap)
    if "collaboration" in table:
        policy = replace(
            policy, collaboration=_collaboration(table["collaboration"], policy.collaboration)
        )
    if "rating" in table:
        policy = replace(policy, rating=_rating(table["rating"], policy.rating))
    return policy


def profile_from_mapping(value: str | Mapping[str, Any] | None) -> Profile:
    """A profile by name (standard, growth, veteran) or as a table of its factors."""
    if value is None:
        return DEFAULT_PROFILES["standard"]
    if isinstance(value, str):
        if value not in DEFAULT_PROFILES:
            raise ScoringError(f"profile: unknown profile {value!r}")
        return DEFAULT_PROFILES[value]
    table = _table(value, "profile")
    _only(table, {"innovation_factor", "dimension_factors"}, "profile")
    profile = DEFAULT_PROFILES["standard"]
    if "innovation_factor" in table:
        factor = _positive(table["innovation_factor"], "profile.innovation_factor")
        profile = replace(profile, innovation_factor=factor)
    if "dimension_factors" in table:
        factors = dict(profile.dimension_factors)
        given = _fraction_table(
            table["dimension_factors"], "profile.dimension_factors", _positive
        )
        _only(given, set(DIMENSIONS), "profile.dimension_factors")
        factors.update(given)
        profile = replace(profile, dimension_factors=_frozen(factors))
    return profile
