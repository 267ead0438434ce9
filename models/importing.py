"""Importing workbooks: what models/import_roster.py and models/import_tasks.py share.

The whole file is read and checked first, and every bad cell is reported (sheet, row, column,
why) as a `Problem`; a file with any problem raises `InvalidWorkbook` and writes nothing. A good
file is written through the audited operations of models/org.py in the caller's transaction.
Codes are the stable keys: a row whose code exists updates that row when something differs,
and an unchanged row is not touched, so importing the same file twice changes nothing.
Nothing is ever deleted by an import.

Here: the plain data a workbook is read into (`SheetData`; ui/workbooks.py reads the .xlsx,
no openpyxl here), typed and checked cell reads (`Cells`), the sheet layout checks (`Book`),
and the helpers both imports use.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, TypeVar

from sqlmodel import select

from models.access import actor, require_admin
from models.errors import Refused
from models.excel_format import (
    EXAMPLE_PREFIX,
    MAX_FILE_BYTES,
    MAX_UNPACKED_BYTES,
    WORKBOOKS,
    SheetFormat,
    vocabularies,
)
from models.limits import clean_text, decimal_places
from models.store import Ctx
from models.tables import Cadre, Period, Unit

Progress = Callable[[int], None]  # told how many more rows are done
R = TypeVar("R")


class NotData(str):
    """What a cell holds that is not data, as the reader found it: never a name, a title or a
    code, but the problem `code` naming the cell, its text the message's {value}."""

    __slots__ = ()
    code: ClassVar[str] = ""


class CellError(NotData):
    """An Excel error value (#N/A, #REF!, #DIV/0!…) as read from a cell: a formula that failed
    (a lookup that found nothing)."""

    __slots__ = ()
    code = "error_value"


class MergedCell(NotData):
    """A cell a merge covers, but for its top-left one: it holds no value of its own (the
    merge's shows in it), so it reads as empty. Its text is the merged range ("C2:C4")."""

    __slots__ = ()
    code = "merged_cell"


class UncomputedFormula(NotData):
    """A formula saved with no value, by a program that does not calculate (openpyxl, a
    script): read for its value, the cell is empty. Its text is the cell's reference ("B2")."""

    __slots__ = ()
    code = "uncomputed_formula"


@dataclass(frozen=True, slots=True)
class RowData:
    number: int  # the row number the spreadsheet shows
    cells: dict[str, object]  # header -> value as read (None for an empty cell)


@dataclass(frozen=True, slots=True)
class SheetData:
    name: str
    headers: tuple[str, ...]
    rows: tuple[RowData, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One bad cell (or a whole sheet, row 0; or the file, sheet ""), and why: a message id
    "excel.problem.<code>" with its parameters."""

    sheet: str
    row: int
    column: str
    code: str
    params: dict[str, str] = field(default_factory=dict)
    order: tuple[int, int, int] = (0, 0, 0)  # sheet, row, column: the order they are listed in


class InvalidWorkbook(Refused):
    """The file has problems; nothing was imported."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("invalid_workbook", count=len(problems))
        self.problems = sorted(problems, key=lambda p: p.order)


@dataclass(slots=True)
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, created: bool, changed: bool) -> None:
        if created:
            self.created += 1
        elif changed:
            self.updated += 1
        else:
            self.unchanged += 1


@dataclass(frozen=True, slots=True)
class ImportResult:
    kind: str  # roster or tasks
    counts: dict[str, Counts]  # by sheet key, in the workbook's order

    @property
    def changed(self) -> bool:
        return any(c.created or c.updated for c in self.counts.values())


def data_rows(book: dict[str, SheetData]) -> int:
    """How many rows an import will go through (for a progress bar)."""
    return sum(len(sheet.rows) for sheet in book.values())


# -- reading cells -------------------------------------------------------------------------


def _clean(value: object) -> object:
    if isinstance(value, NotData):
        return value
    if isinstance(value, str):
        value = clean_text(value).strip()  # Excel writes control characters as _x0000_
        return value or None
    return value


