"""Reading and writing .xlsx files with openpyxl: import templates, the organisation and duty
lists in the import format, and a period's results formatted for printing.

The layout is models/excel_format.py; what goes in the cells comes from models/exporting.py;
what the import does with a file is models/importing.py; what a file holds is checked by
ui/workbook_scan.py before openpyxl reads it. Notes and result headers are in the
user's language (locales/).
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.comments import Comment
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from models.excel_format import (
    CHOICE,
    DATE,
    EXAMPLE_PREFIX,
    FLAG,
    MAX_CELL_CHARS,
    MAX_CELLS,
    MAX_ROWS,
    NUMBER,
    PERCENT,
    WORKBOOKS,
    SheetFormat,
    vocabularies,
)
from models.exporting import ResultRow, Results, Row
from models.importing import (
    CellError,
    InvalidWorkbook,
    MergedCell,
    RowData,
    SheetData,
    UncomputedFormula,
    cell_too_long,
    header_key,
    not_a_workbook,
    too_big,
)
from models.rating_pools import PoolQuota, excellence_line
from models.rules import Rules
from scoring import round_half_up
from ui.i18n import Translator
from ui.rating_cards import not_rated_text, ratio_text
from ui.render import Punctuation
from ui.workbook_scan import Kept, check_size

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="2F5597")
EXAMPLE_FONT = Font(italic=True, color="808080")
THIN = Side(style="thin", color="BFBFBF")
GRID = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
VALIDATED_ROWS = 2000  # drop-down lists cover this many rows below the header
DATE_FORMAT = "yyyy-mm-dd"
POINTS_FORMAT = "0.00"


# -- reading -------------------------------------------------------------------------------


def read_workbook(content: bytes) -> dict[str, SheetData]:
    """Every sheet's header row and non-empty rows. Not an .xlsx: InvalidWorkbook(not_xlsx);
    past a limit of models/excel_format.py: InvalidWorkbook naming it, before it is parsed."""
    # openpyxl warns of what it does not read (drop-downs kept as an extension, a missing
    # default style…) on stderr, before our answer, in English: the office is told what
    # matters in our own words. Only openpyxl's warnings, so that two imports in two threads
    # (catch_warnings is not thread-safe) can at worst leave openpyxl's silenced.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="openpyxl")
        return _read_workbook(content)


def _read_workbook(content: bytes) -> dict[str, SheetData]:
    scan = check_size(content)
    # A damaged or hostile file makes openpyxl and zipfile raise almost anything: BadZipFile,
    # SyntaxError (XML that does not parse), RuntimeError (an encrypted member), zlib.error,
    # TypeError, IndexError (a style or shared string that is not there)… Each means the same
    # to whoever sent it; our own refusals (a limit met while reading) pass through.
    try:
        reader = ExcelReader(BytesIO(content), read_only=True, data_only=True)
        reader.read()
    except Exception as exc:
        raise not_a_workbook() from exc
    book = reader.wb
    try:
        # openpyxl skips a listed sheet whose part is missing (or has no id) without a word:
        # the rest would be imported as if that sheet had nothing in it.
        if [sheet.name for sheet in reader.parser.sheets] != book.sheetnames:
            raise not_a_workbook()
        rows_read = [0]
        sheets = {}
        for sheet in book.worksheets:
            # Read-only mode believes the sheet's <dimension> and stops there; a file that
            # declares fewer rows (or columns) than it holds would be read in part, silently.
            sheet.reset_dimensions()
            # What read-only mode does not tell, the scan kept by part; a ReadOnlyWorksheet
            # knows its part's name in the zip (_worksheet_path).
            kept = scan.parts.get(getattr(sheet, "_worksheet_path", ""), Kept())
            sheets[sheet.title] = _read_sheet(sheet, rows_read, kept)
        return sheets
    except InvalidWorkbook:
        raise
    except Exception as exc:  # a part that lies about its size, is not XML, or is damaged
        raise not_a_workbook() from exc
    finally:
        book.close()


def _read_sheet(sheet: Any, rows_read: list[int], kept: Kept) -> SheetData:
    headers: tuple[str, ...] = ()
    rows = []
    for number, cells in enumerate(sheet.iter_rows(), start=1):
        rows_read[0] += 1
        if rows_read[0] > MAX_ROWS:
            raise too_big("too_many_rows", max=MAX_ROWS)
        values = [_value(sheet.title, number, cell) for cell in cells]
        if kept.uncomputed:  # an empty cell may be a formula with no value: say so
            values = [UncomputedFormula(f"{get_column_letter(column)}{number}")
                      if v is None and kept.uncomputed_at(number, column) else v
                      for column, v in enumerate(values, start=1)]
        if number == 1:
            headers = tuple(header_key(v) for v in values)
            continue
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        rows.append(RowData(number, {h: v for h, v in zip(headers, values, strict=False) if h}))
    _mark_merged(headers, rows, kept.merged)
    return SheetData(sheet.title, headers, tuple(rows))


def _mark_merged(headers: tuple[str, ...], rows: list[RowData], merged: list[str]) -> None:
    """Each cell of a data row that a merge covers, but its top-left one, holds MergedCell(range):
    read as it is, it is empty, so a merged required column was 'required, but empty' with no
    word of the merge, and a merged optional one its default on every row but the first."""
    rows = sorted(rows, key=lambda r: r.number)  # in order already, unless a file lies
    numbers = [r.number for r in rows]
    columns = [number for number, header in enumerate(headers, start=1) if header]
    budget = MAX_CELLS  # overlapping merges (no tool writes them) cost no more than cells may
    for reference in merged:
        try:
            left, top, right, bottom = range_boundaries(reference)
        except (ValueError, TypeError):
            continue  # not a range: openpyxl ignores it in read-only mode too
        top, left = top or 1, left or 1  # a whole column (A:A) or row (2:2)
        first = bisect_left(numbers, max(top, 2))
        last = len(numbers) if bottom is None else bisect_right(numbers, bottom)
        covered = columns[bisect_left(columns, left):
                          len(columns) if right is None else bisect_right(columns, right)]
        for row in rows[first:last]:
            for column in covered:
                if (row.number, column) != (top, left):
                    row.cells[headers[column - 1]] = MergedCell(reference)
                    budget -= 1
                    if budget <= 0:
                        return


def _value(sheet: str, row: int, cell: Any) -> object:
    value = cell.value
    if getattr(cell, "data_type", None) == "e":  # #N/A, #REF!…; openpyxl gives the text
        return CellError(value)
    if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
        raise cell_too_long(sheet, row, getattr(cell, "column_letter", ""), len(value),
                            MAX_CELL_CHARS)
    # A number shown as a percentage holds the fraction: 50 % is stored as 0.5.
    if isinstance(value, int | float) and not isinstance(value, bool) \
            and "%" in (cell.number_format or ""):
        return Decimal(str(value)) * 100
    return value


# -- import-format workbooks ---------------------------------------------------------------


def _examples(rules: Rules) -> dict[str, Row]:
    """The template's example row per sheet (never imported: its first cell says 示例)."""
    vocab = vocabularies(rules)
    post = next(iter(vocab["post_category"].values()))
    return {
        "units": {"unit_code": f"{EXAMPLE_PREFIX}-xz", "unit_name": "示例镇",
                  "unit_kind": vocab["unit_kind"]["township"], "parent_unit": "city",
                  "post_category": post},
        "cadres": {"cadre_code": f"{EXAMPLE_PREFIX}-0001", "cadre_name": "张三",
                   "cadre_unit": "xz-dzb", "profile": vocab["profile"]["standard"],
                   "is_admin": vocab["flag"]["no"], "locale": "zh_CN"},
        "supervision": {"supervisor": f"{EXAMPLE_PREFIX}-0001", "supervised_unit": "xz"},
        "periods": {"period_code": f"{EXAMPLE_PREFIX}2026", "period_name": "2026年度",
                    "period_kind": vocab["period_kind"]["year"],
                    "starts_on": date(2026, 1, 1), "ends_on": date(2026, 12, 31),
                    "active": vocab["flag"]["yes"]},
        "tasks": {"task_period": f"{EXAMPLE_PREFIX}2026", "task_code": "0001-01",
                  "assessee_cadre": "0001", "title": "举办退役军人专场招聘会",
                  "dimension": vocab["dimension"]["key"],
                  "category": vocab["category"]["business"], "weight": 10,
                  "source": vocab["source"]["region"], "boost": 15, "target": 15,
                  "measure": "场", "deadline": date(2026, 12, 15),
                  "recurrence": vocab["recurrence"]["once"]},
        "cooperations": {"coop_period": f"{EXAMPLE_PREFIX}2026", "coop_task": "U-01",
                         "coop_unit": "xz", "share": 40},
    }


