"""Numbers that add up, as a cadre sees them: 我的得分's task lines sum to the base shown and its
parts to the total shown; an approved claim says what it credited and why. Through the real
bot, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO

from openpyxl import load_workbook

from models.innovation import approve_claim, claim_innovation
from models.reports import approve_report, submit_report
from models.store import Store
from tests.bot.conftest import ADMIN, ALICE, BOB
from tests.bot.harness import BotHarness
from tests.support.world import World


def _work(store: Store, world: World) -> None:
    """Alice's three tasks approved at awkward values, and an innovation item."""
    for task, progress, actual, grade in (
            (world.alice_plain, Decimal("77.34"), None, "B"),
            (world.alice_key, None, Decimal(7), "A"),
            (world.alice_monthly, Decimal(38), None, "C")):
        with store.transaction() as ctx:
            report = submit_report(ctx, world.alice.id or 0, task.id or 0, progress=progress,
                                   actual=actual)
            approve_report(ctx, world.admin.id or 0, report.id or 0, grade)
    with store.transaction() as ctx:
        claim = claim_innovation(ctx, world.alice.id or 0, "commendation", "city", "市级表彰")
        approve_claim(ctx, world.admin.id or 0, claim.id or 0)


SCORE_ZH = """艾丽 · 2026年度 得分
总分：64.98
= 基础得分 62.98 + 创新加分 2.00

基础得分：62.98（其中重点任务 21.00）
创新加分：2.00
　获批的创新突破（上级表彰、改革成果、经验推广）按个人系数折算，最多 10 分。
单位内排名：第 1 名（党政办）
岗位类别排名：第 1 名（核心岗位）

各项任务（合计 62.98，即基础得分）
• 压缩业务办理时限
  权重 60.00 · 完成质量 69.61 · 难易系数 1.00 → 41.76 分
• 举办招聘会
  权重 30.00 · 完成质量 58.33 · 难易系数 1.20 → 21.00 分
• 网格化巡查
  权重 10.00 · 完成质量 2.38 · 难易系数 0.90 → 0.22 分"""


def test_score_lines_add_to_the_base_and_parts_to_the_total(
    bot: BotHarness, store: Store, world: World
) -> None:
    """Exactly 41.7636 + 21 + 0.21375 = 62.97735: one by one the lines would round to 41.76,
    21.00 and 0.21 (62.97) beside a base of 62.98. The missing hundredth goes to the largest
    remainder, 网格化巡查's 0.375."""
    _work(store, world)
    bot.say(ALICE, "/help")  # the claim's notice arrives first
    # The figures exactly; what follows them (提分建议, the 优秀 line: tests/bot/test_insight.py)
    # starts on a new paragraph.
    shown = bot.say(ALICE, "/score")[-1].body
    assert shown == SCORE_ZH or shown.startswith(SCORE_ZH + "\n\n")

    bot.say(ALICE, "/lang")
    bot.tap(ALICE, "English")
    english = bot.say(ALICE, "/score")[-1].body.splitlines()
    assert english[1:6] == [
        "Total: 64.98", "= base 62.98 + innovation 2.00", "",
        "Base: 62.98 (key tasks 21.00 of it)", "Innovation: 2.00"]
    assert english[10] == "Tasks (together 62.98, the base)"
    assert any(line.endswith("→ 0.22 points") for line in english)  # the last task line


def test_an_approved_claim_says_what_it_credited_and_why(
    bot: BotHarness, store: Store, world: World
) -> None:
    """Bob has the growth profile (innovation x 1.25) and a cap of 10 points."""
    def claim(level: str, label: str, description: str) -> list[str]:
        bot.say(BOB, "/claim")
        bot.tap(BOB, "上级表彰")
        bot.tap(BOB, label)
        bot.say(BOB, description)
        bot.photo(BOB)
        bot.tap(BOB, "完成")
        bot.tap(BOB, "✅ 提交申报")
        bot.tap(ADMIN, "✅ 通过", bot.last(ADMIN))
        return bot.last(BOB).body.splitlines()

    assert claim("region", "自治区级（4 分）", "获自治区模范个人") == [
        "✅ 您的创新加分申报已通过",
        "计入 4 分 × 成长系数 1.25 = 5.00 分。",
        "您的创新加分现为 5.00 分（上限 10 分）。",
        "获自治区模范个人"]
    # 5 x 1.25 = 6.25 more would make 11.25: the cap lets 5.00 in, and the notice says so.
    assert claim("national", "国家级（5 分）", "获全国表彰") == [
        "✅ 您的创新加分申报已通过",
        "计入 5 分 × 成长系数 1.25 = 6.25 分。",
        "创新加分最多 10 分，本次实际计入 5.00 分。",
        "您的创新加分现为 10.00 分（上限 10 分）。",
        "获全国表彰"]


def test_the_printed_results_add_up_too(bot: BotHarness, store: Store, world: World) -> None:
    """The export the admin gets: 艾丽's task lines sum to her base, the total line's base,
    innovation and co-operation to her total, and the line says so; the summary alike."""
    _work(store, world)
    bot.say(ADMIN, "/admin")
    document = bot.tap(ADMIN, "📥 导出本期结果（Excel）")[-1]
    book = load_workbook(BytesIO(bot.sim.file_bytes(document.document or "")))
    office = book["党政办"]
    headers = [c.value for c in office[1]]
    assert headers[9:13] == ["得分", "创新加分", "协同加分", "总分"]
    lines = [r for r in office.iter_rows(min_row=2, values_only=True) if r[0] == "艾丽"]
    *tasks, total = lines
    assert [Decimal(str(r[9])) for r in tasks] == [
        Decimal("41.76"), Decimal("21"), Decimal("0.22")]
    assert total[2] == "合计：各项得分之和为基础得分；基础得分 + 创新加分 + 协同加分 = 总分"
    assert [Decimal(str(v)) for v in total[9:13]] == [
        Decimal("62.98"), Decimal(2), Decimal(0), Decimal("64.98")]
    summary = {r[2]: r for r in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert [Decimal(str(v)) for v in summary["P001"][4:9]] == [
        Decimal("62.98"), Decimal(21), Decimal(2), Decimal(0), Decimal("64.98")]
