"""Reports that protect progress: what is approved is shown, lowering it or passing the target
is confirmed first, attachments are kept, a waiting task is said at once, a returned report can
be sent again from where it was. Also what lists look like (one item a line, local times) and
commands used in the wrong place."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import col, select

from models.reports import approve_report, return_report, submit_report
from models.store import Store
from models.tables import Report
from tests.bot.conftest import ALICE, BOSS
from tests.bot.harness import BotHarness
from tests.support.world import World

pytestmark = pytest.mark.db


def _approved(store: Store, world: World, task: int, **amount: Decimal) -> None:
    with store.transaction() as ctx:
        report = submit_report(ctx, world.id.alice, task, progress=amount.get("progress"),
                               actual=amount.get("actual"))
        approve_report(ctx, world.id.boss, report.id or 0, "A")


def _deliver(bot: BotHarness) -> None:
    """Let the notices queued so far go out (they leave after the next update)."""
    bot.say(ALICE, "/help")


def _pick(bot: BotHarness, title: str) -> str:
    bot.press(ALICE, "汇报进度")
    shown = bot.last(ALICE)
    label = next((x for x in shown.button_texts() if title in x), shown.body)
    bot.tap(ALICE, label)
    return label


def _latest(store: Store) -> Report:
    with store.session() as session:
        report = session.exec(select(Report).order_by(col(Report.id).desc())).first()
        assert report is not None
        return report


def test_lowering_an_approved_count_is_shown_and_confirmed(
        bot: BotHarness, store: Store, world: World) -> None:
    _approved(store, world, world.id.alice_key, actual=Decimal(6))
    _deliver(bot)
    label = _pick(bot, "举办招聘会")
    assert label == "举办招聘会 · 12-15 · 已批 6/12"
    question = bot.say(ALICE, "3")[-1]
    assert "您填写的 3/12 低于已获批的 6/12" in question.body
    assert question.button_texts() == ["确定", "取消"]
    assert _latest(store).actual is None  # nothing taken yet: the draft holds no amount
    bot.tap(ALICE, "确定")
    assert "佐证材料" in bot.last(ALICE).body
    bot.tap(ALICE, "跳过")
    bot.tap(ALICE, "跳过")
    summary = bot.last(ALICE).body
    assert "完成数量：3/12 场" in summary and "当前已获批：6/12" in summary
    bot.tap(ALICE, "✅ 提交")
    card = bot.last(BOSS).body
    assert "此前已获批：6/12 ⚠️ 本次低于已获批的值" in card


def test_typing_a_new_value_instead_of_confirming_keeps_the_flow(
        bot: BotHarness, store: Store, world: World) -> None:
    _approved(store, world, world.id.alice_key, actual=Decimal(6))
    _deliver(bot)
    _pick(bot, "举办招聘会")
    bot.say(ALICE, "3")
    assert "佐证材料" in bot.say(ALICE, "8")[-1].body  # higher: no question


def test_a_percentage_on_a_count_task_is_a_share_of_the_target(
        bot: BotHarness, store: Store, world: World) -> None:
    _pick(bot, "举办招聘会")
    bot.say(ALICE, "50%")  # half of 12 场
    bot.tap(ALICE, "跳过")
    bot.tap(ALICE, "跳过")
    assert "完成数量：6/12 场" in bot.last(ALICE).body


def test_more_than_the_target_is_confirmed(bot: BotHarness, store: Store, world: World) -> None:
    _pick(bot, "举办招聘会")
    assert "超过了目标 12 场" in bot.say(ALICE, "15")[-1].body
    bot.tap(ALICE, "确定")
    bot.tap(ALICE, "跳过")
    bot.tap(ALICE, "跳过")
    assert "完成数量：15/12 场" in bot.last(ALICE).body


def test_editing_the_evidence_keeps_what_was_added(
        bot: BotHarness, store: Store, world: World) -> None:
    _pick(bot, "压缩业务办理时限")
    bot.say(ALICE, "60")
    bot.photo(ALICE)
    bot.photo(ALICE)
    bot.tap(ALICE, "完成")
    bot.tap(ALICE, "跳过")
    bot.tap(ALICE, "改附件")
    assert "已有 2 个附件，会保留" in bot.last(ALICE).body
    bot.tap(ALICE, "完成")
    assert "附件：2 个" in bot.last(ALICE).body
    bot.tap(ALICE, "改附件")
    bot.tap(ALICE, "清空附件")
    assert "附件已清空" in bot.last(ALICE).body
    bot.tap(ALICE, "跳过")
    assert "附件：0 个" in bot.last(ALICE).body


def test_a_waiting_task_is_marked_and_said_when_picked(
        bot: BotHarness, store: Store, world: World) -> None:
    with store.transaction() as ctx:
        submit_report(ctx, world.id.alice, world.id.alice_plain, progress=Decimal(40))
    bot.press(ALICE, "汇报进度")
    assert "⏳ 压缩业务办理时限 · 待审批" in bot.last(ALICE).button_texts()
    shown = len(bot.sim.messages(ALICE))
    bot.tap(ALICE, "⏳ 压缩业务办理时限 · 待审批")
    assert "正在等待审批" in bot.alert()
    assert len(bot.sim.messages(ALICE)) == shown  # still the picker; nothing to type in vain


def test_a_returned_report_is_sent_again_from_where_it_was(
        bot: BotHarness, store: Store, world: World) -> None:
    with store.transaction() as ctx:
        report = submit_report(ctx, world.id.alice, world.id.alice_plain, progress=Decimal(40),
                               note="第一稿")
        return_report(ctx, world.id.boss, report.id or 0, "请补充照片")
    _deliver(bot)
    notice = next(m for m in reversed(bot.sim.bot_messages(ALICE)) if "退回" in m.body)
    assert notice.button_texts() == ["重新汇报"]
    bot.tap(ALICE, "重新汇报", notice)
    said = bot.texts(ALICE)[-2:]
    assert "请补充照片" in said[0]
    assert "完成进度：40%" in said[1] and "第一稿" in said[1]
    bot.tap(ALICE, "✅ 提交")
    assert _latest(store).state == "submitted" and _latest(store).progress == Decimal(40)


def test_tasks_are_a_line_each_and_pending_times_are_local(
        bot: BotHarness, store: Store, world: World) -> None:
    with store.transaction() as ctx:
        submit_report(ctx, world.id.alice, world.id.alice_plain, progress=Decimal(40))
    lines = bot.say(ALICE, "/tasks")[-1].body.split("\n")
    items = [n for n, line in enumerate(lines) if line.startswith("• ")]
    assert len(items) == 3 and all(line.count("•") <= 1 for line in lines)
    assert all(lines[n + 1].startswith("  ") for n in items)  # its details on the next line
    assert any("已通过 0/12 期 · ⚠️ 逾期" in line for line in lines)
    # Submitted at 02:00 UTC, which is 10:00 in Beijing, where the reviewer works.
    assert "压缩业务办理时限 · 06-15 10:00" in bot.say(BOSS, "/pending")[-1].body


def test_commands_in_the_wrong_place_say_what_they_are_for(bot: BotHarness) -> None:
    assert "当前没有正在进行的操作" in bot.say(ALICE, "/cancel")[-1].body
    assert "要在单位的工作群里发送" in bot.say(BOSS, "/bindgroup")[-1].body
