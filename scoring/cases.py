"""The machine entry point's case format (SCORING.md "Machine entry point"): JSON in, JSON out.

Numbers come in as JSON numbers (read as Decimal, never float) and go out rounded half up to
2 decimals; the excellence ratio goes out to 4 decimals (a percentage to 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from scoring.assessee import (
    AssesseeInput,
    AssesseeScore,
    CollaborationInput,
    InnovationInput,
    TaskInput,
    score_assessee,
)
from scoring.errors import ScoringError
from scoring.numbers import Rational, exact, round2, round_half_up
from scoring.policy import DEFAULT_POLICY, Policy, policy_from_mapping, profile_from_mapping
from scoring.ranking import MemberStanding, rate_unit


def _table(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ScoringError(f"{what} must be an object")
    return value


def _items(case: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = case.get(name, [])
    if not isinstance(value, list):
        raise ScoringError(f"{name} must be a list")
    return [_table(item, name) for item in value]


def _field(item: Mapping[str, Any], name: str, where: str) -> Any:
    if name not in item:
        raise ScoringError(f"{where}: missing field {name!r}")
    return item[name]


def _text(item: Mapping[str, Any], name: str, where: str) -> str:
    value = _field(item, name, where)
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ScoringError(f"{where}: {name} must be text")
    return str(value)


def _optional(value: Any, what: str) -> Rational | None:
    return None if value is None else exact(value, what)


def _task(item: Mapping[str, Any]) -> TaskInput:
    where = f"task {item.get('id', '?')}"
    grade = item.get("grade")
    if grade is not None and not isinstance(grade, str):
        raise ScoringError(f"{where}: unknown grade {grade!r}")
    return TaskInput(
        id=_text(item, "id", where),
        category=_text(item, "category", where),
        dimension=_text(item, "dimension", where),
        weight=exact(_field(item, "weight", where), f"{where}: weight"),
        difficulty=exact(item.get("difficulty", 1), f"{where}: difficulty"),
        progress=exact(_field(item, "progress", where), f"{where}: progress"),
        grade=grade,
        boost=_optional(item.get("boost"), f"{where}: boost"),
    )


def assessee_input(case: Mapping[str, Any], policy: Policy = DEFAULT_POLICY) -> AssesseeInput:
    """An assessee case as scoring input; its own `policy` is merged over `policy`."""
    case = _table(case, "case")
    if "policy" in case:
        policy = policy_from_mapping(_table(case["policy"], "policy"))
    innovations = []
    for item in _items(case, "innovations"):
        where = f"innovation {item.get('id', '?')}"
        innovations.append(InnovationInput(
            id=_text(item, "id", where), points=exact(_field(item, "points", where), where)
        ))
    collaborations = []
    for item in _items(case, "collaborations"):
        where = f"collaboration {item.get('task', '?')}"
        collaborations.append(CollaborationInput(
            task=_text(item, "task", where),
            share=exact(_field(item, "share", where), f"{where}: share"),
            difficulty=exact(item.get("difficulty", 1), f"{where}: difficulty"),
        ))
    return AssesseeInput(
        tasks=tuple(_task(item) for item in _items(case, "tasks")),
        innovations=tuple(innovations),
        collaborations=tuple(collaborations),
        policy=policy,
        profile=profile_from_mapping(case.get("profile")),
    )


def _number(value: Rational) -> Decimal:
    return round2(value)


def assessee_result(score: AssesseeScore) -> dict[str, Any]:
    return {
        "tasks": {
            task_id: {"weight": _number(part.share), "points": _number(part.points)}
            for task_id, part in score.tasks.items()
        },
        "base": _number(score.base),
        "key": _number(score.key),
        "innovation": _number(score.innovation),
        "collaboration": _number(score.collaboration),
        "total": _number(score.total),
        "difficulty": _number(score.difficulty),
    }


def _unit(case: Mapping[str, Any]) -> dict[str, Any]:
    policy = policy_from_mapping(_table(case.get("policy", {}), "policy"))
    if "unit_difficulty" in case:
        difficulty = exact(case["unit_difficulty"], "unit_difficulty")
    else:
        own = assessee_input({"tasks": case.get("unit_tasks", [])}, policy)
        difficulty = score_assessee(own).difficulty
    members: list[MemberStanding] = []
    seen: set[str] = set()
    for item in _items(case, "members"):
        member_id = _text(item, "id", "member ?")
        if member_id in seen:
            raise ScoringError(f"member {member_id}: duplicate id")
        seen.add(member_id)
        try:
            score = score_assessee(assessee_input(item, policy))
        except ScoringError as exc:
            raise ScoringError(f"member {member_id}: {exc}") from None
        members.append(MemberStanding(member_id, score.total, score.base, score.key))
    rating = rate_unit(members, difficulty, policy.rating)
    by_id = {m.id: m for m in rating.members}
    return {
        "ratio": round_half_up(rating.ratio, 4),
        "slots": rating.slots,
        "members": {
            m.id: {"total": _number(m.total), "rank": by_id[m.id].rank, "grade": by_id[m.id].grade}
            for m in members
        },
    }


def run_case(case: object) -> dict[str, Any]:
    """The result of one case, or {"error": message} when the case is refused."""
    try:
        table = _table(case, "case")
        if table.get("kind", "assessee") == "unit":
            return _unit(table)
        if table.get("kind", "assessee") != "assessee":
            raise ScoringError(f"unknown kind {table['kind']!r}")
        return assessee_result(score_assessee(assessee_input(table)))
    except ScoringError as exc:
        return {"error": str(exc)}
