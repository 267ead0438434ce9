"""Reminders and digests on a controlled clock: offsets, workdays (holidays and 调休), quiet
hours, escalation, recurring tasks, digests, a restart mid-run, a 429 storm, a blocked user."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.application import sender
from bot.scheduler import tick
from bot.sender import QuietHours
from models.history import record_day
from models.reports import approve_report, submit_report
from models.standings import refresh_all
from models.store import Store
from models.tables import OutboxMessage, Unit
from tests.bot.conftest import ADMIN, ALICE, BOB, BOSS
from tests.bot.harness import BotHarness
from tests.conftest import FakeClock, at
from tests.support.world import World

SHANGHAI = ZoneInfo("Asia/Shanghai")


def run_schedule(bot: BotHarness) -> None:
    tick(bot.store, bot.settings.schedule)
    bot.run(sender(bot.app).drain())


def walk(bot: BotHarness, clock: FakeClock, start: str, end: str,
         step: timedelta = timedelta(hours=3)) -> None:
    """Let time pass from start to end, the scheduler ticking every `step`."""
    at(clock, start)
    stop = datetime.fromisoformat(end).replace(tzinfo=SHANGHAI).astimezone(UTC)
    while clock.now <= stop:
        run_schedule(bot)
        clock.advance(seconds=step.total_seconds())


def reminders_about(bot: BotHarness, user: int, title: str) -> list[tuple[str, str]]:
    """(local date it arrived, text) of each reminder about `title` the user got."""
    found = []
    for message in bot.sim.bot_messages(user):
        text = message.body or ""
        if title in text and ("提醒" in text or "逾期" in text):
            day = datetime.fromtimestamp(message.date, SHANGHAI).date().isoformat()
            found.append((day, text))
    return found


def test_offsets_skip_weekends_and_holidays_and_count_make_up_workdays(
    bot: BotHarness, clock: FakeClock
) -> None:
    # T1 is due Wednesday 2026-09-30, just before the National Day holiday (10-01 to 10-07);
    # 09-25 to 09-27 is the Mid-Autumn holiday, Saturday 10-10 a 调休 make-up workday.
    walk(bot, clock, "2026-09-24 00:00", "2026-10-13 12:00")
    got = reminders_about(bot, ALICE, "压缩业务办理时限")
    days = [day for day, _ in got]
    assert days == [
        "2026-09-24",  # 3 days before is 09-27, in the Mid-Autumn holiday: the workday before
        "2026-09-29",  # 1 day before
        "2026-09-30",  # the morning of the day
        "2026-10-08",  # overdue 1: the first workday after the holiday
        "2026-10-09",  # overdue 2
        "2026-10-10",  # overdue 3: a Saturday, but a 调休 workday
    ]
    assert "还有 6 天" in got[0][1] and "今天" in got[2][1] and "已逾期 8 天" in got[3][1]
    assert got[0][1] and bot.sim.bot_messages(ALICE)[0]  # reminders carry the report button
    reminder = next(m for m in bot.sim.bot_messages(ALICE)
                    if "压缩业务办理时限" in (m.body or "") and "截止提醒" in (m.body or ""))
    assert reminder.button_texts() == ["立即汇报"]
    # Then the supervisor is told, on the fourth workday after the due date.
    escalations = [(datetime.fromtimestamp(m.date, SHANGHAI).date().isoformat(), m.body)
                   for m in bot.sim.bot_messages(BOSS) if "多次提醒后仍未汇报" in (m.body or "")
                   and "压缩业务办理时限" in (m.body or "")]
    assert [day for day, _ in escalations] == ["2026-10-12"]


def test_the_reminder_button_opens_the_report_for_that_task(
    bot: BotHarness, clock: FakeClock
) -> None:
    walk(bot, clock, "2026-09-29 09:00", "2026-09-29 10:00", step=timedelta(minutes=30))
    reminder = next(m for m in bot.sim.bot_messages(ALICE) if "压缩业务办理时限" in (m.body or ""))
    bot.tap(ALICE, "立即汇报", reminder)
    assert "请输入完成进度" in bot.last(ALICE).body


def test_nobody_who_has_submitted_is_reminded(bot: BotHarness, store: Store, world: World,
                                             clock: FakeClock) -> None:
    at(clock, "2026-09-26 12:00")
    with store.transaction() as ctx:
        submit_report(ctx, world.id.alice or 0, world.id.alice_plain or 0, progress=Decimal(80))
    walk(bot, clock, "2026-09-26 12:00", "2026-10-13 12:00")
    assert reminders_about(bot, ALICE, "压缩业务办理时限") == []


def test_quiet_hours_hold_a_caught_up_reminder_until_morning(
    bot: BotHarness, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.settings.schedule, "catch_up_hours", 24)
    at(clock, "2026-09-29 06:00")
    run_schedule(bot)  # the bot is up before the 09:30 reminder, then goes down
    at(clock, "2026-09-29 23:00")  # back at 23:00: the 09:30 reminders are caught up ...
    run_schedule(bot)
    assert reminders_about(bot, ALICE, "压缩业务办理时限") == []  # ... but not sent at night
    at(clock, "2026-09-30 08:59")
    bot.run(sender(bot.app).drain())
    assert reminders_about(bot, ALICE, "压缩业务办理时限") == []
    at(clock, "2026-09-30 09:00")
    bot.run(sender(bot.app).drain())
    assert [day for day, _ in reminders_about(bot, ALICE, "压缩业务办理时限")] == ["2026-09-30"]
    assert "还有 1 天" in reminders_about(bot, ALICE, "压缩业务办理时限")[0][1]


def test_catch_up_is_limited_to_the_grace_window(bot: BotHarness, clock: FakeClock) -> None:
    at(clock, "2026-09-20 12:00")
    run_schedule(bot)
    at(clock, "2026-09-29 20:00")  # down for nine days: only the last 12 hours are caught up
    run_schedule(bot)
    assert [day for day, _ in reminders_about(bot, ALICE, "压缩业务办理时限")] == ["2026-09-29"]


def test_a_recurring_task_is_reminded_per_occurrence(bot: BotHarness, clock: FakeClock) -> None:
    # T3 is monthly, due on the 25th: June's is due Thursday 2026-06-25.
    walk(bot, clock, "2026-06-21 00:00", "2026-06-25 12:00")
    got = reminders_about(bot, ALICE, "网格化巡查")
    assert [day for day, _ in got] == ["2026-06-22", "2026-06-24", "2026-06-25"]
    assert all("2026-06" in text for _, text in got)


def test_a_waiting_queue_reminds_the_supervisor_once_a_day(
    bot: BotHarness, store: Store, world: World, clock: FakeClock
) -> None:
    at(clock, "2026-06-16 11:00")
    with store.transaction() as ctx:
        submit_report(ctx, world.id.alice or 0, world.id.alice_plain or 0, progress=Decimal(50))
    walk(bot, clock, "2026-06-16 12:00", "2026-06-18 18:00", step=timedelta(hours=1))
    waiting = [datetime.fromtimestamp(m.date, SHANGHAI).date().isoformat()
               for m in bot.sim.bot_messages(BOSS) if "等待审批已超过" in (m.body or "")]
    assert waiting == ["2026-06-18"]  # 06-17 09:30 is less than 24 h after 06-16 11:00


def _digests(store: Store, kind: str) -> list[OutboxMessage]:
    with store.session() as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.kind == kind)).all())


def test_weekly_digests_for_cadre_and_supervisor(
    bot: BotHarness, store: Store, world: World, clock: FakeClock
) -> None:
    at(clock, "2026-06-15 08:00")  # a week earlier: the history the changes are measured from
    with store.transaction() as ctx:
        refresh_all(ctx, world.year)
        record_day(ctx, world.year)
    at(clock, "2026-06-18 15:00")  # Alice's report is approved; Bob's waits
    with store.transaction() as ctx:
        report = submit_report(ctx, world.id.alice or 0, world.id.alice_plain or 0,
                               progress=Decimal(100))
        approve_report(ctx, world.id.boss or 0, report.id or 0, "A")
        submit_report(ctx, world.id.bob or 0, world.id.bob_task or 0, progress=Decimal(40))
    at(clock, "2026-06-22 09:00")  # Monday, before 10:00
    run_schedule(bot)
    assert _digests(store, "digest_cadre") == []
    at(clock, "2026-06-22 10:00")
    run_schedule(bot)
    cadre = next(m.body for m in bot.sim.bot_messages(ALICE) if "本周考核简报" in m.body)
    assert "总分" in cadre and "近期截止" in cadre
    assert re.search(r"总分：[\d.]+（较上周 \+[\d.]+）", cadre), cadre  # full-width marks
    assert re.search(r"单位内排名：第 \d+ 名（党政办） · 岗位类别第 \d+ 名", cadre), cadre
    assert "✅ 《压缩业务办理时限》已通过（A 优）" in cadre
    boss = [m for m in bot.sim.bot_messages(BOSS)]
    assert any(m.photo for m in boss)  # the chart
    unit_digest = next(m.body for m in boss if "榆树沟镇 · 本周考核简报" in (m.body or ""))
    assert re.search(r"▲ 艾丽 \+[\d.]+", unit_digest), unit_digest  # the week's mover
    assert "逾期未报" in unit_digest and "待审批汇报：1 份" in unit_digest
    # Everyone bound gets exactly one of each, and a second run sends nothing more.
    run_schedule(bot)
    assert len(_digests(store, "digest_cadre")) == 5
    assert len([m for m in bot.sim.bot_messages(ALICE) if "本周考核简报" in (m.body or "")]) == 1


def test_a_restart_in_the_middle_of_a_digest_run_loses_and_doubles_nothing(
    bot: BotHarness, store: Store, clock: FakeClock
) -> None:
    at(clock, "2026-06-22 10:05")
    tick(bot.store, bot.settings.schedule)
    bot.run(sender(bot.app).drain(limit=2, until_empty=False))  # two sent, then it dies
    bot.restart()
    run_schedule(bot)
    run_schedule(bot)
    for user in (ALICE, BOB, BOSS, ADMIN):
        personal = [m for m in bot.sim.bot_messages(user)
                    if "本周考核简报" in (m.body or "") and "·" in (m.body or "")
                    and "镇 ·" not in (m.body or "")]
        assert len(personal) == 1, user
    assert {r.state for r in _digests(store, "digest_cadre")} == {"sent"}


def test_a_429_storm_delays_but_loses_nothing(bot: BotHarness, store: Store,
                                             clock: FakeClock) -> None:
    at(clock, "2026-06-22 10:05")
    bot.sim.fail_next("sendMessage", "429", count=4, retry_after=5)
    run_schedule(bot)
    assert {r.state for r in _digests(store, "digest_cadre")} == {"pending", "sent"}
    for _ in range(5):
        clock.advance(seconds=6)
        bot.run(sender(bot.app).drain())
    rows = _digests(store, "digest_cadre")
    assert {r.state for r in rows} == {"sent"}
    assert len([m for m in bot.sim.bot_messages(ALICE) if "本周考核简报" in (m.body or "")]) == 1


def test_a_blocked_user_is_marked_and_listed_for_admins(
    bot: BotHarness, store: Store, clock: FakeClock
) -> None:
    bot.sim.block(BOB)
    at(clock, "2026-06-22 10:05")
    run_schedule(bot)
    run_schedule(bot)
    states = {r.recipient_id: r.state for r in _digests(store, "digest_cadre")}
    assert "blocked" in states.values()
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "已屏蔽机器人的用户")
    assert "鲍勃" in bot.last(ADMIN).body
    # Bob unblocks the bot; once a message reaches him again he is off the list.
    bot.sim.unblock(BOB)
    at(clock, "2026-06-29 10:05")
    run_schedule(bot)
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "已屏蔽机器人的用户")
    assert bot.last(ADMIN).text == "没有用户屏蔽机器人。"


def test_admin_previews_and_sends_the_digest_now(bot: BotHarness, store: Store,
                                                 clock: FakeClock) -> None:
    at(clock, "2026-06-24 15:00")  # a Wednesday
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "预览本周简报")
    assert "本周考核简报" in bot.last(ADMIN).body
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "立即发送本周简报")
    texts = [m.body or "" for m in bot.sim.bot_messages(ADMIN)]
    confirmed = next(i for i, text in enumerate(texts) if "已排入发送队列" in text)
    assert "本周考核简报" in texts[confirmed + 1]  # the admin's own digest follows at once
    assert len([m for m in bot.sim.bot_messages(ALICE) if "本周考核简报" in (m.body or "")]) == 1
    at(clock, "2026-06-29 10:00")  # next Monday: the regular run is a new week
    run_schedule(bot)
    assert len([m for m in bot.sim.bot_messages(ALICE) if "本周考核简报" in (m.body or "")]) == 2



def test_a_unit_keeping_xinjiang_time_is_reminded_at_its_own_morning(
    bot: BotHarness, store: Store, world: World, clock: FakeClock
) -> None:
    with store.transaction() as ctx:
        office = ctx.session.get(Unit, world.id.office)
        assert office is not None
        office.timezone = "Asia/Urumqi"  # UTC+6: 09:30 there is 11:30 in Beijing
    walk(bot, clock, "2026-09-29 09:00", "2026-09-29 12:00", step=timedelta(minutes=30))
    arrived = [datetime.fromtimestamp(m.date, SHANGHAI).strftime("%H:%M")
               for m in bot.sim.bot_messages(ALICE) if "压缩业务办理时限" in (m.body or "")]
    assert arrived == ["11:30"]
    # Quiet hours follow the unit's clock too: 08:30 there (10:30 in Beijing) is still quiet.
    assert QuietHours().resume_at(datetime(2026, 9, 30, 2, 30, tzinfo=UTC),
                                  ZoneInfo("Asia/Urumqi")) == datetime(2026, 9, 30, 3, 0,
                                                                       tzinfo=UTC)


def test_a_supervisor_keeping_xinjiang_time_gets_the_queue_reminder_at_their_own_morning(
    bot: BotHarness, store: Store, world: World, clock: FakeClock
) -> None:
    """The waiting-queue reminder goes out at reminder_time (09:30) on the supervisor's unit's
    clock, as the deadline reminders do: 11:30 in Beijing for a township on Urumqi time. It
    was planned at 09:30 Beijing time (07:30 there), held by their quiet hours and sent at
    09:00 Urumqi time instead."""
    with store.transaction() as ctx:
        township = ctx.session.get(Unit, world.id.township)
        assert township is not None
        township.timezone = "Asia/Urumqi"
    at(clock, "2026-06-16 08:00")
    with store.transaction() as ctx:
        submit_report(ctx, world.id.alice or 0, world.id.alice_plain or 0, progress=Decimal(50))
    walk(bot, clock, "2026-06-17 08:00", "2026-06-17 13:00", step=timedelta(minutes=30))
    arrived = [datetime.fromtimestamp(m.date, SHANGHAI).strftime("%m-%d %H:%M")
               for m in bot.sim.bot_messages(BOSS) if "等待审批已超过" in (m.body or "")]
    assert arrived == ["06-17 11:30"]
