"""Making workbooks the way a user would: from the template, or from scratch, with openpyxl."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from io import BytesIO
from typing import Any

from openpyxl import Workbook, load_workbook

from models.importing import InvalidWorkbook
from models.standings import refresh_all
from models.store import Store
from tests.bot.conftest import ADMIN, ALICE
from tests.bot.harness import BotHarness
from tests.support.world import World, build_world
from ui import excel_jobs
from ui.i18n import Translator


def fill_template(store: Store, kind: str, rows: Mapping[str, Sequence[Sequence[Any]]]) -> bytes:
    """The template of `kind` with each sheet's example row replaced by `rows` (by sheet name)."""
    book = load_workbook(BytesIO(excel_jobs.template(kind, store, Translator("zh_CN"))))
    for name, lines in rows.items():
        sheet = book[name]
        sheet.delete_rows(2, sheet.max_row)
        for line in lines:
            sheet.append(list(line))
    return save(book)


def workbook(sheets: dict[str, Sequence[Sequence[Any]]]) -> bytes:
    """A workbook with these sheets, each given as its rows (headers first)."""
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for name, lines in sheets.items():
        sheet = book.create_sheet(name)
        for line in lines:
            sheet.append(list(line))
    return save(book)


def save(book: Workbook) -> bytes:
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def problems(store: Store, content: bytes, locale: str = "en") -> list[str]:
    """What the user is told about a refused file, line by line (the heading first)."""
    try:
        excel_jobs.import_file(store, content)
    except InvalidWorkbook as refusal:
        return excel_jobs.refused_lines(Translator(locale), refusal)
    raise AssertionError("the file was imported")


def bot_with_admin(store: Store, *, background_sender: bool = False) -> BotHarness:
    """The bot on the small world (everyone with a standing, as after any approval), the admin
    and Alice bound to it."""
    world: World = build_world(store)
    with store.transaction() as ctx:
        refresh_all(ctx, world.year)
    harness = BotHarness(store, background_sender=background_sender)
    harness.join(world.admin, ADMIN)
    harness.join(world.alice, ALICE)
    return harness
