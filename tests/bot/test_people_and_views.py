"""Binding, the menu, tasks, standings, language, admin and claims, through the real bot."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel import select

from models import org
from models.standings import refresh_all
from models.store import Store
from models.tables import AuditEntry, InnovationClaim, Standing, Task
from tests.bot.conftest import ADMIN, ALICE, BOB, BOSS
from tests.bot.harness import BotHarness
from tests.conftest import FakeClock
from tests.support.world import World

STRANGER = 9009


def test_binding_codes_and_strangers(bot: BotHarness, store: Store, world: World,
                                     clock: FakeClock) -> None:
    bot.sim.add_user(STRANGER, "路人")
    assert "邀请码" in bot.say(STRANGER, "你好")[-1].body
    assert "邀请码" in bot.say(STRANGER, "/start NOPE1234")[-1].body
    # Alice's welcome came with the menu.
    assert bot.sim.reply_keyboard(ALICE) == ["汇报进度", "我的任务", "我的得分", "排行榜", "帮助"]
    assert "待审批" in (bot.sim.reply_keyboard(BOSS) or [])
    assert "管理" in (bot.sim.reply_keyboard(ADMIN) or [])

    from models import invites

    with store.transaction() as ctx:
        code = invites.issue_invite(ctx, world.id.admin or 0, world.id.carol or 0).code
    clock.advance(days=30)
    assert "过期" in bot.say(STRANGER, f"/start {code}")[-1].body
    with store.transaction() as ctx:
        fresh = invites.issue_invite(ctx, world.id.admin or 0, world.id.carol or 0).code
    assert "卡萝" in bot.say(STRANGER, f"/start {fresh}")[-1].body
    bot.sim.add_user(STRANGER + 1, "另一人")
    assert "已被使用" in bot.say(STRANGER + 1, f"/start {fresh}")[-1].body


def test_commands_are_registered_in_both_languages(bot: BotHarness) -> None:
    chinese = {c["command"]: c["description"] for c in bot.sim.commands(None)}
    english = {c["command"]: c["description"] for c in bot.sim.commands("en")}
    assert chinese["report"] == "汇报任务进度" and english["report"] == "Report progress on a task"
    assert set(chinese) == set(english)


def test_unknown_command_stale_button_and_stray_text(bot: BotHarness) -> None:
    assert "没有这个命令" in bot.say(ALICE, "/fly")[-1].body
    assert "没有看懂" in bot.say(ALICE, "随便说说")[-1].body
    old = bot.say(ALICE, "/tasks")[-1]
    bot.feed(bot.sim.forge_callback(ALICE, old.message_id, "rep:ok"))  # no report under way
    assert "失效" in bot.sim.callback_answers()[-1]["text"]


def test_my_tasks_grouped_with_state_and_escaped_titles(bot: BotHarness, store: Store,
                                                        world: World) -> None:
    with store.transaction() as ctx:
        period = ctx.session.get(type(world.year), world.id.year)
        assert period is not None
        org.add_task(ctx, None, period=period, code="T9", title="整改 <清单> & 台账",
                     dimension="basic", category="business", weight=Decimal(5),
                     cadre=ctx.session.get(type(world.alice), world.id.alice),
                     source="unit_points", deadline=date(2026, 6, 1))
    text = bot.press(ALICE, "我的任务")[-1].body
    assert text.index("重点任务") < text.index("基础履职")
    assert "整改 <清单> & 台账" in text  # shown as written
    assert "未汇报" in text and "截止 2026-06-01" in text and "⚠️" in text  # overdue
    assert "已通过 0/12 期" in text  # the monthly task


def test_tasks_paginate_within_limits(bot: BotHarness, store: Store, world: World) -> None:
    with store.transaction() as ctx:
        period = ctx.session.get(type(world.year), world.id.year)
        bob = ctx.session.get(type(world.bob), world.id.bob)
        assert period is not None and bob is not None
        for n in range(30):
            org.add_task(ctx, None, period=period, code=f"B{n:02d}", title=f"走访第{n}户 " * 20,
                         dimension="basic", category="general", weight=Decimal(1), cadre=bob,
                         source="unit_points")
    first = bot.say(BOB, "/tasks")[-1]
    assert first.button_texts()[-1] == "下一页 ▶"
    bot.tap(BOB, "下一页 ▶", first)
    assert "2/" in " ".join(bot.last(BOB).button_texts())


def test_standings_for_cadre_and_supervisor(bot: BotHarness, store: Store, world: World) -> None:
    with store.transaction() as ctx:  # as the office does after importing the duty lists
        refresh_all(ctx, world.year)
    text = bot.say(ALICE, "/rank")[-1].body
    assert "党政办" in text and "艾丽" in text and "◀" in text
    assert not bot.last(ALICE).button_texts()  # a cadre sees only their own unit
    ranking = bot.say(BOSS, "/rank")[-1]  # a leader sees the units below first
    assert ranking.button_texts() == ["党政办", "本单位人员排名", "查看其他单位"]
    bot.tap(BOSS, "本单位人员排名", ranking)
    board = bot.last(BOSS)
    assert "榆树沟镇 · 2026年度 排行榜" in board.body
    assert board.button_texts() == ["查看其他单位", "未按期汇报"]
    bot.tap(BOSS, "查看其他单位", board)
    units = bot.last(BOSS).button_texts()
    assert "党政办" in units and "退役军人事务局" not in units  # only what the boss oversees
    bot.tap(BOSS, "党政办")
    assert "艾丽" in bot.last(BOSS).body
    bot.tap(BOSS, "未按期汇报")
    late = bot.last(BOSS).body
    assert "未按期汇报" in late and "• 艾丽\n  网格化巡查" in late  # the monthly task is overdue
    # A forged callback for a unit the boss does not oversee is refused.
    bot.feed(bot.sim.forge_callback(BOSS, board.message_id, f"rank:u:{world.id.bureau}"))
    assert "没有权限" in bot.alert()


def test_language_switch_changes_menu_and_texts(bot: BotHarness) -> None:
    bot.say(ALICE, "/lang")
    bot.tap(ALICE, "English")
    assert bot.sim.reply_keyboard(ALICE) == ["Report progress", "My tasks", "My score",
                                             "Standings", "Help"]
    assert "Total" in bot.press(ALICE, "My score")[-1].body or "No score yet" in bot.last(
        ALICE).body
    bot.say(ALICE, "/lang")
    bot.tap(ALICE, "中文")
    assert (bot.sim.reply_keyboard(ALICE) or [""])[0] == "汇报进度"


def test_admin_boosts_a_key_task_and_the_score_follows(bot: BotHarness, store: Store,
                                                       world: World) -> None:
    assert "没有权限" in bot.say(ALICE, "/admin")[-1].body
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "重点任务动态上调")
    assert "本期没有名称或编号为“NOPE”的任务" in bot.say(ADMIN, "NOPE")[-1].body
    bot.say(ADMIN, "T2")
    assert "不是数字" in bot.say(ADMIN, "十五")[-1].body
    assert "10% 到 20%" in bot.say(ADMIN, "35")[-1].body  # outside the range: asked again
    assert "已保存" in bot.say(ADMIN, "15")[-1].body
    with store.session() as session:
        task = session.get(Task, world.id.alice_key)
        actions = [a.action for a in session.exec(select(AuditEntry)).all()]
    assert task is not None and task.boost == Decimal("0.15")
    assert "task.boost" in actions


def test_admin_issues_an_invite_and_switches_period(bot: BotHarness, world: World) -> None:
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "生成邀请码")
    text = bot.say(ADMIN, "P003")[-1].body
    assert "卡萝 的邀请码" in text and "t.me/" in text
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "切换考核周期")
    assert "● 2026年度" in bot.last(ADMIN).button_texts()


def test_innovation_claim_from_cadre_to_admin_and_back(bot: BotHarness, store: Store,
                                                       world: World) -> None:
    bot.say(BOB, "/claim")
    bot.tap(BOB, "上级表彰")
    bot.tap(BOB, "自治区级（4 分）")
    bot.say(BOB, "获自治区民族团结进步模范个人")
    bot.photo(BOB)
    bot.tap(BOB, "完成")
    assert "4 分" in bot.last(BOB).body
    bot.tap(BOB, "✅ 提交申报")
    card = bot.last(ADMIN)
    assert "创新加分申报" in card.body and "鲍勃" in card.body
    bot.tap(ADMIN, "✅ 通过", card)
    assert bot.last(BOB).body.splitlines()[:3] == [
        "✅ 您的创新加分申报已通过",
        "计入 4 分 × 成长系数 1.25 = 5.00 分。",
        "您的创新加分现为 5.00 分（上限 10 分）。"]
    with store.session() as session:
        claim = session.exec(select(InnovationClaim)).one()
        standing = session.exec(select(Standing).where(Standing.cadre_id == world.id.bob)).one()
    assert claim.state == "approved"
    assert standing.innovation == Decimal("5.00")  # growth profile: 4 x 1.25


def test_delegated_reviewer_sees_pending(bot: BotHarness, world: World) -> None:
    bot.say(BOSS, "/delegate")
    assert "没有找到姓名或工号为“X999”的干部" in bot.say(BOSS, "X999")[-1].body
    bot.say(BOSS, "D001")
    assert "格式不对" in bot.say(BOSS, "下周")[-1].body
    assert "不能倒签" in bot.say(BOSS, "2026-06-10 2026-06-30")[-1].body  # today is 06-15
    assert "最长 90 天" in bot.say(BOSS, "2026-06-15 2152-06-15")[-1].body
    assert "代为审批" in bot.say(BOSS, "2026-06-15 2026-06-30")[-1].body
    assert world.deputy.name in bot.last(BOSS).body


def test_a_long_score_goes_out_in_pieces_within_telegrams_limit(
    bot: BotHarness, store: Store, world: World
) -> None:
    with store.transaction() as ctx:
        period = ctx.session.get(type(world.year), world.id.year)
        bob = ctx.session.get(type(world.bob), world.id.bob)
        assert period is not None and bob is not None
        for n in range(60):
            org.add_task(ctx, None, period=period, code=f"L{n:02d}",
                         title=f"第{n}项：“民族团结一家亲”结亲走访与政策宣讲", dimension="basic",
                         category="general", weight=Decimal(1), cadre=bob,
                         source="unit_points")
        refresh_all(ctx, period)
    pieces = bot.say(BOB, "/score")
    assert len(pieces) >= 2
    assert all(len(p.text or "") <= 4096 for p in pieces)
    assert "第59项" in pieces[-1].body
