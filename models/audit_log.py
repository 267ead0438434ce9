"""Reading the audit log: filter it by person, task, unit, period, action and time.

`changes(entry)` names what an entry changed, field by field, for people reading the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, or_, select

from models.tables import AuditEntry, Cadre, Period, Task, Unit


@dataclass(frozen=True)
class AuditFilter:
    person_id: int | None = None  # entries about this cadre, or done by them
    task_id: int | None = None
    unit_ids: tuple[int, ...] = ()  # a unit, or a unit and every unit below it
    period_id: int | None = None
    action: str | None = None  # exact, or a prefix ending in "." ("report.")
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 200


def search(session: Session, wanted: AuditFilter) -> list[AuditEntry]:
    """Matching entries, newest first."""
    query = select(AuditEntry)
    if wanted.person_id is not None:
        query = query.where(or_(col(AuditEntry.cadre_id) == wanted.person_id,
                                col(AuditEntry.actor_id) == wanted.person_id))
    if wanted.task_id is not None:
        query = query.where(AuditEntry.task_id == wanted.task_id)
    if wanted.unit_ids:
        query = query.where(col(AuditEntry.unit_id).in_(wanted.unit_ids))
    if wanted.period_id is not None:
        query = query.where(AuditEntry.period_id == wanted.period_id)
    if wanted.action:
        query = query.where(col(AuditEntry.action).startswith(wanted.action)
                            if wanted.action.endswith(".")
                            else col(AuditEntry.action) == wanted.action)
    if wanted.since is not None:
        query = query.where(col(AuditEntry.at) >= wanted.since)
    if wanted.until is not None:
        query = query.where(col(AuditEntry.at) < wanted.until)
    query = query.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
    return list(session.exec(query.limit(wanted.limit)).all())


def changes(entry: AuditEntry) -> dict[str, tuple[Any, Any]]:
    """field -> (before, after) for each field that differs; a new row lists what it holds."""
    before, after = entry.before or {}, entry.after or {}
    fields = [name for name in after if name not in ("id", "created_at", "updated_at")]
    fields += [name for name in before if name not in after]
    return {name: (before.get(name), after.get(name)) for name in fields
            if before.get(name) != after.get(name)}


# Which fields of an audited row hold the id of what: shown as its name, not its number.
PERSON_FIELDS = frozenset({
    "cadre_id", "reporter_id", "reviewer_id", "claimant_id", "supervisor_id", "delegate_id",
    "confirmed_by", "revoked_by", "created_by", "published_by", "finalised_by", "answered_by"})
UNIT_FIELDS = frozenset({"unit_id", "lead_unit_id", "group_unit_id"})
# parent_id is a unit's parent unit, a period's parent period or a task's parent task.
PARENT_OF = {"unit": "unit", "period": "period", "task": "task"}


def referred(entity: str, field: str) -> str | None:
    """"cadre", "unit", "task" or "period" when `field` of an `entity` row holds such an id."""
    if field in PERSON_FIELDS:
        return "cadre"
    if field in UNIT_FIELDS:
        return "unit"
    if field == "task_id":
        return "task"
    if field == "period_id":
        return "period"
    if field == "parent_id":
        return PARENT_OF.get(entity)
    return None


@dataclass(frozen=True)
class Names:
    """Display names for the ids an audit listing shows."""

    cadres: dict[int, str]
    tasks: dict[int, str]
    units: dict[int, str]
    periods: dict[int, str]

    def of(self, kind: str, row_id: object) -> str | None:
        table = {"cadre": self.cadres, "unit": self.units, "task": self.tasks,
                 "period": self.periods}[kind]
        return table.get(row_id) if isinstance(row_id, int) else None


def names_for(session: Session, entries: list[AuditEntry]) -> Names:
    def lookup(model: Any, label: Any, ids: set[int | None]) -> dict[int, str]:
        wanted = [i for i in ids if i is not None]
        if not wanted:
            return {}
        rows = session.exec(select(model.id, label).where(col(model.id).in_(wanted))).all()
        return {row_id: str(text) for row_id, text in rows}

    ids: dict[str, set[int | None]] = {
        "cadre": {e.actor_id for e in entries} | {e.cadre_id for e in entries},
        "task": {e.task_id for e in entries}, "unit": {e.unit_id for e in entries},
        "period": {e.period_id for e in entries}}
    for entry in entries:  # the ids the changes name, and the row itself where it has a name
        if entry.entity in ids:
            ids[entry.entity].add(entry.entity_id)
        for field, values in changes(entry).items():
            kind = referred(entry.entity, field)
            if kind is not None:
                ids[kind] |= {v for v in values if isinstance(v, int)}
    return Names(
        cadres=lookup(Cadre, Cadre.name, ids["cadre"]),
        tasks=lookup(Task, Task.title, ids["task"]),
        units=lookup(Unit, Unit.name, ids["unit"]),
        periods=lookup(Period, Period.name, ids["period"]),
    )
