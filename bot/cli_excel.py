"""`kaohe template`, `kaohe import` and `kaohe export`: the Excel side of the assessment office
(docs/excel.md).

    kaohe template roster|tasks FILE.xlsx     an empty workbook: headers, an example, notes
    kaohe import roster|tasks FILE.xlsx       check every cell, then import all or nothing
    kaohe export --period P FILE.xlsx         results for printing (the same as `export results`)
    kaohe export roster FILE.xlsx             the organisation in the import format
    kaohe export tasks --period P FILE.xlsx   a period's duty lists in the import format
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlmodel import select

from bot.cli import CliState, _fail, _guarded, _period, console, main
from models.excel_format import ROSTER, TASKS
from models.importing import InvalidWorkbook
from models.migrate import upgrade
from models.tables import Cadre
from ui import excel_jobs

KINDS = click.Choice([ROSTER, TASKS])
WRITABLE = click.Path(dir_okay=False, writable=True, path_type=Path)


@main.command("template")
@click.argument("kind", type=KINDS)
@click.argument("file", type=WRITABLE)
@click.pass_obj
@_guarded
def template(state: CliState, kind: str, file: Path) -> None:
    """Write an empty roster or duty-list workbook to fill in."""
    _check_folder(state, file)
    _save(state, file, excel_jobs.template(kind, state.context.store, state.t))


@main.command("import")
@click.argument("kind", type=KINDS)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "admin_code", help="Staff code of the admin importing (default: the "
              "office, for a first import into an empty database).")
@click.pass_obj
@_guarded
def import_(state: CliState, kind: str, file: Path, admin_code: str | None) -> None:
    """Check a roster or duty-list workbook and import it: every row, or none."""
    store, t = state.context.store, state.t
    upgrade(state.context.engine)
    actor_id = _admin_id(state, admin_code)
    try:
        found, sheets = excel_jobs.read(excel_jobs.load(file), kind)
        with _progress() as progress:
            bar = progress.add_task(t("excel.importing", file=file.name),
                                    total=excel_jobs.rows_to_import(sheets))
            result = excel_jobs.import_sheets(
                store, found, sheets, actor_id=actor_id,
                progress=lambda n: progress.advance(bar, n))
    except InvalidWorkbook as refusal:
        for line in excel_jobs.refused_lines(t, refusal):
            console.print(line, markup=False)
        sys.exit(1)
    for line in excel_jobs.result_lines(t, result):
        console.print(line, markup=False)


def _admin_id(state: CliState, code: str | None) -> int | None:
    if code is None:
        return None
    with state.context.store.session() as session:
        cadre = session.exec(select(Cadre).where(Cadre.code == code)).first()
    if cadre is None:
        _fail(state.t("excel.unknown_admin", code=code))
    assert cadre is not None
    return cadre.id


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    console=console, transient=True)


class _ResultsByDefault(click.Group):
    """`kaohe export [options] FILE` is `kaohe export results [options] FILE`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args.insert(0, "results")
        return super().parse_args(ctx, args)


@main.group("export", cls=_ResultsByDefault)
def export() -> None:
    """Write a workbook: a period's results (default), the roster, or the duty lists."""


PERIOD = click.option("--period", "period_code", help="Period code (default: the active one).")


@export.command("results")
@PERIOD
@click.argument("file", type=WRITABLE)
@click.pass_obj
@_guarded
def export_results(state: CliState, period_code: str | None, file: Path) -> None:
    """A period's results: a summary sheet and one sheet per unit, ready to print."""
    _check_folder(state, file)
    period = _period(state, period_code)
    _write(state, file, lambda: excel_jobs.export_results(state.context.store, period,
                                                          state.t))


@export.command("roster")
@click.argument("file", type=WRITABLE)
@click.pass_obj
@_guarded
def export_roster(state: CliState, file: Path) -> None:
    """The units, cadres, supervisors and periods, as `kaohe import roster` reads them."""
    _check_folder(state, file)
    _write(state, file, lambda: excel_jobs.export_roster(state.context.store, state.t))


@export.command("tasks")
@PERIOD
@click.argument("file", type=WRITABLE)
@click.pass_obj
@_guarded
def export_tasks(state: CliState, period_code: str | None, file: Path) -> None:
    """A period's duty lists, as `kaohe import tasks` reads them."""
    _check_folder(state, file)
    period = _period(state, period_code)
    _write(state, file, lambda: excel_jobs.export_tasks(state.context.store, period, state.t))


def _write(state: CliState, file: Path, build: Any) -> None:
    with console.status(state.t("excel.writing", file=file.name)):
        content: bytes = build()
    _save(state, file, content)


def _check_folder(state: CliState, file: Path) -> None:
    """Before any work: the folder the workbook goes to must exist."""
    if not file.parent.is_dir():
        _fail(state.t("cli.no_folder", folder=str(file.parent), file=file.name))


def _save(state: CliState, file: Path, content: bytes) -> None:
    try:
        file.write_bytes(content)
    except OSError as exc:  # no permission, disk full, a folder by that name…
        _fail(state.t("cli.cannot_write", file=str(file), error=exc.strerror or str(exc)))
    console.print(state.t("excel.written", file=str(file)))
