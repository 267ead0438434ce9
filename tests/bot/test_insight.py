"""Issue 15 through the real bot: 提分建议, the 优秀 line and the trend in 我的得分, /whatif (with
its refusals, in the user's language), /warn and its 提醒 (authorised, audited, once a day)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, func, select

from bot.application import sender
from bot.scheduler import tick
from models import org
from models.errors import Refused
from models.insight import CadreProjector
from models.ranks import ranked
from models.rating_pools import pool_of
from models.reports import approve_report, submit_report
from models.store import Store
from models.tables import AuditEntry, Cadre, OutboxMessage, Period, Standing, StandingHistory, Task
from models.views import reportable_tasks
from models.warnings import remind, remind_key
from scoring import round2, score_assessee
from tests.bot.conftest import ADMIN, ALICE, BOB, BOSS
from tests.bot.harness import BotHarness
from tests.conftest import FakeClock
from tests.insight.test_suggestions import _core_with_task_done
from tests.support.world import World
from ui.callbacks import WhatifTask

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _report(store: Store, who: Cadre, task: Task, boss: Cadre, grade: str | None, *,
            progress: Decimal | None = None, actual: Decimal | None = None) -> None:
    """`who` reports on `task`; `boss` approves it at `grade` (None: it waits for review)."""
    with store.transaction() as ctx:
        report = submit_report(ctx, who.id or 0, task.id or 0, progress=progress, actual=actual)
        ctx.session.flush()
        if grade is not None:
            approve_report(ctx, boss.id or 0, report.id or 0, grade)


def _four_colleagues(store: Store, world: World) -> list[Cadre]:
    """Four more people in alice's office, each with one task approved at a different grade."""
    people = []
    with store.transaction() as ctx:
        office = ctx.session.get(type(world.office), world.office.id)
        period = ctx.session.get(Period, world.year.id)
        assert office is not None and period is not None
        for n in range(4):
            cadre = org.add_cadre(ctx, None, code=f"Q00{n}", name=f"同事{n}", unit=office)
            ctx.session.flush()
            task = org.add_task(ctx, None, period=period, code=f"Q{n}", title=f"工作{n}",
                                dimension="basic", category="business", weight=Decimal(10),
                                cadre=cadre, source="city_report")
            people.append((cadre, task))
    for n, (cadre, task) in enumerate(people):
        _report(store, cadre, task, world.boss, "ABCD"[n], progress=Decimal(100))
    return [cadre for cadre, _ in people]


def _projector_numbers(store: Store, world: World, task: Task) -> tuple[Decimal, Decimal]:
    """(projected total, gain) of alice's task at 100 % A, straight from the scoring core."""
    with store.session() as session:
        period = session.get(Period, world.year.id)
        alice = session.get(Cadre, world.alice.id)
        assert period is not None and alice is not None
        projector = CadreProjector(session, store.rules, period, alice, store.today())
        occurrence = next(line.occurrence for line in reportable_tasks(
            session, alice, period, store.today()) if line.task.id == task.id)
        expected = _core_with_task_done(projector, task.id or 0, occurrence)
        current = score_assessee(projector.facts.input).total
    return round2(expected), round2(expected - current)


def _history(store: Store, world: World, cadre: Cadre, totals: list[str]) -> None:
    """Totals recorded len(totals), ..., 2 and 1 weeks ago."""
    today = store.today()
    with store.transaction() as ctx:
        for weeks, total in zip(range(len(totals), 0, -1), totals, strict=True):
            ctx.session.add(StandingHistory(
                period_id=world.year.id or 0, cadre_id=cadre.id,
                taken_on=today - timedelta(days=7 * weeks), total=Decimal(total),
                rank_in_unit=1, rank_in_post=1))


def _section(text: str, title: str) -> str:
    return text.split(title, 1)[1]


def test_my_score_ends_with_suggestions_the_excellence_line_and_the_trend(
        bot: BotHarness, store: Store, world: World) -> None:
    colleagues = _four_colleagues(store, world)
    _report(store, world.alice, world.alice_plain, world.boss, "A", progress=Decimal(50))
    _report(store, world.alice, world.alice_key, world.boss, None, actual=Decimal(3))
    _history(store, world, world.alice, ["1.00", "2.00", "3.00", "4.00"])

    text = next(m.body for m in bot.press(ALICE, "我的得分")
                if m.body.split("\n")[0].endswith("得分"))
    assert "近 4 周走势：连续 4 周上升" in text

    # The 优秀 line: one place among the five with a standing (bob has none yet); the best
    # colleague (A at 100 %) holds it.
    with store.session() as session:
        totals = {s.cadre_id: s.total for s in session.exec(select(Standing).where(
            col(Standing.cadre_id).is_not(None), Standing.group_unit_id == world.office.id))}
    assert len(totals) == 5
    line = max(totals.values())
    assert totals[colleagues[0].id] == line
    mine = totals[world.alice.id]
    # The pool is 榆树沟镇 (the unit below the city), holding 党政办: its rated members count.
    with store.session() as session:
        pool = pool_of(session, store.rules, world.year, world.id.alice)
    assert pool is not None and pool.name == "榆树沟镇" and pool.slots == 1
    assert f"{len(pool.members)} 人中 1 个优秀名额，当前优秀线 {line:.2f} 分" in text
    assert f"距优秀线 {line - mine:.2f} 分" in text
    assert f"优秀标准 90.00 分，还差 {Decimal(90) - mine:.2f} 分" in text

    suggestions = _section(text, "提分建议")
    assert "举办招聘会" not in suggestions  # waiting for review
    with store.session() as session:
        rank_now = ranked(session, session.exec(select(Standing).where(
            Standing.cadre_id == world.alice.id)).one()).rank_in_unit
    total, gain = _projector_numbers(store, world, world.alice_plain)
    assert (f"完成「压缩业务办理时限」（A 优）→ 总分 {total:.2f}（+{gain:.2f}），"
            f"单位排名 {rank_now} → ") in suggestions
    monthly = suggestions.index("网格化巡查")
    assert "已逾期" in suggestions[monthly:].split("\n")[0]
    # Largest gain first.
    assert suggestions.index("压缩业务办理时限") < monthly


