"""The office's dialogs through the real bot: a unit, then a person or a task, chosen from
buttons (or a name typed) instead of a code; a boost on a basic task refused as soon as the task
is named; a period switch that asks first, saying what changes; /cancel in /delegate saying what
was (not) done; an invite for a bound cadre that warns first; the import templates sent as
documents. Bad input is answered and changes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlmodel import col, select

from models import org
from models.admin import delegate_review
from models.store import Store
from models.tables import AuditEntry, Cadre, Delegation, InviteCode, Period, Task
from sandbox.sim_state import SimMessage
from tests.bot.conftest import ADMIN, ALICE, BOSS
from tests.bot.harness import BotHarness
from tests.support.snapshot import snapshot
from tests.support.world import World

pytestmark = pytest.mark.db

BOOKKEEPING = ("audit_entry", "processed_update", "bot_state")
UNITS = ["昌吉市", "榆树沟镇", "党政办", "退役军人事务局", "市委考核办"]


def _facts(store: Store) -> dict[str, list[Any]]:
    return snapshot(store.engine, skip=BOOKKEEPING)


def _see(bot: BotHarness, user: int, button: str, message: SimMessage | None = None
         ) -> SimMessage:
    """Tap, and what the chat shows for it: a new message, or the tapped one as edited."""
    tapped = message or bot.message_with_button(user, button)
    sent = bot.tap(user, button, tapped)
    if sent:
        return sent[-1]
    return next(m for m in bot.sim.bot_messages(user) if m.message_id == tapped.message_id)


def _task(store: Store, task_id: int) -> Task:
    with store.session() as session:
        task = session.get(Task, task_id)
    assert task is not None
    return task


def test_a_boost_names_its_task_from_buttons_and_refuses_a_basic_one_at_once(
        bot: BotHarness, store: Store, world: World) -> None:
    bot.say(ADMIN, "/admin")
    units = _see(bot, ADMIN, "重点任务动态上调")
    assert units.body == ("请选择要上调的重点任务所在的单位，或直接输入任务名称或编号搜索"
                          "（只有重点任务可以上调）。发送 /cancel 取消。")
    assert units.button_texts() == UNITS
    assert [len(row) for row in units.buttons()] == [2, 2, 1]  # two to a row
    assert "重点任务动态上调" in bot.message_with_button(ADMIN, "调整难易系数").button_texts()

    tasks = _see(bot, ADMIN, "党政办")  # the same message, now the unit's key tasks
    assert tasks.message_id == units.message_id
    assert tasks.body == "党政办：请选择重点任务。"
    assert tasks.button_texts() == ["举办招聘会 · 艾丽", "◀ 全部单位"]
    assert _see(bot, ADMIN, "◀ 全部单位").button_texts() == UNITS

    before = _facts(store)
    refused = bot.say(ADMIN, "T1")[-1].body  # alice's basic task, by its code
    assert refused == ("《压缩业务办理时限》是基础任务，只有重点任务可以动态上调。"
                       "请另选一项重点任务，或发送 /cancel 取消。")
    assert bot.say(ADMIN, "找不到的任务")[-1].body == (
        "本期没有名称或编号为“找不到的任务”的任务。请换个写法再试，或从单位中选择。")
    assert _facts(store) == before

    bot.tap(ADMIN, "党政办")
    asked = _see(bot, ADMIN, "举办招聘会 · 艾丽").body
    assert asked == "《举办招聘会》当前上调：—。请输入上调比例 10–20（%），输入 0 取消上调："
    assert bot.say(ADMIN, "15")[-1].body == "已保存，相关得分和排名已更新。"
    assert _task(store, world.id.alice_key).boost == Decimal("0.15")
    assert _task(store, world.id.alice_plain).boost is None


def test_a_typed_name_is_searched_and_a_long_unit_is_paged(
        bot: BotHarness, store: Store, world: World) -> None:
    with store.transaction() as ctx:
        period, carol = ctx.session.get(Period, world.id.year), ctx.session.get(Cadre,
                                                                                world.id.carol)
        assert period is not None and carol is not None
        for n in range(9):
            org.add_task(ctx, None, period=period, code=f"V{n}", title=f"双拥共建第{n}项",
                         dimension="basic", category="general", weight=Decimal(1),
                         cadre=carol, source="unit_points")
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "调整难易系数")
    found = bot.say(ADMIN, "办")[-1]  # in two titles and two units' names: all offered
    assert found.body == "找到 2 项任务，请选择：\n名称含“办”的单位："
    assert found.button_texts() == ["压缩业务办理时限 · 艾丽", "举办招聘会 · 艾丽",
                                    "▸ 党政办", "▸ 市委考核办"]
    many = bot.say(ADMIN, "双拥")[-1]
    assert many.body == "找到 9 项任务，请选择：\n（只列出前 8 个；输入更完整的名称可以缩小范围。）"
    assert len(many.button_texts()) == 8

    first = _see(bot, ADMIN, "退役军人事务局")
    assert first.body == "退役军人事务局：请选择任务。"
    assert first.button_texts()[-3:] == ["1/2", "下一页 ▶", "◀ 全部单位"]
    second = _see(bot, ADMIN, "下一页 ▶")
    assert second.button_texts() == ["双拥共建第6项 · 卡萝", "双拥共建第7项 · 卡萝",
                                     "双拥共建第8项 · 卡萝", "◀ 上一页", "2/2", "◀ 全部单位"]
    bot.tap(ADMIN, "◀ 上一页")  # the unit's own task is on the first page
    asked = _see(bot, ADMIN, "爱国主义教育宣讲 · 退役军人事务局").body
    assert asked == "《爱国主义教育宣讲》当前难易系数：1.200。请输入新的系数（0.8–1.2）："
    bot.say(ADMIN, "1.1")
    assert _task(store, world.id.unit_task).difficulty == Decimal("1.1")


def test_an_invite_for_a_bound_cadre_warns_first(bot: BotHarness, store: Store,
                                                 world: World) -> None:
    def invites() -> int:
        with store.session() as session:
            return len(session.exec(select(InviteCode.id)).all())

    issued = invites()
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "生成邀请码")
    people = _see(bot, ADMIN, "党政办")
    assert people.body == "党政办：请选择干部。"
    assert people.button_texts() == ["艾丽（P001）", "鲍勃（P002）", "◀ 全部单位"]
    warning = _see(bot, ADMIN, "艾丽（P001）")  # alice has bound her account
    assert warning.body == (
        "⚠️ 艾丽（P001，党政办）已经绑定了一个 Telegram 账号。\n"
        "新的邀请码一旦被使用，绑定就会转到使用它的账号，原来的账号将不能再使用本助手。\n"
        "仍要生成吗？")
    assert warning.button_texts() == ["仍然生成", "不生成"]
    assert _see(bot, ADMIN, "不生成").body == "没有为艾丽生成邀请码，其绑定保持不变。"
    assert invites() == issued

    bot.tap(ADMIN, "生成邀请码")
    bot.say(ADMIN, "艾丽")  # one match: taken at once, and warned about
    go = bot.message_with_button(ADMIN, "仍然生成")
    assert "艾丽 的邀请码" in _see(bot, ADMIN, "仍然生成", go).body
    # A second tap on the same question (the button gone, the data sent again) does nothing.
    bot.feed(bot.sim.forge_callback(ADMIN, go.message_id, f"adm:i:go:{world.id.alice}"))
    assert "失效" in bot.alert()
    assert invites() == issued + 1

    bot.tap(ADMIN, "生成邀请码")
    assert "卡萝 的邀请码" in bot.say(ADMIN, "卡萝")[-1].body  # not bound: no question
    assert invites() == issued + 2

    bot.tap(ADMIN, "生成邀请码")  # a unit's name typed: the unit offered
    found = bot.say(ADMIN, "党政")[-1]
    assert (found.body, found.button_texts()) == ("名称含“党政”的单位：", ["▸ 党政办"])
    assert _see(bot, ADMIN, "▸ 党政办").body == "党政办：请选择干部。"
    assert bot.say(ADMIN, "/cancel")[-1].body == "已取消。"
    assert invites() == issued + 2


def test_a_period_switch_says_what_changes_and_waits_for_yes(
        bot: BotHarness, store: Store, world: World) -> None:
    with store.transaction() as ctx:
        quarter = org.add_period(ctx, None, code="2026Q3", name="2026年第3季度", kind="quarter",
                                 starts_on=world.year.starts_on.replace(month=7),
                                 ends_on=world.year.ends_on.replace(month=9, day=30))
        ctx.session.flush()
        quarter_id = quarter.id
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "切换考核周期")
    assert "“2026年度”已经是当前考核周期，无需切换。" in _see(bot, ADMIN, "● 2026年度").body
    bot.tap(ADMIN, "切换考核周期")
    before = _facts(store)
    question = _see(bot, ADMIN, "2026年第3季度")
    assert question.body == (
        "确定把当前考核周期由“2026年度”切换为“2026年第3季度”吗？\n切换后：\n"
        "• 所有人的“我的任务”和“汇报进度”改为“2026年第3季度”的任务（共 0 项，0 人有个人任务）；\n"
        "• 得分、排行榜、提醒和周报都按“2026年第3季度”计算和发送；\n"
        "• “2026年度”的汇报、得分和排名原样保留，随时可以切回。\n"
        "⚠️ “2026年第3季度”还没有任何任务：切换后所有人的任务列表都将是空的。")
    assert question.button_texts() == ["确定切换", "不切换"]
    assert _facts(store) == before  # asking changes nothing
    assert _see(bot, ADMIN, "不切换").body == "没有切换，当前考核周期仍是“2026年度”。"
    assert _facts(store) == before

    bot.tap(ADMIN, "切换考核周期")
    bot.tap(ADMIN, "2026年第3季度")
    assert _see(bot, ADMIN, "确定切换").body == "当前考核周期已切换为：2026年第3季度"
    with store.session() as session:
        active = session.exec(select(Period).where(col(Period.is_active))).one()
    assert active.id == quarter_id

    with store.transaction() as ctx:  # the admin reads English: the question is in English
        admin = ctx.session.get(Cadre, world.id.admin)
        assert admin is not None
        admin.locale = "en"
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "adm:period")
    bot.tap(ADMIN, f"adm:p:{world.id.year}")
    assert bot.last(ADMIN).body.startswith(
        "Switch the active period from “2026年第3季度” to “2026年度”?\nAfter the switch:\n"
        "• everyone's task list and reports move to the tasks of “2026年度” (6 tasks; "
        "3 people have tasks of their own);")


def test_forged_picker_buttons_are_refused_and_change_nothing(
        bot: BotHarness, store: Store, world: World) -> None:
    bot.say(ALICE, "/help")
    held = bot.sim.bot_messages(ALICE)[-1].message_id
    before = _facts(store)
    for data in (f"pk:boost:t:{world.id.alice_plain}", f"adm:i:go:{world.id.carol}",
                 f"adm:p:ok:{world.id.year}", f"pk:invite:u:{world.id.office}:0"):
        bot.feed(bot.sim.forge_callback(ALICE, held, data))
        assert bot.alert() == "您没有权限执行此操作，本次尝试已记录。", data
    assert _facts(store) == before
    with store.session() as session:
        refused = session.exec(select(AuditEntry).where(
            AuditEntry.action == "refused.forbidden", AuditEntry.actor_id == world.id.alice)
        ).all()
    assert len(refused) == 4


def test_delegate_picks_from_buttons_and_cancel_says_what_was_not_done(
        bot: BotHarness, store: Store, world: World) -> None:
    today = store.today()
    with store.transaction() as ctx:  # given before: must outlive any /cancel
        delegate_review(ctx, world.id.boss, world.id.deputy, today, today + timedelta(days=3))
    before = _facts(store)
    units = bot.say(BOSS, "/delegate")[-1]
    assert units.body == "请选择被委托人所在的单位，或直接输入姓名或工号搜索。发送 /cancel 取消。"
    people = _see(bot, BOSS, "榆树沟镇")
    assert people.button_texts() == ["镇领导（B001）", "副镇长（D001）", "◀ 全部单位"]
    assert _see(bot, BOSS, "镇领导（B001）").body == "不能委托给自己。"  # at once, not after dates
    assert bot.say(BOSS, "/cancel")[-1].body == (
        "已取消：没有新增委托。\n已有的委托不受影响；发送 /delegations 可以查看或撤销。")

    bot.say(BOSS, "/delegate")
    bot.tap(BOSS, "榆树沟镇")
    assert "请输入委托 副镇长 的起止日期" in _see(bot, BOSS, "副镇长（D001）").body
    assert bot.say(BOSS, "/cancel")[-1].body == (
        "已取消：没有委托副镇长代为审批。\n已有的委托不受影响；发送 /delegations 可以查看或撤销。")
    assert _facts(store) == before
    with store.session() as session:
        kept = session.exec(select(Delegation)).one()
    assert kept.revoked_at is None


def test_the_import_help_sends_the_blank_templates_as_documents(bot: BotHarness) -> None:
    bot.say(ADMIN, "/admin")
    sent = bot.tap(ADMIN, "📤 导入 Excel")
    assert sent[0].body.startswith("把填好的 .xlsx 文件发给我即可")
    assert "kaohe template" not in sent[0].body
    documents = [m for m in sent if m.document]
    assert [(m.document_name, m.caption) for m in documents] == [
        ("组织架构模板.xlsx",
         "空白模板：组织架构（单位、干部、分管关系、考核周期）。示例行不会被导入。"),
        ("履职事项清单模板.xlsx",
         "空白模板：履职事项清单（履职事项、协同单位）。示例行不会被导入。")]
    for message in documents:
        assert message.document is not None
        book = load_workbook(BytesIO(bot.sim.file_bytes(message.document)))
        assert len(book.sheetnames) >= 2


def test_a_large_organisation_is_walked_down_its_tree(bot: BotHarness, store: Store,
                                                      world: World) -> None:
    """Hundreds of units are not paged through: the top unit's page lists the units right below
    it, each of those its own, with a button back up; the people of a unit come after."""
    with store.transaction() as ctx:
        township = org.unit_by_code(ctx, "yst")
        villages = [org.add_unit(ctx, None, code=f"v{n:02}", name=f"第{n}村", kind="office",
                                 post_category="general", parent=township) for n in range(1, 17)]
        org.add_cadre(ctx, None, code="V0301", name="冯村长", unit=villages[2],
                      post_category="general")
    bot.say(ADMIN, "/admin")
    top = _see(bot, ADMIN, "生成邀请码")
    assert top.body == "请选择干部所在的单位，或直接输入姓名或工号搜索。发送 /cancel 取消。"
    assert top.button_texts() == ["▸ 榆树沟镇", "▸ 退役军人事务局", "▸ 市委考核办",
                                  "市领导（M001）"]  # the top unit's own people after
    town = _see(bot, ADMIN, "▸ 榆树沟镇")
    assert town.message_id == top.message_id and town.body == "榆树沟镇：请选择干部。"
    assert town.button_texts() == ["▸ 党政办", *[f"▸ 第{n}村" for n in range(1, 8)],
                                   "1/3", "下一页 ▶", "◀ 昌吉市"]
    village = _see(bot, ADMIN, "▸ 第3村")
    assert village.body == "第3村：请选择干部。"
    assert village.button_texts() == ["冯村长（V0301）", "◀ 榆树沟镇"]
    assert _see(bot, ADMIN, "◀ 榆树沟镇").button_texts()[:2] == ["▸ 党政办", "▸ 第1村"]
    assert _see(bot, ADMIN, "◀ 昌吉市").button_texts()[0] == "▸ 榆树沟镇"
    _see(bot, ADMIN, "▸ 榆树沟镇")
    assert _see(bot, ADMIN, "下一页 ▶").button_texts() == [
        *[f"▸ 第{n}村" for n in range(8, 16)], "◀ 上一页", "2/3", "下一页 ▶", "◀ 昌吉市"]
    _see(bot, ADMIN, "◀ 上一页")
    _see(bot, ADMIN, "▸ 第3村")
    assert "冯村长 的邀请码" in _see(bot, ADMIN, "冯村长（V0301）").body
