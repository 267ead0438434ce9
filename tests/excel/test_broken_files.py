"""Files with mistakes: every bad cell is named (sheet, row, column, why) in the user's language,
and nothing at all is imported — on both databases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from sqlmodel import select

from models.excel_format import CADRES, COOPERATIONS, PERIODS, TASK_LIST, UNITS
from models.store import Store
from models.tables import Cadre, Task
from tests.excel.support import problems, save, workbook
from tests.support.snapshot import snapshot
from tests.support.world import build_world
from ui import excel_jobs
from ui.i18n import Translator

# The headers as the template writes them (test_round_trip.py pins their Chinese names).
UNIT_HEADERS, CADRE_HEADERS, PERIOD_HEADERS = UNITS.headers, CADRES.headers, PERIODS.headers
TASK_HEADERS, COOP_HEADERS = TASK_LIST.headers, COOPERATIONS.headers
ZH = Translator("zh_CN")


def test_a_broken_roster_names_every_bad_cell_and_imports_nothing(store: Store) -> None:
    content = workbook({
        "单位": [
            UNIT_HEADERS,
            ("city", "昌吉市", "市", None, "一般岗位", None),
            ("xz", None, "村", "city", "一般岗位", "Mars/Base"),
            ("city", "重复的市", "市", None, "一般岗位", None),
            ("a", "甲局", "部门", "b", "一般岗位", None),
            ("b", "乙局", "部门", "a", "一般岗位", None),
        ],
        "干部": [
            CADRE_HEADERS,
            ("P001", "艾丽", "nowhere", None, "标准", "也许", None),
            (None, "无名", "city", None, None, None, None),
        ],
        "考核周期": [
            PERIOD_HEADERS,
            ("2026", "2026年度", "年度", "2026-13-01", "2026-12-31", None, "是"),
            ("2027", "2027年度", "年度", date(2027, 12, 31), date(2027, 1, 1), None, "是"),
        ],
    })
    before = snapshot(store.engine, skip=())
    lines = problems(store, content)
    assert lines[0] == "The file has 12 problem(s); nothing was imported:"
    assert lines[1:] == [
        "Sheet “单位”, row 3, column “单位名称”: required, but empty",
        "Sheet “单位”, row 3, column “单位类型”: “村” is not one of: "
        "市、部门、乡镇、街道、内设机构",
        "Sheet “单位”, row 3, column “时区”: “Mars/Base” is not a time zone (e.g. Asia/Shanghai)",
        "Sheet “单位”, row 4, column “单位编码”: “city” repeats row 2",
        "Sheet “单位”, row 5, column “上级单位编码”: the parents form a loop: a → b → a",
        "Sheet “单位”, row 6, column “上级单位编码”: the parents form a loop: b → a → b",
        "Sheet “干部”, row 2, column “所在单位编码”: nothing has the code “nowhere”",
        "Sheet “干部”, row 2, column “管理员”: “也许” is not one of: 是、否",
        "Sheet “干部”, row 3, column “干部编码”: required, but empty",
        "Sheet “考核周期”, row 2, column “开始日期”: “2026-13-01” is not a date (e.g. 2026-06-30)",
        "Sheet “考核周期”, row 3, column “结束日期”: ends before it starts (2027-12-31)",
        "Sheet “考核周期”, row 3, column “当前周期”: only one period can be current (row 2 is)",
    ]
    # The same in Chinese, the default language.
    assert problems(store, content, "zh_CN")[:3] == [
        "文件有 12 处错误，未导入任何内容：",
        "「单位」第 3 行「单位名称」：必填，但为空",
        "「单位」第 3 行「单位类型」：“村”不是可选值（可选：市、部门、乡镇、街道、内设机构）",
    ]
    assert snapshot(store.engine, skip=()) == before  # not a row, not even an audit entry


def test_a_broken_duty_list_names_every_bad_cell_and_imports_nothing(store: Store) -> None:
    build_world(store)

    def task(code: str, **cells: str | int | None) -> tuple[object, ...]:
        row = dict(zip(TASK_HEADERS, ("2026", code, "P001", None, f"事项{code}", "重点任务",
                                      "业务示范类", 10, "市政府工作报告"), strict=False))
        row.update({TASK_HEADERS[int(k[1:])]: v for k, v in cells.items()})
        return tuple(row.get(h) for h in TASK_HEADERS)

    content = workbook({
        "履职事项": [
            TASK_HEADERS,
            task("N1", c7="abc"),  # letters for the weight
            task("N2", c5="基础履职", c7="１０", c10=15),  # full-width 10 is fine; boost is not
            task("N3", c2="NOPE"),
            task("N4", c3="va"),
            task("N5", c8=None, c10=150),
            task("N6", c13="下周五", c12="场"),
            task("N7", c7="10.555", c9="0.5"),
            task("U9", c2=None, c3="va", c16="va", c17=50),
            task("N1"),
            task("N8", c0="2030", c15="N9"),
        ],
        "协同单位": [
            COOP_HEADERS,
            ("2026", "U9", "yst", 30),
            ("2026", "NOPE", "city", 20),
            ("2026", "U9", "va", 20),
            ("2026", "U1", "city", "120%"),
        ],
    })
    before = snapshot(store.engine, skip=())
    assert problems(store, content) == [
        "The file has 17 problem(s); nothing was imported:",
        "Sheet “履职事项”, row 2, column “基础分值”: “abc” is not a number",
        "Sheet “履职事项”, row 3, column “动态上调(%)”: only key tasks can be boosted",
        "Sheet “履职事项”, row 4, column “考核干部编码”: nothing has the code “NOPE”",
        "Sheet “履职事项”, row 5, column “考核单位编码”: give the cadre's code or the unit's, "
        "not both",
        "Sheet “履职事项”, row 6, column “难易系数”: give the task's source or its difficulty",
        "Sheet “履职事项”, row 6, column “动态上调(%)”: “150” is over 100 %",
        "Sheet “履职事项”, row 7, column “计量单位”: a unit of measure without a target",
        "Sheet “履职事项”, row 7, column “截止日期”: “下周五” is not a date (e.g. 2026-06-30)",
        "Sheet “履职事项”, row 8, column “基础分值”: “10.555” has more than 2 decimal places",
        "Sheet “履职事项”, row 8, column “难易系数”: “0.5” is not between 0.8 and 1.2",
        "Sheet “履职事项”, row 10, column “事项编码”: “N1” repeats row 2",
        "Sheet “履职事项”, row 11, column “考核周期”: nothing has the code “2030”",
        "Sheet “履职事项”, row 11, column “上级事项编码”: nothing has the code “N9”",
        "Sheet “协同单位”, row 2, column “协同份额(%)”: the shares of task U9 add up to 80 % "
        "(lead unit 50 %), not 100 %",
        "Sheet “协同单位”, row 3, column “事项编码”: nothing has the code “NOPE”",
        "Sheet “协同单位”, row 4, column “协同单位编码”: “va” leads or owns this task and cannot "
        "also co-operate on it",
        "Sheet “协同单位”, row 5, column “协同份额(%)”: “120%” is over 100 %",
    ]
    assert snapshot(store.engine, skip=()) == before


def test_files_that_are_not_what_the_import_expects(store: Store) -> None:
    assert problems(store, b"name,code\nx,1\n") == [
        "The file has 1 problem(s); nothing was imported:", "This is not an Excel (.xlsx) file."]
    assert problems(store, workbook({"Sheet1": []}))[1:] == ["The file is empty."]
    assert problems(store, workbook({"人员名单": [("姓名",), ("张三",)]}))[1:] == [
        "No sheet to import: expected 单位、干部、分管关系、考核周期；履职事项、协同单位; "
        "the file has 人员名单."]
    # The right sheet with the wrong columns.
    assert problems(store, workbook({"单位": [("编码", "名称"), ("a", "b")]}))[1:] == [
        f"Sheet “单位”, row 1, column “{h}”: this column is missing"
        for h in ("单位编码", "单位名称", "单位类型", "岗位类别")]
    # Headers only, or the untouched template: nothing to import is said so, not "done".
    assert problems(store, workbook({"单位": [UNIT_HEADERS]}))[1:] == [
        "The sheets hold no rows to import (the example row never is): "
        "单位、干部、分管关系、考核周期."]


def test_cells_a_spreadsheet_gets_wrong_without_anyone_seeing_it(store: Store) -> None:
    """What Excel and a Chinese keyboard do to a cell: a lookup that failed (#N/A), a header
    typed with full-width brackets, a code carrying a zero-width space from a web page, a
    target past anything the database keeps, a lead share below zero."""
    build_world(store)
    headers = tuple("动态上调（%）" if h == "动态上调(%)" else h for h in TASK_HEADERS)
    row = dict.fromkeys(headers)

    def task(**cells: object) -> tuple[object, ...]:
        line = {**row, "考核周期": "2026", "考核干部编码": "P001", "事项名称": "事项",
                "维度": "重点任务", "指标类别": "业务示范类", "基础分值": 10,
                "任务来源": "市政府工作报告", **cells}
        return tuple(line[h] for h in headers)

    content = workbook({
        "履职事项": [
            headers,
            task(事项编码="E1", 事项名称="#N/A"),  # =VLOOKUP(…) that found nothing
            task(事项编码="E2", 目标值=1e20, 计量单位="次"),
            task(事项编码="E3", 考核干部编码=None, 考核单位编码="va", 牵头单位编码="va",
                 **{"牵头单位份额(%)": -20}),
        ],
        "协同单位": [COOP_HEADERS, ("2026", "E3", "yst", 60), ("2026", "E3", "city", 60)],
    })
    before = snapshot(store.engine, skip=())
    assert problems(store, content) == [
        "The file has 4 problem(s); nothing was imported:",
        "Sheet “履职事项”, row 2, column “事项名称”: the cell holds the error value “#N/A” "
        "(a formula that failed), not data",
        "Sheet “履职事项”, row 3, column “目标值”: “1e+20” is not between 0 and 1000000000",
        "Sheet “履职事项”, row 4, column “牵头单位份额(%)”: “-20” is not between 0 and 100",
        "Sheet “协同单位”, row 2, column “协同份额(%)”: the shares of task E3 add up to 120 % "
        "(lead unit 0 %), not 100 %",
    ]
    assert problems(store, content, "zh_CN")[1] == (
        "「履职事项」第 2 行「事项名称」：单元格是错误值“#N/A”（公式出错），不是数据")
    assert snapshot(store.engine, skip=()) == before

    good = workbook({"履职事项": [headers, task(事项编码="\u200bE4", 考核干部编码="P001\u200b",
                                             **{"动态上调（%）": 15})]})
    excel_jobs.import_file(store, good)
    with store.session() as session:
        stored = session.exec(select(Task).where(Task.code == "E4")).one()
        alice = session.exec(select(Cadre).where(Cadre.code == "P001")).one()
    assert (stored.cadre_id, stored.boost) == (alice.id, Decimal("0.15"))


def test_sheets_are_found_by_name_as_headers_are_and_a_doubtful_one_refuses_the_file(
    store: Store,
) -> None:
    """A sheet named "干部 " (a trailing space) or "　单位" (a full-width space) was skipped
    without a word: the answer said 干部：新增 0. Names are matched as headers are; two sheets
    that are then one name, or a sheet with another's columns under another name while that
    sheet is missing, refuse the file."""
    units = [UNIT_HEADERS, ("city", "昌吉市", "市", None, "一般岗位")]
    cadres = [CADRE_HEADERS, ("A001", "罗静怡", "city")]
    done = excel_jobs.import_file(store, workbook({"　单位": units, "干部 ": cadres}))
    assert excel_jobs.result_lines(ZH, done)[1:3] == ["单位：新增 1，更新 0，未变 0",
                                                     "干部：新增 1，更新 0，未变 0"]
    before = snapshot(store.engine, skip=())
    assert problems(store, workbook({"单位": units, "干部": cadres, "干部 ": cadres}),
                    "zh_CN") == [
        "文件有 1 处错误，未导入任何内容：",
        "「干部 」：与工作表「干部」名称相同（只差空格、全角半角或大小写），"
        "不知道应导入哪一个：请删除或改名其中一个"]
    assert problems(store, workbook({"单位": units, "干部名单": cadres})) == [
        "The file has 1 problem(s); nothing was imported:",
        "Sheet “干部名单”: it has the columns of the sheet “干部” but not its name, so it "
        "would not be imported: rename it “干部” to import it, or delete it"]
    assert snapshot(store.engine, skip=()) == before


def test_a_merged_cell_is_named_as_merged_not_as_empty(store: Store) -> None:
    """Only a merge's top-left cell holds its value; openpyxl reads the others as empty. A
    required column merged down three rows was 'required, but empty' twice, with no word of
    the merge; an optional one (个人系数档) silently took its default for the other rows."""
    book = Workbook()
    units = book.active
    assert units is not None
    units.title = "单位"
    units.append(UNIT_HEADERS)
    units.append(("xz", "榆树沟镇", "乡镇", None, "一般岗位"))
    cadres = book.create_sheet("干部")
    cadres.append(CADRE_HEADERS)
    for code in ("P001", "P002", "P003"):
        cadres.append((code, f"干部{code}", "xz" if code == "P001" else None, None,
                       "成长系数" if code == "P001" else None))
    cadres.merge_cells("C2:C4")
    cadres.merge_cells("E2:E4")
    notes = book.create_sheet("说明")  # merged title rows elsewhere are nobody's business
    notes.append(("填表说明",))
    notes.merge_cells("A1:F3")
    before = snapshot(store.engine, skip=())
    merged = ("the cell is part of the merged cells {}, and only the top-left one holds a "
              "value: unmerge them and fill in every row")
    assert problems(store, save(book)) == [
        "The file has 4 problem(s); nothing was imported:",
        f"Sheet “干部”, row 3, column “所在单位编码”: {merged.format('C2:C4')}",
        f"Sheet “干部”, row 3, column “个人系数档”: {merged.format('E2:E4')}",
        f"Sheet “干部”, row 4, column “所在单位编码”: {merged.format('C2:C4')}",
        f"Sheet “干部”, row 4, column “个人系数档”: {merged.format('E2:E4')}",
    ]
    assert problems(store, save(book), "zh_CN")[1] == (
        "「干部」第 3 行「所在单位编码」：单元格在合并区域 C2:C4 中，只有区域左上角的格有值："
        "请取消合并，在每一行都填上值")
    assert snapshot(store.engine, skip=()) == before