def _standings(store: Store, world: World) -> tuple[int, Decimal | None]:
    """How many standings there are, and alice's total."""
    with store.session() as session:
        count = session.exec(select(func.count()).select_from(Standing)).one()
        mine = session.exec(select(Standing).where(Standing.cadre_id == world.alice.id)).first()
    return count, None if mine is None else mine.total


def test_whatif_projects_without_storing_and_refuses_bad_input(
        bot: BotHarness, store: Store, world: World) -> None:
    _four_colleagues(store, world)
    before = _standings(store, world)

    # From 我的任务: a 推演 button per own task.
    bot.press(ALICE, "我的任务")
    asked = bot.tap(ALICE, f"wi:t:{world.alice_plain.id}")[-1].body
    assert "压缩业务办理时限" in asked and "0–100" in asked
    assert "不是有效的进度" in bot.say(ALICE, "八十")[-1].body  # not a number: asked again
    assert "进度必须在 0 到 100 之间" in bot.say(ALICE, "180")[-1].body
    assert "等次" in bot.say(ALICE, "100")[-1].body
    assert "没有 E 这个等次" in bot.say(ALICE, "E")[-1].body  # still waiting for a grade
    result = bot.tap(ALICE, "wi:g:A")[-1].body
    total, gain = _projector_numbers(store, world, world.alice_plain)
    assert f"总分将为 {total:.2f}（+{gain:.2f}）" in result  # the suggestion's numbers
    assert "单位内排名" in result and "岗位类别排名" in result
    assert "距单位内上一名还差" in result or "将位列单位第一" in result
    assert "不会保存" in result
    assert _standings(store, world) == before

    # Someone else's task, by a forged button: refused (the door: one's own task), audited.
    shown = len(bot.sim.messages(ALICE))
    bot.feed(bot.sim.forge_callback(ALICE, bot.last(ALICE).message_id,
                                    WhatifTask(world.bob_task.id or 0).data))
    assert "没有权限" in bot.alert()
    assert len(bot.sim.messages(ALICE)) == shown  # nothing asked, nothing shown
    with store.session() as session:
        assert session.exec(select(AuditEntry).where(
            AuditEntry.action == "refused.forbidden", AuditEntry.actor_id == world.alice.id,
            AuditEntry.entity == "task", AuditEntry.entity_id == world.bob_task.id)).first()
    # The /whatif list holds only alice's own three tasks.
    listed = bot.say(ALICE, "/whatif")[-1]
    data = [d for row in listed.buttons() for _, d in row if d and d.startswith("wi:t:")]
    assert sorted(data) == sorted(f"wi:t:{t.id}" for t in (world.alice_plain, world.alice_key,
                                                             world.alice_monthly))


def test_whatif_speaks_english_to_english_users(bot: BotHarness, world: World) -> None:
    bot.say(BOB, "/lang")
    bot.tap(BOB, "English")
    assert "pick a task" in bot.say(BOB, "/whatif")[-1].body
    bot.tap(BOB, f"wi:t:{world.bob_task.id}")
    assert "“abc” is not a progress I can read" in bot.say(BOB, "abc")[-1].body
    bot.say(BOB, "60")
    assert "There is no grade E" in bot.say(BOB, "E")[-1].body
    result = bot.tap(BOB, "wi:g:B")[-1].body
    assert "Your total would be" in result and "nothing is saved" in result
    bot.feed(bot.sim.forge_callback(BOB, bot.last(BOB).message_id,
                                    WhatifTask(world.alice_plain.id or 0).data))
    assert "You are not allowed to do this" in bot.alert()


