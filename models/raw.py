"""Rows as plain tuples straight from the driver's cursor, for statements that return thousands.

A SQLAlchemy Row per row costs more than most of what is done with one (a chunk of the full
recompute is some 90,000 rows; a post category's histogram of totals, read for each batch of
digests, a few thousand). Parameters go to the driver as given, without the column types'
conversions, so they must be plain values (ids, strings); no engine events fire.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Integer, any_, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, Executable, coercions, roles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.operators import ColumnOperators
from sqlalchemy.sql.sqltypes import NullType
from sqlalchemy.sql.visitors import InternalTraversal
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


class one_of(ColumnElement[Any]):  # lower case: it reads as the SQL it stands for
    """`column IN (the ids in parameter `name`)`, for a statement built once and run for many
    batches. On PostgreSQL it is `column = ANY(:name)`, one array parameter: an expanding IN
    is rendered anew for every execution (SQLAlchemy writes one placeholder per id into the
    text, and psycopg converts so long a text afresh each time, uncached): 1.1 of 6 s of CPU
    under cProfile for a digest run at 20,000 cadres. Elsewhere it is the expanding IN."""

    inherit_cache = True
    type = NullType()  # a condition, not a boolean column: no "= 1" appended on SQLite
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),  # noqa: RUF012
                           ("name", InternalTraversal.dp_string)]

    def __init__(self, column: ColumnOperators, name: str) -> None:
        self.column: ColumnElement[Any] = coercions.expect(roles.ExpressionElementRole, column)
        self.name = name


@compiles(one_of)
def _expanding_in(element: one_of, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.in_(bindparam(element.name, expanding=True)), **kw)


@compiles(one_of, "postgresql")
def _any_array(element: one_of, compiler: SQLCompiler, **kw: Any) -> str:
    array = bindparam(element.name, type_=ARRAY(Integer))
    return compiler.process(element.column == any_(array), **kw)
