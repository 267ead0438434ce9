"""Delivery as people live it: beside the update loop, once per update, at least once per
message with the same text, in pieces when long, silent at night for what they asked for, and
failures shown to admins. On SQLite and PostgreSQL, through the real Application."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.application import sender
from bot.persistence import DatabasePersistence
from bot.sender import CARD_MAKERS, OutboxSender
from bot.updates import UpdateApplication
from handlers import report as report_handlers
from models import org
from models.outbox import Kind, enqueue
from models.reports import approve_report, submit_report
from models.store import Store
from models.tables import Cadre, OutboxMessage, Report, Standing, Unit
from tests.bot.conftest import ADMIN, ALICE, BOB, BOSS
from tests.bot.harness import BotHarness
from tests.conftest import FakeClock, at
from tests.support.world import World
from ui import insight_digest
from ui.render import Renderer

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Killed(BaseException):
    """kill -9: nothing after it runs, no handler catches it."""


def _rows(store: Store, kind: str | None = None) -> list[OutboxMessage]:
    with store.session() as session:
        query = select(OutboxMessage).order_by(col(OutboxMessage.id))
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        return list(session.exec(query).all())


def _report_up_to_submit(bot: BotHarness, title: str = "压缩业务办理时限") -> None:
    bot.press(ALICE, "汇报进度")
    bot.tap(ALICE, next(b for b in bot.last(ALICE).button_texts() if title in b))
    bot.say(ALICE, "50")
    bot.tap(ALICE, "跳过")
    bot.tap(ALICE, "跳过")


def _cards(bot: BotHarness) -> list[str]:
    return [m.text or "" for m in bot.sim.bot_messages(BOSS) if "待审批汇报" in (m.text or "")]


# -- quiet hours ------------------------------------------------------------------------------


def test_at_half_past_eleven_at_night_the_supervisor_gets_the_card_at_once_silently(
    bot: BotHarness, store: Store, clock: FakeClock
) -> None:
    at(clock, "2026-06-16 23:30")
    _report_up_to_submit(bot)
    bot.tap(ALICE, "✅ 提交")
    assert "已提交" in bot.last(ALICE).body
    card = bot.last(BOSS)
    assert "艾丽" in card.body and "压缩业务办理时限" in card.body
    assert card.button_texts()[:4] == ["A 优", "B 良", "C 合格", "D 不合格"]
    assert card.silent  # no sound at night
    bot.tap(BOSS, "A 优", card)
    told = bot.last(ALICE)
    assert "已审批通过（A 优）" in told.body and told.silent
    # What the bot sends unbidden still waits for the morning.
    with store.transaction() as ctx:
        alice = ctx.session.get(Cadre, store_cadre_id(store, "P001"))
        enqueue(ctx, Kind.REVIEW_WAITING, {"count": 1}, recipient=alice)
    bot.deliver()
    assert [r.state for r in _rows(store, "review_waiting")] == ["pending"]


def test_in_the_daytime_the_card_comes_with_its_sound(bot: BotHarness, clock: FakeClock) -> None:
    at(clock, "2026-06-16 10:30")
    _report_up_to_submit(bot)
    bot.tap(ALICE, "✅ 提交")
    assert not bot.last(BOSS).silent


def store_cadre_id(store: Store, code: str) -> int:
    with store.session() as session:
        cadre = session.exec(select(Cadre).where(Cadre.code == code)).one()
        return cadre.id or 0


# -- who is woken after an update ---------------------------------------------------------------


def test_the_sender_is_woken_by_an_update_that_queued_a_message_and_only_then(
        bot: BotHarness) -> None:
    """A look at the outbox is a write transaction: on SQLite it queues behind the next update.
    So the sender and the job runner are woken for what an update queued, not after every one."""
    woken: list[str] = []
    application = bot.app
    assert isinstance(application, UpdateApplication)

    def noting(table: str) -> Callable[[], None]:
        return lambda: woken.append(table)

    application.committed[:] = [(table, noting(table)) for table, _ in application.committed]
    bot.say(ALICE, "/tasks")
    _report_up_to_submit(bot)
    assert woken == []  # a list, the report's steps: nothing for anyone to send
    bot.tap(ALICE, "✅ 提交")
    assert woken == ["outbox_message"]  # the supervisor's card


# -- a figure is of the moment it is sent -----------------------------------------------------


def test_a_decision_notice_delivered_late_shows_the_total_of_then(
    bot: BotHarness, store: Store, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _report_up_to_submit(bot)
    bot.tap(ALICE, "✅ 提交")
    with monkeypatch.context() as patch:  # Telegram is unreachable for a while
        async def nothing(self: OutboxSender, limit: int = 50, **_: Any) -> int:
            return 0

        patch.setattr(OutboxSender, "drain", nothing)
        bot.tap(BOSS, "A 优", bot.last(BOSS))  # Alice: 30.00 now
        with store.transaction() as ctx:  # meanwhile her key task is approved too
            report = submit_report(ctx, world.alice.id or 0, world.alice_key.id or 0,
                                   actual=Decimal(12))
            approve_report(ctx, world.boss.id or 0, report.id or 0, "A")
    bot.deliver()
    told = [m.text or "" for m in bot.sim.bot_messages(ALICE) if "已审批通过" in (m.text or "")]
    assert len(told) == 2
    with store.session() as session:
        total = session.exec(select(Standing).where(
            Standing.cadre_id == world.alice.id)).one().total
    assert total > 30
    assert all(f"当前总分 {total:.2f}" in text for text in told), told  # not the stale 30.00


# -- long messages --------------------------------------------------------------------------


def test_a_supervisor_digest_over_4096_characters_arrives_in_pieces(
    bot: BotHarness, store: Store, world: World, clock: FakeClock
) -> None:
    with store.transaction() as ctx:  # Bob has 150 overdue tasks, each title on the digest
        for n in range(150):
            org.add_task(ctx, None, period=world.year, code=f"X{n:03d}",
                         title=f"<专项整治> 第{n:03d}项 & 农村人居环境整治提升行动",
                         dimension="basic", category="general", weight=Decimal("0.1"),
                         cadre=world.bob, source="unit_points", deadline=date(2026, 6, 1))
    at(clock, "2026-06-22 10:05")
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "立即发送本周简报")
    rows = _rows(store, "digest_supervisor")
    assert rows and {r.state for r in rows} == {"sent"}
    pieces = [m for m in bot.sim.bot_messages(BOSS) if not m.photo]
    digest = "\n".join(m.text or "" for m in pieces if "第" in (m.text or ""))
    titles = [f"<专项整治> 第{n:03d}项 & 农村人居环境整治提升行动" for n in range(150)]
    assert [title for title in titles if title not in digest] == []  # none cut in two
    assert max(len((m.text or "").encode("utf-16-le")) // 2 for m in pieces) <= 4096
    assert len(rows[0].rendered or []) > 2  # the chart and the text in several pieces


# -- failures are visible -------------------------------------------------------------------


def test_the_standings_charts_are_drawn_by_what_the_sender_is_given(
    store: Store, world: World
) -> None:
    """A worker gives its senders a drawer in another process (ui/charts_pool.py): the
    supervisors' and the groups' digests take their charts from it, not from matplotlib here."""
    titles: list[str] = []

    def elsewhere(title: str, *_: Any, **__: Any) -> bytes:
        titles.append(title)
        return b"drawn elsewhere"

    make = insight_digest.makers(store.rules, elsewhere)
    payload = {"period_id": world.id.year, "unit_id": world.id.bureau, "week": "2026-06-21"}
    with store.session() as session:
        cards = [make[kind](session, payload, Renderer("zh_CN"), None)
                 for kind in ("digest_supervisor", "digest_group")]
    assert [card.photo if card else None for card in cards] == [b"drawn elsewhere"] * 2
    assert len(titles) == 2 and all(world.bureau.name in title for title in titles)


def test_every_kind_has_a_template(bot: BotHarness) -> None:
    """The sender's makers: the fixed ones, and those that need the configured rules."""
    assert set(sender(bot.app).card_makers) == set(Kind)
    assert set(CARD_MAKERS) | set(insight_digest.makers(bot.store.rules)) == set(Kind)