def test_warn_lists_behind_tasks_and_reminds_once_a_day(
        bot: BotHarness, store: Store, world: World, clock: FakeClock) -> None:
    assert "没有权限" in bot.say(ALICE, "/warn")[-1].body  # a cadre: refused, audited
    listing = bot.say(BOSS, "/warn")[-1]
    lines = listing.body.split("\n")
    assert lines[0].startswith("红黄预警：🔴")
    # Most urgent first: the monthly task with missed months comes first.
    assert "网格化巡查" in lines[1] and "🔴" in lines[1]
    assert "已逾期" in listing.body
    assert "卡萝" not in listing.body  # not under the township

    task = world.alice_monthly.id
    assert "已提醒艾丽" in bot.tap(BOSS, f"wn:r:{task}")[-1].body
    card = bot.texts(ALICE)[-1]
    assert "镇领导提醒你" in card and "网格化巡查" in card
    assert bot.tap(BOSS, f"wn:r:{task}") == []  # the second time today: an alert, no message
    assert "今天已经提醒过艾丽" in bot.alert()
    with store.session() as session:
        queued = session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == "warn_reminder")).all()
        assert [m.dedupe_key for m in queued] == [remind_key(task or 0, store.today())]
        audited = session.exec(select(AuditEntry).where(AuditEntry.action == "remind")).all()
        assert [(a.actor_id, a.task_id) for a in audited] == [(world.boss.id, task)]

    # Someone who does not supervise the task's unit: refused and audited.
    bot.feed(bot.sim.forge_callback(ALICE, bot.last(ALICE).message_id, f"wn:r:{task}"))
    assert "没有权限" in bot.alert()
    with store.session() as session:
        refused = session.exec(select(AuditEntry).where(
            AuditEntry.action == "refused.forbidden", AuditEntry.actor_id == world.alice.id,
            AuditEntry.entity == "task")).all()
        assert [r.entity_id for r in refused] == [task]
    # The rule itself is in models/: a direct call by someone without the right is refused.
    with pytest.raises(Refused), store.transaction() as ctx:
        remind(ctx, world.chief.id or 0, task or 0)

    # The next day the same task may be reminded again.
    clock.advance(days=1)
    assert "已提醒艾丽" in bot.tap(BOSS, f"wn:r:{task}", listing)[-1].body


def test_supervisors_see_lights_on_the_standings(bot: BotHarness, store: Store,
                                                 world: World) -> None:
    _report(store, world.alice, world.alice_plain, world.boss, "A", progress=Decimal(10))
    _report(store, world.bob, world.bob_task, world.boss, "A", progress=Decimal(100))
    bot.say(BOSS, "排行榜")
    bot.tap(BOSS, "rank:l:0")
    bot.tap(BOSS, f"rank:u:{world.office.id}")
    # The unit list is replaced by the board.
    board = bot.message_with_button(BOSS, f"rank:m:{world.office.id}").body
    assert "预警：红" in board
    alice_line = next(line for line in board.split("\n") if "艾丽" in line)
    bob_line = next(line for line in board.split("\n") if "鲍勃" in line)
    assert "🔴" in alice_line  # her key task has nothing done, ~half the year gone
    assert "🟢" in bob_line  # no key task open
    # A cadre sees no lights on the board.
    assert "🔴" not in bot.press(ALICE, "排行榜")[-1].body


def _local(clock: FakeClock, text: str) -> None:
    clock.now = datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC)


def test_weekly_digests_carry_the_chart_the_line_and_the_warnings(
        bot: BotHarness, store: Store, world: World, clock: FakeClock) -> None:
    _four_colleagues(store, world)
    _report(store, world.alice, world.alice_plain, world.boss, "A", progress=Decimal(30))
    # Three weeks of history behind the Monday of the digest, 2026-06-22.
    with store.transaction() as ctx:
        for weeks, total in ((3, "5.00"), (2, "8.00"), (1, "9.00")):
            for cadre_id in (world.alice.id, world.bob.id):
                ctx.session.add(StandingHistory(
                    period_id=world.year.id or 0, cadre_id=cadre_id,
                    taken_on=date(2026, 6, 22) - timedelta(days=7 * weeks),
                    total=Decimal(total), rank_in_unit=1, rank_in_post=1))
    _local(clock, "2026-06-22 10:00")
    tick(bot.store, bot.settings.schedule)
    bot.run(sender(bot.app).drain(until_empty=True))

    alice = bot.sim.bot_messages(ALICE)
    digest = next(m.body for m in alice if "本周考核简报" in m.body)
    assert "优秀线" in digest and "榆树沟镇：6 人中 1 个优秀名额" in digest
    assert any(m.photo for m in alice)  # the chart of her weeks

    boss = next(m.body for m in bot.sim.bot_messages(BOSS) if "榆树沟镇 · 本周考核简报" in m.body)
    section = _section(boss, "预警")
    assert re.search(r"🔴 红 \d+ 项 · 🟡 黄 \d+ 项 · 🟢 绿 \d+ 项", section), section
    assert "网格化巡查" in section and "已逾期" in section  # the top red item
    assert "/warn" in section

    office = next(m.body for m in bot.sim.bot_messages(ADMIN) if "全市红黄绿预警" in m.body)
    assert "党政办：红" in office  # counts per unit
    assert "退役军人事务局：红" in office
    assert "鲍勃" not in office  # units, not people

