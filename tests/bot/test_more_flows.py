"""The remaining branches: reject, edit before submitting, several files, and the admin's other
tools (difficulty, period, claims from the menu, rejecting a claim)."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import select

from models.store import Store
from models.tables import InnovationClaim, Period, Report, Task
from tests.bot.conftest import ADMIN, ALICE, BOB, BOSS
from tests.bot.harness import BotHarness
from tests.support.world import World


def test_edit_before_submitting_with_several_files_then_rejected(
    bot: BotHarness, store: Store
) -> None:
    bot.press(ALICE, "汇报进度")
    bot.tap(ALICE, next(b for b in bot.last(ALICE).button_texts() if "压缩业务办理时限" in b))
    bot.say(ALICE, "30")
    bot.photo(ALICE)
    bot.photo(ALICE)
    before = len(bot.sim.messages(ALICE))
    bot.feed(bot.sim.send_document(ALICE, "台账.pdf", b"%PDF-1.4 ledger",
                                   mime_type="application/pdf"))
    assert "已收到 3 个附件" in bot.sim.messages(ALICE)[before:][-1].body
    assert "这一步请发送照片或文件" in bot.say(ALICE, "好了")[-1].body
    bot.tap(ALICE, "完成")
    bot.tap(ALICE, "跳过")
    bot.tap(ALICE, "改进度")
    bot.say(ALICE, "45%")
    summary = bot.last(ALICE).body
    assert "完成进度：45%" in summary and "附件：3 个" in summary
    bot.tap(ALICE, "✅ 提交")
    # The supervisor receives the photos as an album and the document before the card.
    assert [m for m in bot.sim.bot_messages(BOSS) if m.document]
    assert len([m for m in bot.sim.bot_messages(BOSS) if m.photo]) == 2
    bot.tap(BOSS, "❌ 驳回", bot.last(BOSS))
    assert "请输入驳回的原因" in bot.last(BOSS).body
    assert "不超过 500 字" in bot.say(BOSS, "长" * 501)[-1].body
    bot.say(BOSS, "所报事项与任务不符")
    assert "被驳回" in bot.last(ALICE).body and "所报事项与任务不符" in bot.last(ALICE).body
    with store.session() as session:
        report = session.exec(select(Report)).one()
    assert (report.state, report.progress, len(report.evidence)) == (
        "rejected", Decimal(45), 3)


def test_admin_difficulty_period_and_claims(bot: BotHarness, store: Store, world: World) -> None:
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "调整难易系数")
    bot.say(ADMIN, "T1")
    assert "0.8" in bot.say(ADMIN, "1.5")[-1].body  # outside 0.8-1.2: refused, asked again
    assert "已保存" in bot.say(ADMIN, "1.1")[-1].body
    with store.session() as session:
        task = session.get(Task, world.id.alice_plain)
        assert task is not None and task.difficulty == Decimal("1.1")

    with store.transaction() as ctx:
        from models import org

        quarter = org.add_period(ctx, None, code="2026Q3", name="2026年第3季度",
                                 kind="quarter", starts_on=world.year.starts_on.replace(month=7),
                                 ends_on=world.year.ends_on.replace(month=9, day=30))
        ctx.session.flush()
        quarter_id = quarter.id
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "切换考核周期")
    bot.tap(ADMIN, f"adm:p:{quarter_id}")
    bot.tap(ADMIN, "确定切换")  # asked first (tests/bot/test_office_dialogs.py)
    assert "2026年第3季度" in bot.last(ADMIN).body
    with store.session() as session:
        assert session.get(Period, quarter_id).is_active  # type: ignore[union-attr]
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "切换考核周期")
    bot.tap(ADMIN, f"adm:p:{world.id.year}")
    bot.tap(ADMIN, "确定切换")

    _bob_claims_a_city_level_promotion(bot)
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "审核创新加分")
    bot.tap(ADMIN, "❌ 驳回")
    bot.say(ADMIN, "缺少推广文件")
    assert "已驳回" in bot.last(ADMIN).body
    assert "未通过" in bot.last(BOB).body and "缺少推广文件" in bot.last(BOB).body
    with store.session() as session:
        assert session.exec(select(InnovationClaim)).one().state == "rejected"


def _bob_claims_a_city_level_promotion(bot: BotHarness) -> None:
    bot.say(BOB, "/claim")
    bot.tap(BOB, "经验推广")
    bot.tap(BOB, "市级（1 分）")
    bot.say(BOB, "社区议事协商经验在全市推广")
    bot.tap(BOB, "跳过")
    bot.tap(BOB, "✅ 提交申报")


def test_a_claim_decided_by_another_admin_is_said_so_on_both_buttons(
    bot: BotHarness, store: Store, world: World
) -> None:
    """Two admins open the same claim; the second to tap is told who decided it, not shown
    the error apology (the refusal's sentence once lacked the name it needs)."""
    from models import org

    with store.transaction() as ctx:
        other = org.add_cadre(ctx, None, code="A002", name="第二管理员", unit=world.office_admin,
                              is_admin=True)
    bot.join(other, 3002)
    _bob_claims_a_city_level_promotion(bot)
    for admin in (ADMIN, 3002):
        bot.say(admin, "/admin")
        bot.tap(admin, "审核创新加分")
    bot.tap(ADMIN, "✅ 通过")
    bot.tap(3002, "✅ 通过")
    assert "已由 考核办管理员 处理" in bot.alert()
    # The stale reject button says so at once, as an alert, and asks for no reason.
    assert bot.tap(3002, "❌ 驳回") == []
    assert "该申报已由 考核办管理员 处理" in bot.alert()
    assert bot.sim.callback_answers()[-1]["show_alert"]
    assert "没有看懂" in bot.say(3002, "缺少推广文件")[-1].body  # not taken as a reason
    with store.session() as session:
        assert session.exec(select(InnovationClaim)).one().state == "approved"
    assert not any("出错了" in text for text in bot.texts(3002))
