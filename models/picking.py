"""What the pickers of the bot's dialogs list: the units, a unit's people or its tasks in a
period, and what a typed name or code finds. Read-only; the operation a pick leads to checks
every right again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from models.limits import clean_text
from models.tables import Cadre, Task, Unit

Row = TypeVar("Row", Cadre, Task)


@dataclass(frozen=True)
class Found(Generic[Row]):
    """What a search found: the first `shown` rows, and how many matched in all."""

    rows: list[Row]
    total: int


def units(session: Session) -> list[Unit]:
    """Every unit, in the order of the organisation tree (a unit before those below it, and
    units side by side in the order they were made). A path is ids ("/1/2/10/"), which the
    database would sort as text, putting /1/10/ before /1/2/."""
    return sorted(session.exec(select(Unit)).all(), key=tree_order)


def tree_order(unit: Unit) -> tuple[int, ...]:
    return tuple(int(part) for part in unit.path.strip("/").split("/") if part)


def unit_count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Unit)).one())


def child_units(session: Session, parent_id: int | None) -> list[Unit]:
    """The units right below `parent_id` (None: the top of the tree), in the tree's order."""
    parent = (col(Unit.parent_id).is_(None) if parent_id is None
              else col(Unit.parent_id) == parent_id)
    return list(session.exec(select(Unit).where(parent).order_by(col(Unit.id))).all())


def unit_cadres(session: Session, unit_id: int, *, with_inactive: bool = False) -> list[Cadre]:
    query = select(Cadre).where(Cadre.unit_id == unit_id)
    if not with_inactive:
        query = query.where(col(Cadre.active))
    return list(session.exec(query.order_by(col(Cadre.code))).all())


def unit_tasks(session: Session, period_id: int, unit_id: int, *,
               key_only: bool = False) -> list[Task]:
    """The unit's own tasks and those of its people, in the period."""
    members = select(Cadre.id).where(Cadre.unit_id == unit_id)
    query = select(Task).where(Task.period_id == period_id, or_(
        col(Task.unit_id) == unit_id, col(Task.cadre_id).in_(members)))
    if key_only:
        query = query.where(Task.dimension == "key")
    return list(session.exec(query.order_by(col(Task.code))).all())


def find_cadres(session: Session, typed: str, limit: int, *,
                with_inactive: bool = False) -> Found[Cadre]:
    """The cadre whose staff code this is; else those whose name contains the text."""
    text = clean_text(typed).strip()
    if not text:
        return Found([], 0)
    exact = session.exec(select(Cadre).where(Cadre.code == text)).first()
    if exact is not None and (with_inactive or exact.active):
        return Found([exact], 1)
    query = select(Cadre).where(_containing(session, col(Cadre.name), text))
    if not with_inactive:
        query = query.where(col(Cadre.active))
    return _found(session, query.order_by(col(Cadre.code)), limit)


def find_tasks(session: Session, period_id: int, typed: str, limit: int) -> Found[Task]:
    """The period's task with this code; else those whose title contains the text."""
    text = clean_text(typed).strip()
    if not text:
        return Found([], 0)
    in_period = select(Task).where(Task.period_id == period_id)
    exact = session.exec(in_period.where(Task.code == text)).first()
    if exact is not None:
        return Found([exact], 1)
    query = in_period.where(_containing(session, col(Task.title), text))
    return _found(session, query.order_by(col(Task.code)), limit)


def _containing(session: Session, column: Any, text: str) -> ColumnElement[bool]:
    """Contains `text`, whatever its case. SQLite's LIKE ignores ASCII case already, and a
    plain LIKE scans 800,000 task titles three times faster there than lower() on both sides."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(ColumnElement[bool], column.contains(text, autoescape=True))
    return cast(ColumnElement[bool], column.icontains(text, autoescape=True))


def units_named(session: Session, typed: str, limit: int) -> list[Unit]:
    """The units whose name contains the text (a search may name a unit, not a person)."""
    text = clean_text(typed).strip()
    if not text:
        return []
    found = session.exec(select(Unit).where(_containing(session, col(Unit.name), text))
                         .order_by(col(Unit.id)).limit(limit)).all()
    return sorted(found, key=tree_order)


def _found(session: Session, query: SelectOfScalar[Row], limit: int) -> Found[Row]:
    rows: Sequence[Row] = session.exec(query.limit(limit)).all()
    if len(rows) < limit:
        return Found(list(rows), len(rows))
    total = session.exec(select(func.count()).select_from(query.order_by(None).subquery())).one()
    return Found(list(rows), int(total))


def owner_names(session: Session, tasks: Sequence[Task]) -> dict[int, str]:
    """Whose each task is (a person's name, or a unit's): titles repeat from person to person."""
    cadre_ids = {t.cadre_id for t in tasks if t.cadre_id is not None}
    unit_ids = {t.unit_id for t in tasks if t.unit_id is not None}
    cadres = dict(session.exec(select(Cadre.id, Cadre.name).where(
        col(Cadre.id).in_(cadre_ids))).all()) if cadre_ids else {}
    unit_names = dict(session.exec(select(Unit.id, Unit.name).where(
        col(Unit.id).in_(unit_ids))).all()) if unit_ids else {}
    return {t.id or 0: (cadres.get(t.cadre_id) if t.cadre_id is not None
                        else unit_names.get(t.unit_id or 0)) or "" for t in tasks}