def _folded(text: str) -> str:
    """Full-width digits and letters to ASCII (１２ -> 12), as people type them in Chinese,
    without the invisible format characters (zero-width space, BOM, direction marks) a copy
    from a web page or a chat leaves: "P001\u200b" would be a code of its own."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf").strip()


def header_key(value: object) -> str:
    """A header as the columns are found by: folded, without spaces, so "动态上调（%）" typed
    with full-width brackets is the column "动态上调(%)", not an unknown one silently ignored."""
    return "" if value is None else "".join(_folded(str(value)).split())


def sheet_key(name: str) -> str:
    """A sheet's name as sheets are found by: as a header, and without case."""
    return header_key(name).casefold()


def named_sheets(sheets: dict[str, SheetData]) -> dict[str, SheetData]:
    """The sheets, those named as an expected sheet but for spaces, width or case ("干部 ",
    "　单位") under the expected name: the office sees 干部 there, and the import would skip
    it without a word. Two sheets that are then one name refuse the file: which one is meant?"""
    expected = {sheet_key(f.name): f.name for formats in WORKBOOKS.values() for f in formats}
    named: dict[str, SheetData] = {}
    problems = []
    for position, (name, sheet) in enumerate(sheets.items()):
        canonical = expected.get(sheet_key(name), name)
        first = named.get(canonical)
        if first is not None:
            problems.append(Problem(name, 0, "", "same_sheet_name", {"other": first.name},
                                    (position, 0, 0)))
        else:
            named[canonical] = sheet
    if problems:
        raise InvalidWorkbook(problems)
    return {canonical: replace(sheet, name=canonical) for canonical, sheet in named.items()}


_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


class Cells:
    """One row of one sheet: typed reads of its cells, each bad one noted as a Problem."""

    def __init__(self, book: Book, fmt: SheetFormat, row: RowData) -> None:
        self.book, self.fmt, self.row = book, fmt, row
        self.line = row.number

    def raw(self, key: str) -> object:
        return _clean(self.row.cells.get(self.fmt.column(key).header))

    def bad(self, key: str, code: str, **params: object) -> None:
        self.book.problem(self.fmt, self.line, key, code, **params)

    def _present(self, key: str) -> object:
        value = self.raw(key)
        if isinstance(value, NotData):
            self.bad(key, value.code, value=value)
            return None
        if value is None and self.fmt.column(key).required:
            self.bad(key, "required")
        return value

    def text(self, key: str) -> str | None:
        value = self._present(key)
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # a code typed as a number
        text = str(value)
        limit = self.fmt.column(key).max_length
        if limit is not None and len(text) > limit:
            self.bad(key, "too_long", max=limit)
            return None
        return text

    def code(self, key: str) -> str | None:
        text = self.text(key)
        return None if text is None else _folded(text)

    def choice(self, key: str) -> str | None:
        value = self._present(key)
        if value is None:
            return None
        if isinstance(value, bool):
            value = "yes" if value else "no"
        allowed = self.book.vocab[self.fmt.column(key).choices or ""]
        text = _folded(str(value))
        for code, label in allowed.items():
            if text.casefold() in (code.casefold(), label.casefold()):
                return code
        self.bad(key, "unknown_choice", value=value, allowed="、".join(allowed.values()))
        return None

    def flag(self, key: str) -> bool | None:
        choice = self.choice(key)
        return None if choice is None else choice == "yes"

    def number(self, key: str, *, places: int, low: Decimal | None = None,
               high: Decimal | None = None, positive: bool = False) -> Decimal | None:
        value = self._present(key)
        if value is None:
            return None
        if isinstance(value, bool):
            self.bad(key, "not_a_number", value=value)
            return None
        text = _folded(str(value)).replace(",", "")
        if self.fmt.column(key).kind == "percent":
            text = text.removesuffix("%")
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite():
            self.bad(key, "not_a_number", value=value)
            return None
        if decimal_places(number) > places:
            self.bad(key, "too_precise", value=value, places=places)
            return None
        number = number.normalize()
        if positive and number <= 0:
            self.bad(key, "not_positive", value=value)
            return None
        if self.fmt.column(key).kind == "percent" and number > 100:
            self.bad(key, "percent_over_100", value=value)
            return None
        if (low is not None and number < low) or (high is not None and number > high):
            self.bad(key, "out_of_range", value=value, low=plain_number(low),
                     high=plain_number(high))
            return None
        return number + 0  # normalize() may leave 1E+1: back to 10

    def date(self, key: str) -> date | None:
        value = self._present(key)
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        match = _DATE.fullmatch(_folded(str(value)))
        if match is not None:
            try:
                return date(*(int(part) for part in match.groups()))
            except ValueError:
                pass
        self.bad(key, "bad_date", value=value)
        return None


