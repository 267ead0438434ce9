"""Whole-database snapshots, to show that a refused operation changed nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, select
from sqlmodel import SQLModel

import models.tables  # noqa: F401  (registers the tables)
from models.errors import Refused


def snapshot(engine: Engine, *, skip: tuple[str, ...] = ("audit_entry",)) -> dict[str, list[Any]]:
    """Every row of every table (but `skip`), in primary-key order."""
    metadata: MetaData = SQLModel.metadata
    result: dict[str, list[Any]] = {}
    with engine.connect() as connection:
        for name, table in sorted(metadata.tables.items()):
            if name in skip:
                continue
            order = list(table.primary_key.columns)
            rows = connection.execute(select(table).order_by(*order))
            result[name] = [tuple(row) for row in rows]
    return result


def audit_actions(engine: Engine) -> list[str]:
    table = SQLModel.metadata.tables["audit_entry"]
    with engine.connect() as connection:
        return [row.action for row in connection.execute(select(table).order_by(table.c.id))]


def refused_without_change(engine: Engine, code: str, action: Callable[[], object], *,
                           skip: tuple[str, ...] = ("audit_entry",)) -> Refused:
    """Run `action`, expect the refusal `code`, and show the database is exactly as before
    (but the tables in `skip`: the audit log, where audited refusals are written)."""
    before = snapshot(engine, skip=skip)
    with pytest.raises(Refused) as caught:
        action()
    assert caught.value.code == code
    assert snapshot(engine, skip=skip) == before
    return caught.value