def test_a_message_of_an_unknown_kind_fails_visibly(bot: BotHarness, store: Store,
                                                    clock: FakeClock) -> None:
    with store.transaction() as ctx:
        ctx.session.add(OutboxMessage(created_at=ctx.now, recipient_id=store_cadre_id(
            store, "P002"), chat_id=BOB, kind="horoscope", payload={}, not_before=ctx.now))
    bot.deliver()
    [row] = _rows(store, "horoscope")
    assert row.state == "failed" and "unknown kind" in (row.last_error or "")
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "已屏蔽机器人的用户")
    text = bot.last(ADMIN).body
    assert "没有用户屏蔽机器人。" in text and "发送失败的消息共 1 条" in text
    assert "鲍勃 · horoscope" in text


def test_a_message_telegram_refuses_is_listed_for_admins(bot: BotHarness, store: Store) -> None:
    with store.transaction() as ctx:
        enqueue(ctx, Kind.REVIEW_WAITING, {"count": 1},
                recipient=ctx.session.get(Cadre, store_cadre_id(store, "B001")))
    with store.transaction() as ctx:  # a message Telegram will refuse (400: too long)
        [row] = _rows(store, "review_waiting")
        stored = ctx.session.get(OutboxMessage, row.id)
        assert stored is not None
        stored.rendered = [{"type": "text", "text": "长" * 5000, "markup": None}]
    bot.deliver()
    [row] = _rows(store, "review_waiting")
    assert row.state == "failed"
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "已屏蔽机器人的用户")
    assert "发送失败的消息共 1 条" in bot.last(ADMIN).body
    assert "镇领导 · 待审批提醒" in bot.last(ADMIN).body


