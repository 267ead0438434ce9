"""What the command line and the bot both do with workbooks: import a file, write one, and
say what happened in the user's language. One place, so both answer the same way.

A file sent to the bot is imported as a job (models/jobs.py, JobKind.IMPORT): its bytes are
stored with the job (`import_payload`), a worker runs `import_job`, and what came of it goes to
the admin through the outbox as plain data, worded in their language when it is sent
(`import_done_lines`)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

from models.errors import Refused
from models.excel_format import MAX_FILE_BYTES, PROBLEMS_LISTED, ROSTER, TASKS, WORKBOOKS, detect
from models.exporting import results, roster_rows, task_rows
from models.import_roster import import_roster
from models.import_tasks import import_tasks
from models.importing import (
    Counts,
    ImportResult,
    InvalidWorkbook,
    Problem,
    SheetData,
    data_rows,
    file_too_large,
    named_sheets,
    wrong_workbook,
)
from models.jobs import FILE, TELEGRAM_FILE
from models.store import Ctx, Store, refusable
from models.tables import Period
from ui.i18n import Translator

# ui/workbooks.py is imported by the functions that read or write a workbook, when first called:
# openpyxl brings numpy, ~35 MB that a bot process which never sees a file need not hold (the
# bot's memory goal is 150 MB at 20,000 cadres).

Progress = Callable[[int], None]
IMPORTERS = {ROSTER: import_roster, TASKS: import_tasks}


def load(path: Path) -> bytes:
    """A file's bytes, for `read`. Past MAX_FILE_BYTES it is refused from its size before any of
    it is read, and no more than the limit and one byte is ever read: a file of gigabytes, or
    a device with no size and no end (/dev/zero), costs no more memory than a file at the limit."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise file_too_large(size)
    with path.open("rb") as stream:
        content = stream.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:  # no size to tell (a device, a pipe), or it grew since
        raise file_too_large(None)
    return content


def read(content: bytes, kind: str | None = None) -> tuple[str, dict[str, SheetData]]:
    """The workbook's sheets and which kind it is (given, or told by its sheet names)."""
    from ui import workbooks
    sheets = named_sheets(workbooks.read_workbook(content))
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


# -- an import sent to the bot, as a job ------------------------------------------------------


def import_payload(content: bytes, actor_id: int) -> dict[str, Any]:
    """What an IMPORT job keeps: who sent the file (their right is checked when it runs) and
    the file itself (the bot caps it at MAX_FILE_BYTES)."""
    return {"actor": actor_id, FILE: base64.b64encode(content).decode("ascii")}


def sent_payload(file_id: str, actor_id: int) -> dict[str, Any]:
    """What an IMPORT job of a file sent to the bot keeps until it runs: who sent it and
    Telegram's file_id; the runner fetches the file (bot/jobs.py)."""
    return {"actor": actor_id, TELEGRAM_FILE: file_id}


def import_job(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    """The IMPORT job's work, in the job's transaction: check and import the file all or
    nothing (a savepoint: a refused file undoes only itself). Returns what to tell the admin
    as data: what was imported, or why nothing was."""
    actor_id = int(payload["actor"])
    try:
        found, sheets = read(base64.b64decode(payload[FILE]))
        result = refusable(ctx, lambda c: IMPORTERS[found](c, actor_id, sheets, None))
    except InvalidWorkbook as refusal:  # the first problems are enough to say what to fix
        return {"refused": len(refusal.problems),
                "problems": [_problem_data(p) for p in refusal.problems[:PROBLEMS_LISTED]]}
    except Refused as refusal:  # the operations' own refusals (a locked period, say)
        return {"refusal": refusal.code, "params": {k: str(v) for k, v in refusal.params.items()}}
    return {"kind": result.kind, "changed": result.changed,
            "counts": {key: [c.created, c.updated, c.unchanged]
                       for key, c in result.counts.items()}}


def _problem_data(problem: Problem) -> dict[str, Any]:
    return {"sheet": problem.sheet, "row": problem.row, "column": problem.column,
            "code": problem.code, "params": dict(problem.params)}


def rows_to_import(sheets: dict[str, SheetData]) -> int:
    return data_rows(sheets)


def template(kind: str, store: Store, t: Translator) -> bytes:
    from ui import workbooks
    return workbooks.import_workbook(kind, store.rules, t)


def export_roster(store: Store, t: Translator) -> bytes:
    with store.session() as session:
        rows = roster_rows(session, store.rules)
    from ui import workbooks
    return workbooks.import_workbook("roster", store.rules, t, rows)


def export_tasks(store: Store, period: Period, t: Translator) -> bytes:
    with store.session() as session:
        rows = task_rows(session, store.rules, period)
    from ui import workbooks
    return workbooks.import_workbook("tasks", store.rules, t, rows)


def export_results(store: Store, period: Period, t: Translator) -> bytes:
    with store.session() as session:
        found = results(session, store.rules, period)
    from ui import workbooks
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
    return _refused(t, refusal.problems[:limit], len(refusal.problems))


def _refused(t: Translator, listed: list[Problem], count: int) -> list[str]:
    lines = [t("excel.refused", count=count), *(problem_text(t, p) for p in listed)]
    if count > len(listed):
        lines.append(t("excel.more_problems", count=count - len(listed)))
    return lines


def result_lines(t: Translator, result: ImportResult) -> list[str]:
    names = {f.key: f.name for f in WORKBOOKS[result.kind]}
    lines = [t("excel.imported" if result.changed else "excel.nothing_changed")]
    for key, counts in result.counts.items():
        lines.append(t("excel.counts", sheet=names[key], created=counts.created,
                       updated=counts.updated, unchanged=counts.unchanged))
    return lines


def import_done_lines(t: Translator, done: dict[str, Any]) -> list[str]:
    """What `import_job` returned, in t's language: the same lines as `kaohe import` says.
    (A refusal of an operation is worded by the caller, which has the renderer.)"""
    if "refused" in done:
        listed = [Problem(p["sheet"], int(p["row"]), p["column"], p["code"], dict(p["params"]))
                  for p in done["problems"]]
        return _refused(t, listed, int(done["refused"]))
    counts = {key: Counts(*numbers) for key, numbers in done["counts"].items()}
    return result_lines(t, ImportResult(done["kind"], counts))
