"""Importing the roster workbook: units, cadres, supervisors and periods (docs/excel.md).

Checked whole first (models/importing.py reads the cells), then written through models/org.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import col, select

from models import org
from models.excel_format import CADRES, PERIODS, ROSTER, SUPERVISION, UNITS, WORKBOOKS
from models.importing import (
    Book,
    Cells,
    Counts,
    ImportResult,
    Progress,
    RowData,
    SheetData,
    check_actor,
    codes_of,
    cycle,
    parents_first,
)
from models.standings import lock_standings, refresh_all
from models.store import Ctx
from models.tables import Cadre, Period, Supervision, Task, Unit

# -- the roster ----------------------------------------------------------------------------


@dataclass(slots=True)
class _UnitRow:
    number: int
    code: str
    name: str
    kind: str
    parent: str | None
    post_category: str
    timezone: str | None
    rating_pool: bool | None  # blank: the default (models/rating_pools.py)


@dataclass(slots=True)
class _CadreRow:
    code: str
    name: str
    unit: str
    post_category: str | None
    profile: str
    is_admin: bool
    locale: str | None


@dataclass(slots=True)
class _PeriodRow:
    number: int
    code: str
    name: str
    kind: str
    starts_on: date
    ends_on: date
    parent: str | None
    active: bool


def import_roster(ctx: Ctx, actor_id: int | None, sheets: dict[str, SheetData],
                  progress: Progress | None = None) -> ImportResult:
    """Units, cadres, supervisors and periods from a roster workbook."""
    check_actor(ctx, actor_id)
    book = Book(ctx, ROSTER, sheets)
    book.raise_if_any()
    units, cadres, periods = codes_of(ctx, Unit), codes_of(ctx, Cadre), codes_of(ctx, Period)
    unit_rows = _read_units(book, units)
    unit_codes = set(units) | {r.code for r in unit_rows}
    cadre_rows = _read_cadres(book, unit_codes)
    links = _read_supervision(book, unit_codes, set(cadres) | {r.code for r in cadre_rows})
    period_rows = _read_periods(book, periods)
    book.raise_if_any()

    step = progress or (lambda _n: None)
    counts = {f.key: Counts() for f in WORKBOOKS[ROSTER]}
    for prow in parents_first(period_rows, lambda r: r.code, lambda r: r.parent):
        parent = None if prow.parent is None else periods[prow.parent]
        found = periods.get(prow.code)
        if found is None:
            periods[prow.code] = org.add_period(
                ctx, actor_id, code=prow.code, name=prow.name, kind=prow.kind,
                starts_on=prow.starts_on, ends_on=prow.ends_on, parent=parent,
                active=prow.active)
            ctx.session.flush()
        changed = found is not None and org.update_period(
            ctx, actor_id, found, name=prow.name, kind=prow.kind, starts_on=prow.starts_on,
            ends_on=prow.ends_on, parent=parent, active=prow.active)
        counts["periods"].add(found is None, changed)
        step(1)
    for urow in parents_first(unit_rows, lambda r: r.code, lambda r: r.parent):
        parent_unit = None if urow.parent is None else units[urow.parent]
        found_unit = units.get(urow.code)
        if found_unit is None:
            units[urow.code] = org.add_unit(
                ctx, actor_id, code=urow.code, name=urow.name, kind=urow.kind,
                post_category=urow.post_category, parent=parent_unit, timezone=urow.timezone,
                rating_pool=urow.rating_pool)
        changed = found_unit is not None and org.update_unit(
            ctx, actor_id, found_unit, name=urow.name, kind=urow.kind,
            post_category=urow.post_category, parent=parent_unit, timezone=urow.timezone,
            rating_pool=urow.rating_pool)
        counts["units"].add(found_unit is None, changed)
        step(1)
    for crow in cadre_rows:
        found_cadre = cadres.get(crow.code)
        values: dict[str, Any] = dict(
            name=crow.name, unit=units[crow.unit], post_category=crow.post_category,
            profile=crow.profile, is_admin=crow.is_admin, locale=crow.locale)
        if found_cadre is None:
            cadres[crow.code] = org.add_cadre(ctx, actor_id, code=crow.code, **values)
        changed = found_cadre is not None and org.update_cadre(ctx, actor_id, found_cadre,
                                                               **values)
        counts["cadres"].add(found_cadre is None, changed)
        step(1)
    ctx.session.flush()
    existing_links = set(ctx.session.exec(select(Supervision.cadre_id, Supervision.unit_id)))
    for cadre_code, unit_code in links:
        cadre, unit = cadres[cadre_code], units[unit_code]
        new = (cadre.id, unit.id) not in existing_links
        if new:
            org.add_supervision(ctx, actor_id, cadre, unit)
        counts["supervision"].add(new, False)
        step(1)
    result = ImportResult(ROSTER, counts)
    if result.changed:  # post categories, profiles and units decide scores and ranks
        _refresh_open_periods(ctx)
    return result


def _read_units(book: Book, units: dict[str, Unit]) -> list[_UnitRow]:
    rows: list[Any] = []
    seen: dict[object, int] = {}
    for cells in book.cells(UNITS):
        code = cells.code("unit_code")
        book.unique(UNITS, "unit_code", cells, code, seen)
        row = _UnitRow(cells.line, code or "", cells.text("unit_name") or "",
                       cells.choice("unit_kind") or "", cells.code("parent_unit"),
                       cells.choice("post_category") or "", cells.text("timezone"),
                       cells.flag("rating_pool"))
        if row.timezone is not None:
            try:
                ZoneInfo(row.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                cells.bad("timezone", "unknown_timezone", value=row.timezone)
        if code:
            rows.append(row)
    # Parents: the file's rows over what the database says; every loop is named on its rows.
    by_id = {u.id: u.code for u in units.values()}
    parents: dict[str, str | None] = {u.code: by_id.get(u.parent_id) for u in units.values()}
    parents.update({r.code: r.parent for r in rows})
    known = set(parents)
    for row in rows:
        cells = Cells(book, UNITS, RowData(row.number, {}))
        if book.unknown(cells, "parent_unit", row.parent, known):
            continue
        loop = cycle(parents, row.code) if row.parent is not None else None
        if loop is not None:
            cells.bad("parent_unit", "cycle", chain=" → ".join(loop))
    return rows


def _read_cadres(book: Book, unit_codes: set[str]) -> list[_CadreRow]:
    rows: list[Any] = []
    seen: dict[object, int] = {}
    for cells in book.cells(CADRES):
        code = cells.code("cadre_code")
        book.unique(CADRES, "cadre_code", cells, code, seen)
        unit = cells.code("cadre_unit")
        book.unknown(cells, "cadre_unit", unit, unit_codes)
        row = _CadreRow(code or "", cells.text("cadre_name") or "", unit or "",
                        cells.choice("cadre_post"), cells.choice("profile") or "standard",
                        bool(cells.flag("is_admin")), cells.choice("locale"))
        if code:
            rows.append(row)
    return rows


def _read_supervision(book: Book, unit_codes: set[str],
                      cadre_codes: set[str]) -> list[tuple[str, str]]:
    links: list[tuple[str, str]] = []
    seen: dict[object, int] = {}
    for cells in book.cells(SUPERVISION):
        cadre, unit = cells.code("supervisor"), cells.code("supervised_unit")
        book.unknown(cells, "supervisor", cadre, cadre_codes)
        book.unknown(cells, "supervised_unit", unit, unit_codes)
        if cadre and unit:
            book.unique(SUPERVISION, "supervised_unit", cells, (cadre, unit), seen)
            links.append((cadre, unit))
    return list(dict.fromkeys(links))


def _read_periods(book: Book, periods: dict[str, Period]) -> list[_PeriodRow]:
    rows: list[_PeriodRow] = []
    seen: dict[object, int] = {}
    active_row: int | None = None
    for cells in book.cells(PERIODS):
        code = cells.code("period_code")
        book.unique(PERIODS, "period_code", cells, code, seen)
        starts, ends = cells.date("starts_on"), cells.date("ends_on")
        if starts and ends and starts > ends:
            cells.bad("ends_on", "dates_reversed", starts=starts.isoformat())
        parent = cells.code("parent_period")
        active = bool(cells.flag("active"))
        if active and active_row is not None:
            cells.bad("active", "two_active", first=active_row)
        active_row = cells.line if active and active_row is None else active_row
        if code and parent == code:
            cells.bad("parent_period", "cycle", chain=f"{code} → {code}")
        row = _PeriodRow(cells.line, code or "", cells.text("period_name") or "",
                         cells.choice("period_kind") or "", starts or date.min,
                         ends or date.min, parent, active)
        if code:
            rows.append(row)
    known = set(periods) | {r.code for r in rows}
    for row in rows:
        book.unknown(Cells(book, PERIODS, RowData(row.number, {})), "parent_period",
                     row.parent, known)
    return rows


def _refresh_open_periods(ctx: Ctx) -> None:
    """Recompute every standing of each unlocked period that has duty items."""
    with_tasks = set(ctx.session.exec(select(Task.period_id).distinct()).all())
    periods = [period for period in ctx.session.exec(
        select(Period).where(col(Period.locked).is_(False)).order_by(col(Period.id))).all()
        if period.id in with_tasks]
    lock_standings(ctx, periods)  # all at once, in one order
    for period in periods:
        refresh_all(ctx, period)
