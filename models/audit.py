"""Audit rows: written in the same transaction as the change they describe."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlmodel import SQLModel

from models.store import Ctx
from models.tables import AuditEntry

_INSERT = insert(SQLModel.metadata.tables[str(AuditEntry.__tablename__)])


def _json_safe(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    return value


def snapshot(row: SQLModel | None) -> dict[str, Any] | None:
    """The row's columns as JSON-safe values (decimals as exact strings)."""
    if row is None:
        return None
    return {name: _json_safe(getattr(row, name)) for name in type(row).model_fields}


def record(
    ctx: Ctx,
    actor_id: int | None,
    action: str,
    entity: SQLModel,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    period_id: int | None = None,
    unit_id: int | None = None,
    cadre_id: int | None = None,
    task_id: int | None = None,
) -> None:
    """Append an audit row for `entity` (flushed first so new rows have their id)."""
    ctx.session.flush()
    # A plain INSERT in the operation's transaction (savepoint included): nothing reads the
    # row back as an object, so it need not pass through the session's unit of work.
    ctx.session.connection().execute(_INSERT, {
        "at": ctx.now,
        "actor_id": actor_id,
        "action": action,
        "entity": str(getattr(type(entity), "__tablename__", type(entity).__name__)),
        "entity_id": getattr(entity, "id", None),
        "period_id": period_id,
        "unit_id": unit_id,
        "cadre_id": cadre_id,
        "task_id": task_id,
        "before": before,
        "after": after if after is not None else snapshot(entity),
    })
