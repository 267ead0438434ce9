"""The organisation's scoring rules as the operations need them: checked, immutable, from config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from scoring import Policy, Profile


@dataclass(frozen=True, slots=True)
class PostCategory:
    """A post category 岗位类别 and the scoring policy its assessees are scored under."""

    name: str
    label_zh: str
    label_en: str
    policy: Policy


@dataclass(frozen=True, slots=True)
class ProfileRule:
    """A personal profile 个人系数档 (standard, growth, veteran) and its factors."""

    name: str
    label_zh: str
    label_en: str
    profile: Profile


@dataclass(frozen=True, slots=True)
class WarningMargins:
    """红黄绿预警 ([warnings]): how far, in percentage points, a task's progress may fall behind
    the share of its window already elapsed before it turns yellow, and before it turns red."""

    yellow: Decimal = Decimal(10)
    red: Decimal = Decimal(25)


@dataclass(frozen=True, slots=True)
class Rules:
    post_categories: Mapping[str, PostCategory]
    profiles: Mapping[str, ProfileRule]
    difficulty_sources: Mapping[str, Decimal]
    innovation_points: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)
    warnings: WarningMargins = field(default_factory=WarningMargins)

    def policy(self, post_category: str) -> Policy:
        return self.post_categories[post_category].policy

    def profile(self, name: str) -> Profile:
        return self.profiles[name].profile

    def default_difficulty(self, source: str) -> Decimal:
        return self.difficulty_sources[source]

    def innovation_value(self, kind: str, level: str) -> Decimal | None:
        return self.innovation_points.get(kind, {}).get(level)
