"""The printed results: every page of every sheet says 预览稿 before the 公示, 公示稿 during it, and
nothing once final; the 评定池 sheet shows each pool's units, D, ratio, slots, the 优秀 line and
the 未参评. On SQLite and PostgreSQL."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from openpyxl import load_workbook
from openpyxl.workbook import Workbook

from models import rating
from models.privileges import deactivate_cadre
from models.store import Store
from models.tables import Period
from tests.conftest import FakeClock
from tests.rating.support import RatingUnit
from tests.support.world import World
from ui import excel_jobs
from ui.i18n import Translator

ZH = Translator("zh_CN")


def _export(store: Store, world: World) -> Workbook:
    with store.session() as session:
        period = session.get(Period, world.year.id)
        assert period is not None
    return load_workbook(BytesIO(excel_jobs.export_results(store, period, ZH)))


def _header(sheet: Any) -> tuple[str | None, str]:
    """The left and centre of a sheet's page header, as printed on every page."""
    header = sheet.oddHeader
    assert header is not None
    return header.left.text, header.center.text or ""


def _marks(book: Workbook) -> set[tuple[str | None, str]]:
    return {(left, centre[-5:]) for left, centre in map(_header, book.worksheets)}


def test_every_page_is_marked_until_the_rating_is_final(
    store: Store, world: World, rated: RatingUnit, clock: FakeClock
) -> None:
    book = _export(store, world)
    assert _marks(book) == {("预览稿", "（预览稿）")}
    assert _header(book["汇总"])[1] == "2026年度 考核结果（预览稿）"

    with store.transaction() as ctx:
        rating.publish(ctx, world.admin.id or 0, world.year.id or 0, 1)
    assert _marks(_export(store, world)) == {("公示稿", "（公示稿）")}

    clock.advance(days=1)
    with store.transaction() as ctx:
        rating.finalise(ctx, world.admin.id or 0, world.year.id or 0)
    final = _export(store, world)
    assert {_header(sheet)[0] for sheet in final.worksheets} == {None}
    assert _header(final["汇总"])[1] == "2026年度 考核结果"

    with store.transaction() as ctx:  # unlocked: the grades may change, a preview again
        rating.unlock(ctx, world.admin.id or 0, world.year.id or 0, "更正")
    assert _marks(_export(store, world)) == {("预览稿", "（预览稿）")}


def test_the_pools_sheet_shows_each_pool(store: Store, world: World, rated: RatingUnit) -> None:
    sheet = _export(store, world)["评定池"]
    assert [c.value for c in sheet[1]] == [
        "评定池", "所含单位", "难度系数", "优秀比例", "名额", "参评人数", "优秀", "优秀线",
        "未参评"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["评定办"][1:8] == ("评定办", 1.2, "40%", 2, 5, 2, 92)
    assert rows["榆树沟镇"][1:8] == ("榆树沟镇、党政办", 1, "20%", 0, 2, 0, None)
    assert rows["榆树沟镇"][8] == ("未参评 2 人：镇领导（B001，本期没有考核任务）、"
                                 "副镇长（D001，本期没有考核任务）")


def _grades(book: Workbook) -> dict[str, Any]:
    """Staff code -> the grade column of the 汇总 sheet."""
    return {str(row[2]): row[11] for row in book["汇总"].iter_rows(min_row=2, values_only=True)}


def test_the_final_print_keeps_the_final_grades_after_someone_leaves(
    store: Store, world: World, rated: RatingUnit, clock: FakeClock
) -> None:
    """Finalised, the period is locked: a cadre who leaves afterwards (R4) changes neither the
    final grades nor the print. Recomputed from the active cadres, 4 members left 1 slot, and
    R2 — told 优秀 when the rating was finalised — printed as 称职, R4 with no grade at all."""
    with store.transaction() as ctx:
        rating.publish(ctx, world.admin.id or 0, world.year.id or 0, 1)
    clock.advance(days=1)
    with store.transaction() as ctx:
        rating.finalise(ctx, world.admin.id or 0, world.year.id or 0)
    before = _grades(_export(store, world))
    assert [before[code] for code in ("R1", "R2", "R3", "R4", "R5")] == [
        "优秀", "优秀", "称职", "称职", "不称职"]

    with store.transaction() as ctx:
        deactivate_cadre(ctx, world.admin.id or 0, rated.people["R4"].id or 0)
    after = _export(store, world)
    assert _grades(after) == before
    assert {_header(sheet)[0] for sheet in after.worksheets} == {None}
    pools = {r[0]: r for r in after["评定池"].iter_rows(min_row=2, values_only=True)}
    assert pools["评定办"][1:8] == ("评定办", 1.2, "40%", 2, 5, 2, 92)
