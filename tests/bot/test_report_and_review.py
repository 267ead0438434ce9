"""The heart of the product, end to end: a cadre reports, a supervisor decides, the cadre sees
the new score. On SQLite and PostgreSQL, through the real Application and the simulator."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlmodel import select
from telegram import Update

from models.store import Store
from models.tables import AuditEntry, OutboxMessage, Report, Standing
from tests.bot.conftest import ALICE, BOB, BOSS, MAYOR
from tests.bot.harness import BotHarness
from tests.support.world import World


def _reports(store: Store) -> list[Report]:
    with store.session() as session:
        return list(session.exec(select(Report)).all())


def _start_report(bot: BotHarness, title: str) -> None:
    bot.press(ALICE, "汇报进度")
    assert "请选择要汇报的任务" in bot.last(ALICE).body
    bot.tap(ALICE, next(label for label in bot.last(ALICE).button_texts() if title in label))


def test_cadre_reports_supervisor_approves_cadre_sees_score(
    bot: BotHarness, store: Store, world: World
) -> None:
    _start_report(bot, "压缩业务办理时限")
    assert "请输入完成进度" in bot.last(ALICE).body

    # Bad input is asked for again with an example, and changes nothing.
    for bad in ("abc", "150%", "60.123"):
        reply = bot.say(ALICE, bad)
        assert "例如 60" in reply[-1].body or "小数位数" in reply[-1].body
    assert "150" in bot.say(ALICE, "150%")[-1].body
    assert [r.state for r in _reports(store)] == ["draft"]

    bot.say(ALICE, "６０％")  # full-width digits and percent sign
    assert "佐证材料" in bot.last(ALICE).body
    assert "已收到 1 个附件" in bot.photo(ALICE)[-1].body
    bot.tap(ALICE, "完成")
    bot.say(ALICE, "已完成第一阶段 <审批> & 归档")
    summary = bot.last(ALICE)
    assert "完成进度：60%" in summary.body and "附件：1 个" in summary.body
    assert "<审批> & 归档" in summary.body  # escaped in HTML, shown as written
    bot.tap(ALICE, "✅ 提交")
    assert "已提交" in bot.last(ALICE).body

    # The supervisor gets the evidence and the card with the grade buttons.
    card = bot.last(BOSS)
    assert "艾丽" in card.body and "压缩业务办理时限" in card.body
    # The title on a line of its own (a block tag ending the line once ate its line break).
    assert card.body.splitlines()[:2] == [f"待审批汇报 · 艾丽 · {store.today().isoformat()}",
                                          "汇报人：艾丽（党政办）"]
    assert card.button_texts()[:4] == ["A 优", "B 良", "C 合格", "D 不合格"]
    assert any(m.photo for m in bot.sim.bot_messages(BOSS))

    bot.tap(BOSS, "A 优", card)
    edited = bot.sim.messages(BOSS)[[m.message_id for m in bot.sim.messages(BOSS)].index(
        card.message_id)]
    assert "已由 镇领导 审批通过（A 优）" in edited.body and not edited.button_texts()

    # Alice is told, with the new score and ranks; /score shows the same numbers.
    told = bot.last(ALICE).body
    assert "已审批通过（A 优）" in told and "当前总分 36.00" in told
    assert "单位内第 1 名" in told
    score = bot.say(ALICE, "/score")[-1].body
    assert "总分：36.00" in score
    assert "权重 60.00 · 完成质量 60.00 · 难易系数 1.00 → 36.00 分" in score
    with store.session() as session:
        standing = session.exec(select(Standing).where(Standing.cadre_id == world.id.alice)).one()
    assert standing.total == Decimal("36.00")


def test_numeric_target_accepts_counts_and_refuses_a_wrong_fraction(
    bot: BotHarness, store: Store
) -> None:
    _start_report(bot, "举办招聘会")
    assert "目标 12 场" in bot.last(ALICE).body
    assert "与任务目标不一致" in bot.say(ALICE, "8/15")[-1].body
    bot.say(ALICE, "8/12")
    bot.tap(ALICE, "跳过")
    bot.tap(ALICE, "跳过")
    assert "完成数量：8/12 场" in bot.last(ALICE).body
    bot.tap(ALICE, "✅ 提交")
    assert [(r.state, r.actual) for r in _reports(store)] == [("submitted", Decimal(8))]


def test_cancel_at_a_step_throws_the_draft_away(bot: BotHarness, store: Store) -> None:
    _start_report(bot, "压缩业务办理时限")
    bot.say(ALICE, "40")
    assert "已取消" in bot.say(ALICE, "/cancel")[-1].body
    assert _reports(store) == []
    # The conversation is over: a number now is not understood as progress.
    assert "没有看懂" in bot.say(ALICE, "50")[-1].body


def test_a_restart_in_the_middle_of_a_report_loses_nothing(bot: BotHarness, store: Store) -> None:
    _start_report(bot, "压缩业务办理时限")
    bot.say(ALICE, "70")
    bot.photo(ALICE)
    bot.restart()  # a deploy: the process goes away, the database stays
    bot.tap(ALICE, "完成")
    bot.tap(ALICE, "跳过")
    summary = bot.last(ALICE).body
    assert "完成进度：70%" in summary and "附件：1 个" in summary
    bot.tap(ALICE, "✅ 提交")
    assert [(r.state, r.progress, len(r.evidence)) for r in _reports(store)] == [
        ("submitted", Decimal(70), 1)]


def _submitted(bot: BotHarness, progress: str = "80") -> int:
    _start_report(bot, "压缩业务办理时限")
    bot.say(ALICE, progress)
    bot.tap(ALICE, "跳过")
    bot.tap(ALICE, "跳过")
    bot.tap(ALICE, "✅ 提交")
    (report,) = _reports(bot.store)
    assert report.id is not None
    return report.id


def test_two_supervisors_tap_at_once_and_exactly_one_decision_stands(
    bot: BotHarness, store: Store
) -> None:
    report_id = _submitted(bot)
    boss_card = bot.last(BOSS)
    bot.say(MAYOR, "/pending")
    bot.tap(MAYOR, f"rv:o:{report_id}")
    mayor_card = bot.last(MAYOR)

    taps = [bot.sim.tap(BOSS, boss_card.message_id, f"rv:{report_id}:A"),
            bot.sim.tap(MAYOR, mayor_card.message_id, f"rv:{report_id}:C")]

    async def both() -> None:
        await asyncio.gather(*(bot.app.process_update(Update.de_json(t, bot.app.bot))
                               for t in taps))

    bot.run(both())
    (report,) = _reports(store)
    assert report.state == "approved" and report.grade in ("A", "C")
    with store.session() as session:
        decisions = session.exec(select(AuditEntry).where(AuditEntry.action == "report.approved")
                                 ).all()
    assert len(decisions) == 1
    answers = [a["text"] for a in bot.sim.callback_answers() if a.get("text")]
    assert any("已由" in text and "处理" in text for text in answers)


def test_a_double_tap_and_a_forged_callback_change_nothing(
    bot: BotHarness, store: Store
) -> None:
    report_id = _submitted(bot)
    card = bot.last(BOSS)
    # Bob is no supervisor: a crafted callback naming Alice's report is refused and audited.
    bot.feed(bot.sim.forge_callback(BOB, bot.last(BOB).message_id, f"rv:{report_id}:A"))
    assert _reports(store)[0].state == "submitted"
    with store.session() as session:
        refused = session.exec(select(AuditEntry).where(
            AuditEntry.action == "refused.forbidden")).all()
    assert len(refused) == 1
    assert "没有权限" in bot.sim.callback_answers()[-1]["text"]

    bot.tap(BOSS, "B 良", card)
    bot.feed(bot.sim.forge_callback(BOSS, card.message_id, f"rv:{report_id}:A"))  # stale double
    report = _reports(store)[0]
    assert (report.state, report.grade) == ("approved", "B")
    assert "已由 镇领导 处理" in bot.sim.callback_answers()[-1]["text"]


def test_a_duplicate_update_is_handled_once(bot: BotHarness, store: Store) -> None:
    _start_report(bot, "压缩业务办理时限")
    bot.say(ALICE, "90")
    bot.tap(ALICE, "跳过")
    bot.tap(ALICE, "跳过")
    submit = bot.sim.tap(ALICE, bot.message_with_button(ALICE, "✅ 提交").message_id, "rep:ok")
    bot.feed(submit)
    bot.feed(bot.sim.resend(submit))
    assert [r.state for r in _reports(store)] == ["submitted"]
    with store.session() as session:
        cards = session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == "review_request")).all()
    assert len(cards) == 1


def test_return_with_a_reason_tells_the_cadre(bot: BotHarness, store: Store) -> None:
    report_id = _submitted(bot)
    bot.tap(BOSS, "↩️ 退回修改", bot.last(BOSS))
    assert "退回修改的原因" in bot.last(BOSS).body
    bot.say(BOSS, "请补充<照片>")
    assert "已退回" in bot.last(BOSS).body
    told = bot.last(ALICE).body
    assert "被退回修改" in told and "请补充<照片>" in told
    assert _reports(store)[0].state == "returned"
    assert f"rv:{report_id}:A" not in str(bot.sim.messages(BOSS)[-3].reply_markup)


def test_a_blocked_cadre_is_marked_not_retried(bot: BotHarness, store: Store) -> None:
    _submitted(bot)
    bot.sim.block(ALICE)
    bot.tap(BOSS, "A 优", bot.last(BOSS))
    with store.session() as session:
        told = session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == "report_decided")).one()
    assert told.state == "blocked"