def plain_number(value: Decimal | None) -> str:
    return "—" if value is None else format(value.normalize(), "f")


class Book:
    """The workbook being checked: its sheets by key, and the problems found so far."""

    def __init__(self, ctx: Ctx, kind: str, sheets: dict[str, SheetData]) -> None:
        self.kind = kind
        self.vocab = vocabularies(ctx.rules)
        self.problems: list[Problem] = []
        self.formats = WORKBOOKS[kind]
        self.positions = {name: index for index, name in enumerate(sheets)}
        self.sheets: dict[str, SheetData] = {}
        self._check_layout(sheets)

    def problem(self, fmt: SheetFormat | None, row: int, key: str | None, code: str,
                **params: object) -> None:
        column = "" if fmt is None or key is None else fmt.column(key).header
        sheet = "" if fmt is None else fmt.name
        column_index = 0 if fmt is None or key is None else \
            [c.key for c in fmt.columns].index(key)
        self.problems.append(Problem(
            sheet, row, column, code, {k: str(v) for k, v in params.items()},
            (self.positions.get(sheet, -1), row, column_index)))

    def _check_layout(self, sheets: dict[str, SheetData]) -> None:
        expected = "、".join(f.name for f in self.formats)
        known = [f for f in self.formats if f.name in sheets]
        if not sheets or all(not s.headers and not s.rows for s in sheets.values()):
            self.problem(None, 0, None, "empty_file")
            return
        if not known:
            self.problem(None, 0, None, "wrong_sheets", found="、".join(sheets),
                         expected=expected)
            return
        names = {f.name for f in self.formats}
        for fmt in self.formats:
            if fmt.name in sheets:
                continue
            # Its columns under another name ("干部名单", "Sheet1"): it would be left out
            # without a word, and the answer would say 干部：新增 0.
            required = {c.header for c in fmt.columns if c.required}
            for name, sheet in sheets.items():
                if name not in names and required <= set(sheet.headers):
                    self.problems.append(Problem(name, 0, "", "misnamed_sheet",
                                                 {"expected": fmt.name},
                                                 (self.positions[name], 0, 0)))
        for fmt in known:
            sheet = sheets[fmt.name]
            missing = [c.header for c in fmt.columns if c.header not in sheet.headers
                       and (c.required or sheet.headers == ())]
            for header in missing:
                self.problems.append(Problem(fmt.name, 1, header, "missing_column", {},
                                             (self.positions[fmt.name], 1, 0)))
            if not missing:
                self.sheets[fmt.key] = sheet
        if not self.problems and not any(self.rows(f) for f in known):
            self.problem(None, 0, None, "no_rows", expected=expected)

    def rows(self, fmt: SheetFormat) -> list[RowData]:
        sheet = self.sheets.get(fmt.key)
        if sheet is None:
            return []
        first = fmt.columns[0].header
        return [r for r in sheet.rows
                if not str(r.cells.get(first) or "").strip().startswith(EXAMPLE_PREFIX)]

    def cells(self, fmt: SheetFormat) -> Iterator[Cells]:
        for row in self.rows(fmt):
            yield Cells(self, fmt, row)

    def unique(self, fmt: SheetFormat, key: str, cells: Cells, value: object,
               seen: dict[object, int]) -> None:
        """Note a duplicate of `value` in this sheet, naming the row it first appeared in."""
        if value is None:
            return
        if value in seen:
            cells.bad(key, "duplicate", value=value if not isinstance(value, tuple)
                      else value[-1], first=seen[value])
        else:
            seen[value] = cells.line

    def unknown(self, cells: Cells, key: str, code: str | None, known: Iterable[str]) -> bool:
        if code is not None and code not in known:
            cells.bad(key, "unknown_code", value=code)
            return True
        return False

    def raise_if_any(self) -> None:
        if self.problems:
            raise InvalidWorkbook(self.problems)


