"""What the command line and the bot both do with workbooks: import a file, write one, and
say what happened in the user's language. One place, so both answer the same way."""

from __future__ import annotations

from collections.abc import Callable

from models.excel_format import PROBLEMS_LISTED, ROSTER, TASKS, WORKBOOKS, detect
from models.exporting import results, roster_rows, task_rows
from models.import_roster import import_roster
from models.import_tasks import import_tasks
from models.importing import (
    ImportResult,
    InvalidWorkbook,
    Problem,
    SheetData,
    data_rows,
    wrong_workbook,
)
from models.store import Store
from models.tables import Period
from ui import workbooks
from ui.i18n import Translator

Progress = Callable[[int], None]
IMPORTERS = {ROSTER: import_roster, TASKS: import_tasks}


def read(content: bytes, kind: str | None = None) -> tuple[str, dict[str, SheetData]]:
    """The workbook's sheets and which kind it is (given, or told by its sheet names)."""
    sheets = workbooks.read_workbook(content)
    found = kind or detect(list(sheets))
    if found is None:
        raise wrong_workbook([name for name, s in sheets.items() if s.headers or s.rows])
    return found, sheets


def import_sheets(store: Store, kind: str, sheets: dict[str, SheetData], *,
                  actor_id: int | None = None, progress: Progress | None = None) -> ImportResult:
    """Check and import in one transaction: all of it, or (InvalidWorkbook) nothing."""
    return store.run(lambda ctx: IMPORTERS[kind](ctx, actor_id, sheets, progress))


def import_file(store: Store, content: bytes, *, kind: str | None = None,
                actor_id: int | None = None) -> ImportResult:
    found, sheets = read(content, kind)
    return import_sheets(store, found, sheets, actor_id=actor_id)


def rows_to_import(sheets: dict[str, SheetData]) -> int:
    return data_rows(sheets)


def template(kind: str, store: Store, t: Translator) -> bytes:
    return workbooks.import_workbook(kind, store.rules, t)


def export_roster(store: Store, t: Translator) -> bytes:
    with store.session() as session:
        rows = roster_rows(session, store.rules)
    return workbooks.import_workbook("roster", store.rules, t, rows)


def export_tasks(store: Store, period: Period, t: Translator) -> bytes:
    with store.session() as session:
        rows = task_rows(session, store.rules, period)
    return workbooks.import_workbook("tasks", store.rules, t, rows)


def export_results(store: Store, period: Period, t: Translator) -> bytes:
    with store.session() as session:
        found = results(session, store.rules, period)
    return workbooks.results_workbook(found, period.name, store.rules, t)


# -- what to say ---------------------------------------------------------------------------


def problem_text(t: Translator, problem: Problem) -> str:
    why = t(f"excel.problem.{problem.code}", **problem.params)
    if not problem.sheet:
        return why
    if problem.row == 0:
        return t("excel.at_sheet", sheet=problem.sheet, why=why)
    return t("excel.at_cell", sheet=problem.sheet, row=problem.row, column=problem.column,
             why=why)


def refused_lines(t: Translator, refusal: InvalidWorkbook,
                  limit: int = PROBLEMS_LISTED) -> list[str]:
    """The heading, one line for each of the first `limit` bad cells, and how many more."""
    problems = refusal.problems
    lines = [t("excel.refused", count=len(problems)),
             *(problem_text(t, p) for p in problems[:limit])]
    if len(problems) > limit:
        lines.append(t("excel.more_problems", count=len(problems) - limit))
    return lines


def result_lines(t: Translator, result: ImportResult) -> list[str]:
    names = {f.key: f.name for f in WORKBOOKS[result.kind]}
    lines = [t("excel.imported" if result.changed else "excel.nothing_changed")]
    for key, counts in result.counts.items():
        lines.append(t("excel.counts", sheet=names[key], created=counts.created,
                       updated=counts.updated, unchanged=counts.unchanged))
    return lines