def import_workbook(kind: str, rules: Rules, t: Translator,
                    rows: dict[str, list[Row]] | None = None) -> bytes:
    """A roster or duty-list workbook: the template (rows None: an example row per sheet), or
    the given rows. Headers carry notes, enumerated columns drop-down lists."""
    vocab = vocabularies(rules)
    examples = _examples(rules)
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for fmt in WORKBOOKS[kind]:
        sheet = book.create_sheet(fmt.name)
        _header(sheet, fmt.headers)
        for column, spec in enumerate(fmt.columns, start=1):
            sheet.cell(1, column).comment = _note(t, fmt, spec.key, vocab)
            sheet.column_dimensions[get_column_letter(column)].width = spec.width
        _validations(sheet, fmt, vocab)
        data = [examples[fmt.key]] if rows is None else rows.get(fmt.key, [])
        for number, row in enumerate(data, start=2):
            for column, spec in enumerate(fmt.columns, start=1):
                cell = _put(sheet, number, column, _cell(row.get(spec.key)))
                if spec.kind == DATE:
                    cell.number_format = DATE_FORMAT
                if rows is None:
                    cell.font = EXAMPLE_FONT
    return _bytes(book)


# Text a spreadsheet would take for a formula (=HYPERLINK(…), =cmd|' /C calc'!A0, +1, @SUM)
# when written as one or when a user edits the cell: names and titles come from users.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _put(sheet: Worksheet, row: int, column: int, value: Any) -> Cell:
    """Write one cell; text that starts like a formula is kept as text."""
    cell: Cell = sheet.cell(row, column, value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        cell.data_type = "s"  # openpyxl makes any "=…" string a formula
        cell.quotePrefix = True  # and Excel would, when the cell is edited and confirmed
    return cell


def _cell(value: Any) -> Any:
    # openpyxl writes Decimal as a number; an integral one as an integer keeps the file tidy.
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def _note(t: Translator, fmt: SheetFormat, key: str,
          vocab: dict[str, dict[str, str]]) -> Comment:
    spec = fmt.column(key)
    lines = [t(spec.note_key), t("excel.note.required" if spec.required else
                                 "excel.note.optional")]
    if spec.kind in (CHOICE, FLAG) and spec.choices:
        lines.append(t("excel.note.allowed", values="、".join(vocab[spec.choices].values())))
    comment = Comment("\n".join(lines), "Kaohe")
    comment.width, comment.height = 320, 140
    return comment


def _validations(sheet: Worksheet, fmt: SheetFormat, vocab: dict[str, dict[str, str]]) -> None:
    for column, spec in enumerate(fmt.columns, start=1):
        letter = get_column_letter(column)
        cells = f"{letter}2:{letter}{VALIDATED_ROWS}"
        if spec.kind in (CHOICE, FLAG) and spec.choices:
            # A warning, not a stop: the stored code ("township") is accepted too.
            rule = DataValidation(type="list", allow_blank=True, errorStyle="warning",
                                  formula1='"' + ",".join(vocab[spec.choices].values()) + '"')
        elif spec.kind in (NUMBER, PERCENT):
            rule = DataValidation(type="decimal", operator="greaterThanOrEqual",
                                  formula1="0", allow_blank=True, errorStyle="warning")
        elif spec.kind == DATE:
            rule = DataValidation(type="date", operator="greaterThan", formula1="1",
                                  allow_blank=True, errorStyle="warning")
        else:
            continue
        sheet.add_data_validation(rule)
        rule.add(cells)


def _header(sheet: Worksheet, headers: Iterable[str]) -> None:
    for column, header in enumerate(headers, start=1):
        cell = sheet.cell(1, column, header)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    sheet.freeze_panes = "A2"


def _bytes(book: Workbook) -> bytes:
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# -- results for printing ------------------------------------------------------------------

SUMMARY_COLUMNS = (  # message id of the header, width, number format
    ("cli.col.unit", 22, None), ("cli.col.name", 18, None), ("excel.col.code", 12, None),
    ("cli.col.post", 12, None), ("cli.col.base", 9, POINTS_FORMAT),
    ("cli.col.key", 9, POINTS_FORMAT), ("cli.col.innovation", 9, POINTS_FORMAT),
    ("cli.col.collaboration", 9, POINTS_FORMAT), ("cli.col.total", 9, POINTS_FORMAT),
    ("cli.col.rank_unit", 8, "0"), ("cli.col.rank_post", 8, "0"), ("cli.col.grade", 10, None),
    ("cli.col.pool", 16, None),
)
POOL_COLUMNS = (
    ("cli.col.pool", 16, None), ("cli.col.pool_units", 30, None),
    ("cli.col.difficulty", 9, POINTS_FORMAT), ("cli.col.ratio", 10, None),
    ("cli.col.slots", 8, "0"), ("cli.col.members", 8, "0"), ("cli.col.excellent", 8, "0"),
    ("cli.col.line", 10, POINTS_FORMAT), ("cli.col.not_rated", 36, None),
)
DETAIL_COLUMNS = (
    ("cli.col.name", 16, None), ("excel.col.task", 12, None), ("excel.col.title", 30, None),
    ("excel.col.dimension", 10, None), ("excel.col.weight", 9, POINTS_FORMAT),
    ("excel.col.progress", 9, POINTS_FORMAT), ("excel.col.grade", 8, None),
    ("cli.col.difficulty", 9, POINTS_FORMAT), ("excel.col.boost", 9, None),
    ("excel.col.points", 9, POINTS_FORMAT), ("cli.col.innovation", 9, POINTS_FORMAT),
    ("cli.col.collaboration", 9, POINTS_FORMAT), ("cli.col.total", 9, POINTS_FORMAT),
    ("cli.col.rank_unit", 8, "0"), ("cli.col.grade", 10, None),
)
_SHEET_NAME = re.compile(r"[\[\]:*?/\\\x00-\x1f\x7f]")  # what Excel refuses in a sheet name
SHEET_TITLE_MAX = 31  # UTF-16 units, as Excel counts them: 𠮷 is two
HEADER_MAX = 255  # a printed page's header, codes included: Excel repairs a longer one


def results_workbook(results: Results, period_name: str, rules: Rules,
                     t: Translator) -> bytes:
    """A summary sheet of every assessee, the rating pools, then one sheet per unit with each
    assessee's tasks. Until the rating is final every page is marked 预览稿 or 公示稿."""
    rows = results.rows
    mark = None if results.mark is None else t(f"excel.results.mark.{results.mark}")

    def titled(title: str) -> str:
        return title if mark is None else t("excel.results.marked_title", title=title, mark=mark)

    book = Workbook()
    summary = book.active
    assert summary is not None
    used: set[str] = set()
    summary.title = _title(t("excel.results.summary"), used)
    _table(summary, t, SUMMARY_COLUMNS, [_summary_row(r, rules, t) for r in rows],
           titled(t("excel.results.title", period=period_name)), mark)
    pools = book.create_sheet(_title(t("excel.results.pools"), used))
    _table(pools, t, POOL_COLUMNS, [_pool_row(p, t) for p in results.pools],
           titled(t("excel.results.pools_title", period=period_name)), mark)
    by_unit: dict[int, list[ResultRow]] = {}
    for row in rows:
        by_unit.setdefault(row.unit_id, []).append(row)
    for unit_rows in by_unit.values():
        sheet = book.create_sheet(_title(unit_rows[0].unit_name, used))
        lines = [line for r in unit_rows for line in _detail_rows(r, t)]
        _table(sheet, t, DETAIL_COLUMNS, lines, titled(
            t("excel.results.unit_title", unit=unit_rows[0].unit_name, period=period_name)), mark)
    return _bytes(book)


def _title(name: str, used: set[str]) -> str:
    """A sheet name Excel and WPS open without asking to repair the file, from a unit's name:
    at most 31 UTF-16 units, none of []:*?/\\, no apostrophe first or last, not History
    (Excel's own), and unique as Excel compares names: without case (here without width
    too). `used` holds the titles so far as compared; this one is added."""
    base = _SHEET_NAME.sub("_", name).strip("'") or "-"
    title, number = _cut(base, SHEET_TITLE_MAX), 2
    while _compared(title) in used or _compared(title) == "history":
        suffix = f"({number})"
        title, number = _cut(base, SHEET_TITLE_MAX - len(suffix)) + suffix, number + 1
    used.add(_compared(title))
    return title


def _compared(title: str) -> str:
    return unicodedata.normalize("NFKC", title).casefold()


def _units(text: str) -> int:
    """Its length as Excel counts: in UTF-16 units."""
    return len(text.encode("utf-16-le")) // 2


def _cut(title: str, limit: int) -> str:
    """At most `limit` UTF-16 units, and no apostrophe left at the end."""
    while _units(title) > limit:
        title = title[:-1]
    return title.rstrip("'") or "-"


def _printed(text: str, room: int) -> str:
    """Text for a printed page's header or footer: '&' doubled (one starts a code: &P is the
    page number, &B bold…), cut with … to fit `room` UTF-16 units."""
    escaped = text.replace("&", "&&")
    while _units(escaped) > room and text:
        text = text[:-1]
        escaped = text.replace("&", "&&") + "…"
    return escaped


def _grade(t: Translator, grade: str | None) -> str:
    return "" if grade is None else t(f"rating.grade.{grade}")


def _post(rules: Rules, t: Translator, category: str) -> str:
    post = rules.post_categories.get(category)
    if post is None:
        return category
    return post.label_zh if t.locale == "zh_CN" else post.label_en


def _summary_row(row: ResultRow, rules: Rules, t: Translator) -> list[Any]:
    return [row.unit_name, row.name, row.code, _post(rules, t, row.post_category), row.base,
            row.key, row.innovation, row.collaboration, row.total, row.rank_in_unit,
            row.rank_in_post, _grade(t, row.grade), row.pool or ""]


def _pool_row(pool: PoolQuota, t: Translator) -> list[Any]:
    return [pool.name, Punctuation.of(t).list.join(pool.unit_names),
            round_half_up(pool.difficulty, 2),
            ratio_text(pool.ratio), pool.slots, len(pool.members), pool.excellent,
            excellence_line(pool), not_rated_text(t, pool)]


def _detail_rows(row: ResultRow, t: Translator) -> list[list[Any]]:
    lines: list[list[Any]] = []
    for line in row.tasks:
        lines.append([row.name, line.code, line.title, t(f"dimension.{line.dimension}"),
                      line.weight, line.progress, line.grade or "", line.difficulty,
                      "" if line.boost is None else f"+{(line.boost * 100).normalize():f}%",
                      line.points, None, None, None, None, None])
    # The assessee's own line closes their tasks: the points add to the base, and base +
    # innovation + co-operation to the total (models/shown.py); the title cell says so.
    lines.append([row.name, "", t("excel.results.total_line"), "", None, None, "", None, "",
                  row.base, row.innovation, row.collaboration, row.total, row.rank_in_unit,
                  _grade(t, row.grade)])
    return lines


def _table(sheet: Worksheet, t: Translator,
           columns: tuple[tuple[str, int, str | None], ...], lines: list[list[Any]],
           title: str, mark: str | None = None) -> None:
    """Header, rows and the print set-up: landscape, fit to width, header on every page (with
    the mark, 预览稿 or 公示稿, at its left when there is one)."""
    _header(sheet, [t(key) for key, _width, _format in columns])
    for number, line in enumerate(lines, start=2):
        for column, (value, (_key, _width, number_format)) in enumerate(
                zip(line, columns, strict=True), start=1):
            cell = _put(sheet, number, column, value)
            cell.border = GRID
            if number_format and isinstance(value, int | Decimal):
                cell.number_format = number_format
            if isinstance(value, datetime | date):
                cell.number_format = DATE_FORMAT
    for column, (_key, width, _format) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    if sheet.oddHeader is not None and sheet.oddFooter is not None:
        left = "" if mark is None else _printed(mark, HEADER_MAX // 2)
        if left:
            sheet.oddHeader.left.text = left
        # Names and titles are the users' own: "A&B局" would print "A" and a code.
        sheet.oddHeader.center.text = _printed(title, HEADER_MAX - len("&L&C") - _units(left))
        sheet.oddFooter.center.text = "&P / &N"
    sheet.auto_filter.ref = sheet.dimensions
