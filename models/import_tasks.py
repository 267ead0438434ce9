"""Importing the duty-list workbook 履职事项清单: tasks and co-operating units (docs/excel.md).

Checked whole first (models/importing.py reads the cells), then written through models/org.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlmodel import select

from models import org
from models.excel_format import COOPERATIONS, TASK_LIST, TASKS, WORKBOOKS
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
    plain_number,
)
from models.limits import MAX_COUNT
from models.standings import lock_standings, refresh_all
from models.store import Ctx
from models.tables import Cadre, Cooperation, Period, Task, Unit
from scoring import plain

# -- the duty lists ------------------------------------------------------------------------


@dataclass(slots=True)
class _TaskRow:
    number: int
    period: str
    code: str
    cadre: str | None
    unit: str | None
    title: str
    dimension: str
    category: str
    weight: Decimal
    source: str | None
    difficulty: Decimal | None
    boost: Decimal | None  # a fraction: 15 % is 0.15
    target: Decimal | None
    measure: str | None
    deadline: date | None
    recurrence: str
    parent: str | None
    lead_unit: str | None
    lead_share: Decimal  # percent

    @property
    def key(self) -> tuple[str, str]:
        return self.period, self.code


@dataclass(slots=True)
class _CoopRow:
    number: int
    period: str
    task: str
    unit: str
    share: Decimal  # percent


class _TaskContext:
    """What the duty-list checks look codes up in: the database's rows and the file's."""

    def __init__(self, ctx: Ctx) -> None:
        self.periods: dict[str, Period] = codes_of(ctx, Period)
        self.cadres: dict[str, Cadre] = codes_of(ctx, Cadre)
        self.units: dict[str, Unit] = codes_of(ctx, Unit)
        by_period = {p.id: p.code for p in self.periods.values()}
        self.tasks: dict[tuple[str, str], Task] = {
            (by_period[t.period_id], t.code): t for t in ctx.session.exec(select(Task)).all()}
        by_task = {t.id: key for key, t in self.tasks.items()}
        self.cooperations: dict[tuple[str, str, str], Cooperation] = {}
        unit_codes = {u.id: u.code for u in self.units.values()}
        for c in ctx.session.exec(select(Cooperation)).all():
            self.cooperations[(*by_task[c.task_id], unit_codes[c.unit_id])] = c


def import_tasks(ctx: Ctx, actor_id: int | None, sheets: dict[str, SheetData],
                 progress: Progress | None = None) -> ImportResult:
    """Duty items and their co-operating units from a duty-list workbook."""
    check_actor(ctx, actor_id)
    book = Book(ctx, TASKS, sheets)
    book.raise_if_any()
    known = _TaskContext(ctx)
    task_rows = _read_tasks(ctx, book, known)
    coop_rows = _read_cooperations(book, known, {r.key: r for r in task_rows})
    book.raise_if_any()

    step = progress or (lambda _n: None)
    counts = {f.key: Counts() for f in WORKBOOKS[TASKS]}
    touched: set[str] = set()
    for row in parents_first(task_rows, lambda r: f"{r.period}\n{r.code}",
                              lambda r: None if r.parent is None else
                              f"{r.period}\n{r.parent}"):
        period = known.periods[row.period]
        values: dict[str, Any] = dict(
            title=row.title, dimension=row.dimension, category=row.category,
            weight=row.weight, cadre=known.cadres.get(row.cadre or ""),
            unit=known.units.get(row.unit or ""), source=row.source,
            difficulty=row.difficulty, boost=row.boost, target=row.target,
            measure=row.measure, deadline=row.deadline, recurrence=row.recurrence,
            parent=None if row.parent is None else known.tasks[(row.period, row.parent)],
            lead_unit=None if row.lead_unit is None else known.units[row.lead_unit])
        found = known.tasks.get(row.key)
        if found is None:
            known.tasks[row.key] = org.add_task(ctx, actor_id, period=period, code=row.code,
                                                **values)
            ctx.session.flush()
        changed = found is not None and org.update_task(ctx, actor_id, found, **values)
        counts["tasks"].add(found is None, changed)
        if found is None or changed:
            touched.add(row.period)
        step(1)
    for coop in coop_rows:
        share = coop.share / 100
        existing = known.cooperations.get((coop.period, coop.task, coop.unit))
        if existing is None:
            org.add_cooperation(ctx, actor_id, known.tasks[(coop.period, coop.task)],
                                known.units[coop.unit], share)
        changed = existing is not None and org.update_cooperation(ctx, actor_id, existing,
                                                                  share)
        counts["cooperations"].add(existing is None, changed)
        if existing is None or changed:
            touched.add(coop.period)
        step(1)
    lock_standings(ctx, [known.periods[code] for code in touched])  # all at once, in one order
    for code in sorted(touched):
        refresh_all(ctx, known.periods[code])
    return ImportResult(TASKS, counts)


def _read_tasks(ctx: Ctx, book: Book, known: _TaskContext) -> list[_TaskRow]:
    rows: list[_TaskRow] = []
    seen: dict[object, int] = {}
    for cells in book.cells(TASK_LIST):
        row = _read_task(ctx, book, cells, known)
        if row is not None:
            book.unique(TASK_LIST, "task_code", cells, row.key, seen)
            rows.append(row)
    # Parents: in the file or the database, in the same period, and never a loop.
    keys = set(known.tasks) | {r.key for r in rows}
    by_id = {t.id: f"{p}\n{c}" for (p, c), t in known.tasks.items()}
    parents: dict[str, str | None] = {
        f"{p}\n{c}": by_id.get(t.parent_id) for (p, c), t in known.tasks.items()}
    parents.update({f"{r.period}\n{r.code}": None if r.parent is None else
                    f"{r.period}\n{r.parent}" for r in rows})
    for row in rows:
        if row.parent is None:
            continue
        cells = Cells(book, TASK_LIST, RowData(row.number, {}))
        if (row.period, row.parent) not in keys:
            cells.bad("parent_task", "unknown_code", value=row.parent)
            continue
        loop = cycle(parents, f"{row.period}\n{row.code}")
        if loop is not None:
            cells.bad("parent_task", "cycle",
                      chain=" → ".join(step.split("\n")[1] for step in loop))
    return rows


def _read_task(ctx: Ctx, book: Book, cells: Cells, known: _TaskContext) -> _TaskRow | None:
    period_code, code = cells.code("task_period"), cells.code("task_code")
    if not book.unknown(cells, "task_period", period_code, known.periods) and period_code \
            and known.periods[period_code].locked:
        cells.bad("task_period", "period_locked", value=period_code)
    cadre, unit = cells.code("assessee_cadre"), cells.code("assessee_unit")
    if cadre is None and unit is None:
        cells.bad("assessee_cadre", "no_assessee")
    elif cadre is not None and unit is not None:
        cells.bad("assessee_unit", "two_assessees")
    book.unknown(cells, "assessee_cadre", cadre, known.cadres)
    book.unknown(cells, "assessee_unit", unit, known.units)
    owner: Cadre | Unit | None = known.cadres.get(cadre or "") or known.units.get(unit or "")
    policy = None if owner is None else ctx.rules.policy(owner.post_category)
    title = cells.text("title")
    dimension, category = cells.choice("dimension"), cells.choice("category")
    if category is not None and policy is not None and category not in policy.category_weights:
        cells.bad("category", "not_in_policy", value=book.vocab["category"][category])
    weight = cells.number("weight", places=2, positive=True, high=Decimal(1000))
    source = cells.choice("source")
    low, high = policy.difficulty_range if policy is not None else (None, None)
    difficulty = cells.number("difficulty", places=3, low=decimal_bound(low),
                              high=decimal_bound(high))
    if source is None and cells.raw("difficulty") is None:
        cells.bad("difficulty", "difficulty_or_source")
    boost_low, boost_high = policy.boost_range if policy is not None else (None, None)
    boost = cells.number("boost", places=1, low=decimal_bound(boost_low, 100),
                         high=decimal_bound(boost_high, 100))
    if boost is not None and dimension == "basic":
        cells.bad("boost", "boost_key_only")
    # No more than a count toward it may be (models/limits.py): the database keeps no more.
    target = cells.number("target", places=4, positive=True, low=Decimal(0), high=MAX_COUNT)
    measure = cells.text("measure")
    if measure is not None and cells.raw("target") is None:
        cells.bad("measure", "measure_without_target")
    deadline = cells.date("deadline")
    recurrence = cells.choice("recurrence") or "once"
    parent, lead = cells.code("parent_task"), cells.code("lead_unit")
    book.unknown(cells, "lead_unit", lead, known.units)
    lead_share = cells.number("lead_share", places=1, low=Decimal(0),
                              high=Decimal(100)) or Decimal(0)
    if period_code is None or code is None:
        return None
    existing = known.tasks.get((period_code, code))
    if existing is not None and owner is not None and (
            (existing.cadre_id, existing.unit_id) != (
                owner.id if isinstance(owner, Cadre) else None,
                owner.id if isinstance(owner, Unit) else None)):
        cells.bad("assessee_cadre" if cadre else "assessee_unit", "assessee_changed")
    return _TaskRow(
        cells.line, period_code, code, cadre, unit, title or "", dimension or "",
        category or "", weight or Decimal(1), source, difficulty,
        None if boost is None else boost / 100, target, measure, deadline, recurrence,
        parent, lead, lead_share)


def decimal_bound(value: Fraction | None, scale: int = 1) -> Decimal | None:
    """A policy bound (an exact rational, maybe gmpy2's) as a decimal, times `scale`."""
    return None if value is None else Decimal(plain(value * scale))


def _read_cooperations(book: Book, known: _TaskContext,
                       tasks: dict[tuple[str, str], _TaskRow]) -> list[_CoopRow]:
    rows: list[_CoopRow] = []
    seen: dict[object, int] = {}
    unsure: set[tuple[str, str]] = set()
    for cells in book.cells(COOPERATIONS):
        period, task, unit = (cells.code("coop_period"), cells.code("coop_task"),
                              cells.code("coop_unit"))
        share = cells.number("share", places=1, positive=True)
        book.unknown(cells, "coop_period", period, known.periods)
        book.unknown(cells, "coop_unit", unit, known.units)
        if period is None or task is None or unit is None:
            continue
        row, stored = tasks.get((period, task)), known.tasks.get((period, task))
        if row is None and stored is None:
            cells.bad("coop_task", "unknown_code", value=task)
            continue
        book.unique(COOPERATIONS, "coop_unit", cells, (period, task, unit), seen)
        leads = {row.unit, row.lead_unit} if row is not None else {
            u.code for u in known.units.values()
            if stored is not None and u.id in (stored.unit_id, stored.lead_unit_id)}
        if unit in leads:
            cells.bad("coop_unit", "cooperator_is_lead", value=unit)
        elif share is None:
            unsure.add((period, task))  # its shares cannot be added up
        else:
            rows.append(_CoopRow(cells.line, period, task, unit, share))
    # Per task: the lead unit's share and the co-operating units' shares make the whole task.
    groups: dict[tuple[str, str], list[_CoopRow]] = {}
    for coop in rows:
        groups.setdefault((coop.period, coop.task), []).append(coop)
    for key, group in groups.items():
        if key in unsure:
            continue
        lead = tasks[key].lead_share if key in tasks else Decimal(0)
        total = lead + sum((c.share for c in group), Decimal(0))
        if total != 100:
            cells = Cells(book, COOPERATIONS, RowData(group[0].number, {}))
            cells.bad("share", "shares_sum", task=key[1], total=plain_number(total),
                      lead=plain_number(lead))
    return rows