def cycle(parents: dict[str, str | None], start: str) -> list[str] | None:
    """The loop `start` is on when following parents, e.g. [a, b, a]; None when it ends."""
    chain, current = [start], parents.get(start)
    while current is not None:
        chain.append(current)
        if current == start:
            return chain
        if current in chain[:-1]:
            return None  # a loop further up, reported on its own rows
        current = parents.get(current)
    return None


def parents_first(rows: list[R], key: Callable[[R], str],
                   parent: Callable[[R], str | None]) -> list[R]:
    """The rows in file order, but each after its parent when the parent is in the file too."""
    pending = {key(r) for r in rows}
    ordered: list[R] = []
    todo = list(rows)
    while todo:
        later = []
        for row in todo:
            if parent(row) in pending and parent(row) != key(row):
                later.append(row)
            else:
                ordered.append(row)
                pending.discard(key(row))
        if len(later) == len(todo):  # only loops left (refused before we get here)
            ordered.extend(later)
            break
        todo = later
    return ordered


def check_actor(ctx: Ctx, actor_id: int | None) -> None:
    """An import is run by an admin, or by the office from the command line (None)."""
    if actor_id is not None:
        require_admin(actor(ctx, actor_id), "import", "workbook", None)


def codes_of(ctx: Ctx, model: type[Unit] | type[Cadre] | type[Period]) -> dict[str, Any]:
    rows: Iterable[Any] = ctx.session.exec(select(model)).all()
    return {row.code: row for row in rows}


# -- which workbook --------------------------------------------------------------------------

def wrong_workbook(sheet_names: list[str]) -> InvalidWorkbook:
    """Neither a roster nor a duty-list workbook (or both at once)."""
    expected = "；".join("、".join(f.name for f in formats) for formats in WORKBOOKS.values())
    problem = Problem("", 0, "", "wrong_sheets" if sheet_names else "empty_file",
                      {"found": "、".join(sheet_names), "expected": expected})
    return InvalidWorkbook([problem])


def not_a_workbook() -> InvalidWorkbook:
    return InvalidWorkbook([Problem("", 0, "", "not_xlsx")])


def too_big(code: str, **params: object) -> InvalidWorkbook:
    """The file is past a limit of models/excel_format.py: refused before (or while) it is
    read, as one problem; `code` is file_too_large, file_over_limit, unpacked_too_large,
    too_many_rows, too_many_cells or too_complex."""
    return InvalidWorkbook([Problem("", 0, "", code, {k: str(v) for k, v in params.items()})])


def file_too_large(size: int | None) -> InvalidWorkbook:
    """Past MAX_FILE_BYTES; `size` None: a stream with no size (a device, a pipe) read that far."""
    if size is None:
        return too_big("file_over_limit", max=megabytes(MAX_FILE_BYTES))
    return too_big("file_too_large", size=megabytes(size), max=megabytes(MAX_FILE_BYTES))


def unpacked_too_large(size: int) -> InvalidWorkbook:
    return too_big("unpacked_too_large", size=megabytes(size), max=megabytes(MAX_UNPACKED_BYTES))


def megabytes(size: int) -> str:
    return f"{size / 2**20:.1f}"


def cell_too_long(sheet: str, row: int, column: str, length: int, limit: int) -> InvalidWorkbook:
    return InvalidWorkbook([Problem(sheet, row, column, "cell_too_long",
                                    {"length": str(length), "max": str(limit)})])
