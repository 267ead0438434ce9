"""Rows as plain tuples straight from the driver's cursor, for statements that return thousands.

A SQLAlchemy Row per row costs more than most of what is done with one (a chunk of the full
recompute is some 90,000 rows; a post category's histogram of totals, read for each batch of
digests, a few thousand). Parameters go to the driver as given, without the column types'
conversions, so they must be plain values (ids, strings); no engine events fire.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.sql import Executable
from sqlmodel import Session


def rows(session: Session, statement: str | Executable,
         params: Mapping[str, Any] | None = None) -> list[Any]:
    """The statement's rows (SQL text with :named parameters, or a Core statement, whose
    expanding IN lists are rendered into it)."""
    connection = session.connection()
    clause = text(statement) if isinstance(statement, str) else statement
    compiled = clause.compile(dialect=connection.dialect,  # type: ignore[attr-defined]
                              compile_kwargs={"render_postcompile": True})
    values = compiled.construct_params(dict(params or {}))
    cursor = connection.connection.cursor()
    try:
        if compiled.positional:
            cursor.execute(compiled.string, [values[name] for name in compiled.positiontup or ()])
        else:
            cursor.execute(compiled.string, values)
        return list(cursor.fetchall())
    finally:
        cursor.close()
