"""Lists, times and words (issue 13 §4): a long 未按期汇报 split between people, a delegate greeted
as a delegate, through the real bot on both databases."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from models import org
from models.admin import delegate_review, set_boost
from models.reports import approve_report, submit_report
from models.store import Store
from tests.bot.conftest import ADMIN, ALICE, BOSS, DEPUTY
from tests.bot.harness import BotHarness
from tests.support.world import World

LATE_PEOPLE = 30  # the most 未按期汇报 lists at once
TASKS_EACH = 6


def _many_late_people(store: Store, world: World) -> dict[str, list[str]]:
    """30 more people in 党政办, each with six overdue tasks of long titles: far over 4,096."""
    late: dict[str, list[str]] = {}
    with store.transaction() as ctx:
        year = ctx.session.merge(world.year)
        office = ctx.session.merge(world.office)
        for n in range(LATE_PEOPLE):
            name = f"干部{n:02d}号"
            cadre = org.add_cadre(ctx, None, code=f"L{n:03d}", name=name, unit=office)
            ctx.session.flush()
            late[name] = []
            for k in range(TASKS_EACH):
                title = f"{name}第{k}项：深入开展基层治理能力提升专项行动并按月报送进展情况"
                org.add_task(ctx, None, period=year, code=f"L{n:03d}-{k}", title=title,
                             dimension="basic", category="general", weight=Decimal(5),
                             cadre=cadre, source="unit_points", deadline=date(2026, 3, 31))
                late[name].append(title)
    return late


def test_a_long_not_reported_list_is_split_between_people(
        bot: BotHarness, store: Store, world: World) -> None:
    late = _many_late_people(store, world)
    bot.say(BOSS, "/rank")
    bot.tap(BOSS, "查看其他单位")
    bot.tap(BOSS, "党政办")
    pieces = bot.tap(BOSS, "未按期汇报")
    bodies = [piece.body or "" for piece in pieces]
    assert len(bodies) >= 2 and sum(len(body) for body in bodies) > 4096
    assert bodies[0].startswith("党政办 · 截至 2026-06-15 未按期汇报")
    shown = 0
    for name, titles in late.items():
        holding = [body for body in bodies if f"• {name}\n" in body]
        if not holding:
            continue  # past the 30 listed ("另有 … 人未列出")
        shown += 1
        assert len(holding) == 1, name
        # All of a person's tasks come in the message that names them, one a line under it.
        assert f"• {name}\n" + "".join(f"  {title}\n" for title in titles) in holding[0] + "\n"
    assert shown >= LATE_PEOPLE - 1  # Alice is late too, and the list stops at 30
    for body in bodies[1:]:
        assert body.startswith("• "), body[:40]  # each further message begins with a person


def test_a_delegate_is_greeted_as_a_delegate_and_a_supervisor_as_a_supervisor(
        bot: BotHarness, store: Store, world: World) -> None:
    today = store.today()
    with store.transaction() as ctx:
        delegate_review(ctx, world.id.boss, world.id.deputy, today, today + timedelta(days=6))
    bot.join(world.deputy, DEPUTY)  # binding says /start's welcome
    welcome = bot.last(DEPUTY).body
    delegate = "您受镇领导委托代为审批（至 2026-06-21）：镇领导分管单位的汇报会发送给您。"
    assert delegate in welcome and "分管领导" not in welcome
    help_text = bot.say(DEPUTY, "/help")[-1].body
    assert help_text.startswith(delegate + "\n可用命令") and "/pending" in help_text
    assert "您是榆树沟镇的分管领导：" in bot.say(BOSS, "/start")[-1].body
    assert "您是榆树沟镇的分管领导：" in bot.say(BOSS, "/help")[-1].body
    for words in ("分管领导", "委托"):  # a cadre who is neither is greeted as neither
        assert words not in bot.say(ALICE, "/start")[-1].body
        assert words not in bot.say(ALICE, "/help")[-1].body
    bot.say(DEPUTY, "/lang")
    bot.tap(DEPUTY, "English")
    assert ("You review on behalf of 镇领导 until 2026-06-21: submissions from the units "
            "镇领导 supervises come to you.") in bot.say(DEPUTY, "/help")[-1].body


def test_the_audit_log_in_the_bot_is_in_words_and_local_time(
        bot: BotHarness, store: Store, world: World) -> None:
    with store.transaction() as ctx:
        report = submit_report(ctx, world.id.alice, world.id.alice_plain, progress=Decimal(80))
        approve_report(ctx, world.id.boss, report.id or 0, "A")
    text = bot.say(ADMIN, "/audit")[-1].body
    assert text.startswith("审计日志：最近 15 条，最新在前\n")
    # The clock says 2026-06-15 02:00 UTC: 10:00 in Beijing, the admin's zone.
    assert ("• 2026-06-15 10:00 · 镇领导 · 通过汇报 · 汇报\n"
            "  状态：待审批 → 已通过、审批人：— → 镇领导、评价等次：— → A 优、"
            "审批时间：— → 2026-06-15 10:00\n") in text
    assert "• 2026-06-15 10:00 · 艾丽 · 提交汇报 · 汇报\n  履职事项：压缩业务办理时限、" in text
    assert "report." not in text and "02:00" not in text and "_id" not in text
    assert "没有权限" in bot.say(ALICE, "/audit")[-1].body  # the office's alone
    bot.say(ADMIN, "/admin")
    from_menu = bot.tap(ADMIN, "审计日志")[-1].body  # the same log from the admin menu,
    assert from_menu.startswith("审计日志：最近 15 条，最新在前\n")  # Alice's try newest
    assert "• 2026-06-15 10:00 · 镇领导 · 通过汇报 · 汇报\n" in from_menu
    bot.say(ADMIN, "/lang")
    bot.tap(ADMIN, "English")
    english = bot.say(ADMIN, "/audit")[-1].body
    assert "• 2026-06-15 10:00 · 镇领导 · Approved a report · Report\n" in english


def test_a_boost_and_a_difficulty_read_the_same_everywhere(
        bot: BotHarness, store: Store, world: World) -> None:
    """One format per kind of number: a boost "+15%", a difficulty two decimals."""
    with store.transaction() as ctx:
        set_boost(ctx, world.id.admin, world.id.alice_key, Decimal("0.15"))
        report = submit_report(ctx, world.id.alice, world.id.alice_key, actual=Decimal(6))
        approve_report(ctx, world.id.boss, report.id or 0, "A")
    bot.say(ALICE, "/help")  # the decision's notice arrives first
    shown = bot.say(ALICE, "/score")[-1].body
    assert "• 举办招聘会\n  权重 " in shown
    line = shown.split("• 举办招聘会\n  ", 1)[1].split("\n", 1)[0]
    assert " · 难易系数 1.20 → " in line and line.endswith(" 分（动态上调 +15%）"), line
    assert "0.15" not in shown
    text = bot.say(ADMIN, "/audit")[-1].body
    assert ("• 2026-06-15 10:00 · 考核办管理员 · 动态上调 · 履职事项：举办招聘会\n"
            "  动态上调：— → +15%") in text