# -- exactly once per update ----------------------------------------------------------------


def test_an_update_cut_short_by_a_crash_is_handled_again_when_redelivered(
    bot: BotHarness, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _report_up_to_submit(bot)
    tap = bot.sim.tap(ALICE, bot.message_with_button(ALICE, "✅ 提交").message_id, "✅ 提交")

    async def killed(self: DatabasePersistence, application: Any, update_id: int) -> None:
        raise Killed

    with monkeypatch.context() as patch:  # the process dies after the handler's work
        patch.setattr(DatabasePersistence, "commit_update", killed)
        with pytest.raises(Killed):
            bot.feed(tap)
    bot.crash()
    bot.feed(tap)  # Telegram delivers it again: it is not dropped as already handled
    assert "已提交" in bot.last(ALICE).body
    with store.session() as session:
        reports = session.exec(select(Report).where(Report.state == "submitted")).all()
    assert len(reports) == 1
    assert len(_cards(bot)) == 1
    bot.feed(tap)  # a third delivery, after it was handled: dropped
    assert len([m for m in bot.sim.bot_messages(ALICE) if "已提交" in (m.text or "")]) <= 2
    assert len(_cards(bot)) == 1


def test_an_approval_cut_short_before_its_commit_left_nothing_and_counts_once_redelivered(
    bot: BotHarness, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One transaction per update: the decision, the standing, the notice and "handled" commit
    together, so a process that dies after the handler ran left none of them behind."""
    _report_up_to_submit(bot)
    bot.tap(ALICE, "✅ 提交")
    card = _cards_messages(bot)[-1]
    tap = bot.sim.tap(BOSS, card.message_id, "A 优")
    total_before = _total(store, "P001")

    async def killed(self: DatabasePersistence, application: Any, update_id: int) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(DatabasePersistence, "commit_update", killed)
        with pytest.raises(Killed):
            bot.feed(tap)
    bot.crash()
    with store.session() as session:
        (report,) = session.exec(select(Report)).all()
    assert (report.state, _total(store, "P001")) == ("submitted", total_before)
    assert _rows(store, "report_decided") == []
    bot.feed(tap)  # Telegram delivers it again
    bot.feed(tap)  # and once more, after it was handled: dropped
    with store.session() as session:
        (report,) = session.exec(select(Report)).all()
    assert (report.state, report.grade) == ("approved", "A")
    assert len([t for t in bot.texts(ALICE) if "审批通过" in t]) == 1


def _total(store: Store, code: str) -> Decimal | None:
    with store.session() as session:
        return session.exec(select(col(Standing.total)).where(
            Standing.cadre_id == store_cadre_id(store, code))).first()


def _cards_messages(bot: BotHarness) -> list[Any]:
    return [m for m in bot.sim.bot_messages(BOSS) if "待审批汇报" in (m.text or "")]


def test_an_update_cut_short_before_its_effect_has_its_effect_once_redelivered(
    bot: BotHarness, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _report_up_to_submit(bot)
    tap = bot.sim.tap(ALICE, bot.message_with_button(ALICE, "✅ 提交").message_id, "✅ 提交")

    def dies(*args: object, **kwargs: object) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(report_handlers, "submit_report", dies)
        with pytest.raises(Killed):
            bot.feed(tap)
    bot.crash()
    bot.feed(tap)
    assert "已提交" in bot.last(ALICE).body
    assert len(_cards(bot)) == 1


# -- at least once, with the same text -------------------------------------------------------


def test_a_crash_after_telegram_took_a_message_resends_the_same_text(
    bot: BotHarness, store: Store, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _report_up_to_submit(bot)
    bot.tap(ALICE, "✅ 提交")
    real_send = OutboxSender._send

    async def sent_then_killed(self: OutboxSender, chat_id: int, part: dict[str, Any],
                               silent: bool) -> int | None:
        message_id = await real_send(self, chat_id, part, silent)
        if chat_id == ALICE:
            raise Killed  # Telegram has it; we never learn that it did
        return message_id

    with monkeypatch.context() as patch:
        patch.setattr(OutboxSender, "_send", sent_then_killed)
        with pytest.raises(Killed):
            bot.tap(BOSS, "A 优", bot.last(BOSS))
    first = bot.last(ALICE).body
    assert "当前总分 30.00" in first
    bot.crash()
    with store.transaction() as ctx:  # her total changes before the retry
        report = submit_report(ctx, world.alice.id or 0, world.alice_key.id or 0,
                               actual=Decimal(12))
        approve_report(ctx, world.boss.id or 0, report.id or 0, "A")
    bot.deliver()
    notices = [m.text for m in bot.sim.bot_messages(ALICE)
               if "《压缩业务办理时限》已审批通过" in (m.text or "")]
    assert notices == [first, first]  # one duplicate at most, and the same words
    assert {r.state for r in _rows(store, "report_decided")} == {"sent"}


# -- delivery beside the update loop ---------------------------------------------------------


@pytest.fixture
def busy_bot(store: Store, world: World) -> Iterator[BotHarness]:
    """The real sender task beside the updates, and 300 more cadres bound to the bot."""
    harness = BotHarness(store, background_sender=True)
    for cadre, telegram_id in ((world.alice, ALICE), (world.bob, BOB), (world.boss, BOSS),
                               (world.admin, ADMIN)):
        harness.join(cadre, telegram_id)
    with store.transaction() as ctx:
        office = ctx.session.get(Unit, world.office.id)
        assert office is not None
        for n in range(300):
            cadre = org.add_cadre(ctx, None, code=f"Q{n:03d}", name=f"干部{n:03d}", unit=office)
            cadre.telegram_user_id = 500_000 + n
            harness.sim.add_user(500_000 + n, cadre.name)
    yield harness
    harness.close()


def _digests_sent(bot: BotHarness) -> int:
    return sum(1 for chat in range(500_000, 500_300) for m in bot.sim.bot_messages(chat)
               if "本周考核简报" in (m.text or ""))


def test_a_tap_is_answered_while_a_large_digest_run_goes_out(
    busy_bot: BotHarness, store: Store, clock: FakeClock
) -> None:
    bot = busy_bot
    at(clock, "2026-06-24 15:00")
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "立即发送本周简报")
    # Answered at once: the run is a job beside the update loop (bot/jobs.py).
    assert bot.last(ADMIN).body == "已安排发送本周简报，排好后会通知您。"

    async def sent_at_least(count: int) -> None:
        while _digests_sent(bot) < count:
            await asyncio.sleep(0.01)

    bot.run(asyncio.wait_for(sent_at_least(20), timeout=120))  # the run is under way
    before = _digests_sent(bot)
    reply = bot.say(BOB, "/help")
    assert reply, "Bob's /help was not answered while the digests went out"
    during = _digests_sent(bot)
    assert during - before < 30 and during < 300, (before, during)  # not after the run
    bot.sim.fail_next(None, "429", retry_after=3)  # Telegram asks the run to wait, once

    async def settle() -> None:
        # The store's clock moves on as the run goes out: a chat Telegram asked to wait (a 429
        # when a loaded machine lets sends bunch up) or a retry's backoff is held until a
        # moment of that clock, which would otherwise never come.
        while any(r.state == "pending" for r in _rows(store)):
            clock.advance(seconds=1)
            await asyncio.sleep(0.05)

    bot.run(asyncio.wait_for(settle(), timeout=300))
    assert _digests_sent(bot) == 300
    assert any(m.text and m.text.startswith("已排入发送队列：")
               for m in bot.sim.bot_messages(ADMIN))  # told when the run was queued
    assert {r.state for r in _rows(store, "digest_cadre")} == {"sent"}
