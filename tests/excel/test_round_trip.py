"""Template -> filled in -> import -> export, on both databases; and importing again changes
nothing: no row touched, no audit row written."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import BytesIO

from openpyxl import load_workbook
from sqlmodel import col, func, select

from models.excel_format import WORKBOOKS
from models.reports import approve_report, submit_report
from models.rules import Rules
from models.store import Store
from models.tables import AuditEntry, Cadre, Cooperation, Period, Standing, Task, Unit
from tests.excel.support import fill_template
from tests.support.snapshot import snapshot
from ui import excel_jobs, workbooks
from ui.i18n import Translator

ZH = Translator("zh_CN")

ROSTER: dict[str, list[tuple[object, ...]]] = {
    "单位": [
        ("city", "昌吉市", "市", None, "一般岗位", None),
        ("xz", "榆树沟镇", "乡镇", "city", "一般岗位", None),
        # A rating pool of its own (评定池 是); 市委考核办 is none (否): its cadres join the city's.
        ("xz-dzb", "榆树沟镇党政办", "内设机构", "xz", "核心岗位", "Asia/Urumqi", "是"),
        ("khb", "市委考核办", "department", "city", "general", None, "否"),  # codes do too
    ],
    "干部": [
        ("A001", "罗静怡", "khb", None, "标准", "是", "zh_CN"),
        ("B001", "刘志刚", "xz", None, None, None, None),
        ("P001", "艾丽", "xz-dzb", None, "成长系数", None, None),
        ("P002", "鲍勃", "xz-dzb", "一般岗位", "veteran", "否", "en"),
    ],
    "分管关系": [("B001", "xz")],
    "考核周期": [
        ("2026", "2026年度", "年度", date(2026, 1, 1), "2026/12/31", None, "是"),
        ("2026Q1", "2026年第1季度", "季度", "2026-01-01", "2026年3月31日", "2026", None),
    ],
}
TASKS: dict[str, list[tuple[object, ...]]] = {
    "履职事项": [
        ("2026", "P001-01", "P001", None, "网格化巡查", "基础履职", "综合基础类", 10,
         "单位职能工作要点", None, None, None, None, date(2026, 1, 25), "每月"),
        ("2026", "P001-02", "P001", None, "举办招聘会", "重点任务", "业务示范类", "１２",
         "自治区工作要求", None, "15%", 12, "场", "2026-12-15"),
        ("2026", "P002-01", "P002", None, "民族团结一家亲", "基础履职", "业务示范类", 8, None,
         1.15),
        ("2026", "XZ-U1", None, "xz", "高标准农田建设", "重点任务", "业务示范类", 10,
         "自治州工作要求", None, None, 5000, "亩", None, None, None, "xz", 60),
        ("2026", "XZ-D1", None, "xz-dzb", "高标准农田建设（分解）", "重点任务", "业务示范类", 10,
         "自治州工作要求", None, None, None, None, None, None, "XZ-U1"),
    ],
    "协同单位": [("2026", "XZ-U1", "khb", 40)],
}


def _audit_rows(store: Store) -> int:
    with store.session() as session:
        return int(session.exec(select(func.count()).select_from(AuditEntry)).one())


def test_the_template_explains_itself(rules: Rules) -> None:
    content = workbooks.import_workbook("tasks", rules, ZH)
    book = load_workbook(BytesIO(content))
    assert book.sheetnames == [f.name for f in WORKBOOKS["tasks"]] == ["履职事项", "协同单位"]
    sheet = book["履职事项"]
    headers = [c.value for c in sheet[1]]
    assert headers[:8] == ["考核周期", "事项编码", "考核干部编码", "考核单位编码", "事项名称",
                           "维度", "指标类别", "基础分值"]
    assert sheet.freeze_panes == "A2"
    # The example row is there, and marked as one (it is never imported).
    assert str(sheet["A2"].value).startswith("示例")
    assert sheet["F2"].value == "重点任务"
    # Notes say what a column is, whether it is required, and what it allows.
    note = sheet["F1"].comment.text
    assert note.splitlines() == ["基础履职或重点任务（重点任务权重 ×1.5）。", "必填。",
                                 "可选值：基础履职、重点任务"]
    # Drop-down lists on the enumerated columns.
    lists = {str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation
             if v.type == "list"}
    assert lists["F2:F2000"] == '"基础履职,重点任务"'
    assert lists["I2:I2000"] == '"自治区工作要求,自治州工作要求,市政府工作报告,单位职能工作要点"'
    assert lists["O2:O2000"] == '"一次性,每月,每季度"'


def test_round_trip_template_filled_in_imported_exported_and_imported_again(
        store: Store) -> None:
    roster = fill_template(store, "roster", ROSTER)
    tasks = fill_template(store, "tasks", TASKS)

    done = excel_jobs.import_file(store, roster)
    assert excel_jobs.result_lines(ZH, done) == [
        "导入完成。", "单位：新增 4，更新 0，未变 0", "干部：新增 4，更新 0，未变 0",
        "分管关系：新增 1，更新 0，未变 0", "考核周期：新增 2，更新 0，未变 0"]
    done = excel_jobs.import_file(store, tasks)
    assert excel_jobs.result_lines(ZH, done) == [
        "导入完成。", "履职事项：新增 5，更新 0，未变 0", "协同单位：新增 1，更新 0，未变 0"]

    with store.session() as session:
        units = {u.code: u for u in session.exec(select(Unit))}
        cadres = {c.code: c for c in session.exec(select(Cadre))}
        tasks_by_code = {t.code: t for t in session.exec(select(Task))}
        periods = {p.code: p for p in session.exec(select(Period))}
        share = session.exec(select(col(Cooperation.share))).one()
    assert units["xz-dzb"].path == f"/{units['city'].id}/{units['xz'].id}/{units['xz-dzb'].id}/"
    assert (units["xz-dzb"].kind, units["xz-dzb"].timezone) == ("office", "Asia/Urumqi")
    assert [units[c].rating_pool for c in ("city", "xz", "xz-dzb", "khb")] == [
        None, None, True, False]
    assert (cadres["P001"].post_category, cadres["P001"].profile) == ("core", "growth")
    assert (cadres["P002"].post_category, cadres["P002"].locale) == ("general", "en")
    assert cadres["A001"].is_admin and not cadres["B001"].is_admin
    assert periods["2026"].is_active and periods["2026Q1"].ends_on == date(2026, 3, 31)
    key = tasks_by_code["P001-02"]
    assert (key.weight, key.boost, key.difficulty, key.target, key.measure) == (
        Decimal(12), Decimal("0.15"), Decimal("1.2"), Decimal(12), "场")
    assert (tasks_by_code["P002-01"].difficulty, tasks_by_code["P002-01"].source) == (
        Decimal("1.15"), None)
    assert tasks_by_code["P001-01"].recurrence == "monthly"
    assert tasks_by_code["XZ-D1"].parent_id == tasks_by_code["XZ-U1"].id
    assert share == Decimal("0.4")

    # Some work, so the export has scores to show.
    with store.transaction() as ctx:
        report = submit_report(ctx, cadres["P001"].id or 0, key.id or 0, actual=Decimal(12))
        ctx.session.flush()
        approve_report(ctx, cadres["B001"].id or 0, report.id or 0, "A")
    with store.session() as session:
        standing = session.exec(select(Standing).where(
            Standing.cadre_id == cadres["P001"].id)).one()
        points = standing.breakdown[str(key.id)]["points"]
    book = load_workbook(BytesIO(excel_jobs.export_results(store, periods["2026"], ZH)))
    assert book.sheetnames[0] == "汇总"
    summary = book["汇总"]
    assert [c.value for c in summary[1]] == [
        "单位", "姓名", "编码", "岗位类别", "基础得分", "其中重点任务", "创新加分", "协同加分",
        "总分", "单位内排名", "岗位类别排名", "等次", "评定池"]
    rows = {r[2]: r for r in summary.iter_rows(min_row=2, values_only=True)}
    alice = rows["P001"]
    assert alice[:4] == ("榆树沟镇党政办", "艾丽", "P001", "核心岗位")
    assert [Decimal(str(v)).quantize(Decimal("0.01")) for v in alice[4:9]] == [
        standing.base, standing.key_points, standing.innovation, standing.collaboration,
        standing.total]
    assert standing.total > 0
    assert alice[9:] == (1, 1, "称职" if standing.total >= 70 else "不称职", "榆树沟镇党政办")
    assert rows["A001"][11:] == ("未参评", "昌吉市")  # no task; 市委考核办 is not a pool
    assert summary["I2"].number_format == "0.00"
    assert (summary.freeze_panes, summary.print_title_rows) == ("A2", "$1:$1")
    assert summary.page_setup.orientation == "landscape"
    assert summary.page_setup.fitToWidth == 1
    office = book["榆树沟镇党政办"]
    lines = {r[1]: r for r in office.iter_rows(min_row=2, values_only=True) if r[1]}
    assert lines["P001-02"][2:7] == ("举办招聘会", "重点任务", lines["P001-02"][4], 100, "A")
    assert Decimal(str(lines["P001-02"][9])).quantize(Decimal("0.01")) == Decimal(points)

    # The same files again: nothing changes, not even a timestamp, and nothing is audited.
    before, audited = snapshot(store.engine), _audit_rows(store)
    for content in (roster, tasks):
        again = excel_jobs.import_file(store, content)
        assert not again.changed
        assert all(c.created == c.updated == 0 for c in again.counts.values())
    # What the writers make of the database imports back unchanged too.
    for content in (excel_jobs.export_roster(store, ZH),
                    excel_jobs.export_tasks(store, periods["2026"], ZH)):
        assert not excel_jobs.import_file(store, content).changed
    assert snapshot(store.engine) == before
    assert _audit_rows(store) == audited


def test_a_changed_row_updates_only_that_row_audited(store: Store) -> None:
    excel_jobs.import_file(store, fill_template(store, "roster", ROSTER))
    excel_jobs.import_file(store, fill_template(store, "tasks", TASKS))
    audited = _audit_rows(store)
    changed = {**ROSTER, "干部": [*ROSTER["干部"][:3],
                                ("P002", "鲍勃", "xz-dzb", "一般岗位", "标准", "否", "en")]}
    moved = [*ROSTER["单位"][:2], ("xz-dzb", "榆树沟镇党政办", "内设机构", "khb", "核心岗位", None),
             ROSTER["单位"][3]]
    done = excel_jobs.import_file(store, fill_template(store, "roster",
                                                       {**changed, "单位": moved}))
    assert [(k, c.created, c.updated, c.unchanged) for k, c in done.counts.items()] == [
        ("units", 0, 1, 3), ("cadres", 0, 1, 3), ("supervision", 0, 0, 1), ("periods", 0, 0, 2)]
    with store.session() as session:
        entries = session.exec(select(AuditEntry).where(col(AuditEntry.id) > audited)
                               .order_by(col(AuditEntry.id))).all()
        units = {u.code: u for u in session.exec(select(Unit))}
    assert [e.action for e in entries] == ["unit.update", "cadre.update"]
    assert entries[0].before and entries[0].after
    assert (entries[0].before["timezone"], entries[0].after["timezone"]) == ("Asia/Urumqi", None)
    assert entries[1].before and entries[1].after
    assert entries[1].before["profile"] == "veteran" and entries[1].after["profile"] == "standard"
    assert units["xz-dzb"].path == f"/{units['city'].id}/{units['khb'].id}/{units['xz-dzb'].id}/"
