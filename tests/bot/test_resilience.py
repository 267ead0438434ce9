"""What goes wrong: Telegram down or flooding, a handler that fails, and the week's movement."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.application import sender
from bot.sender import OutboxSender
from handlers import mine
from models.history import record_day
from models.standings import refresh_all
from models.store import Store
from models.tables import OutboxMessage
from tests.bot.conftest import ALICE, BOSS
from tests.bot.harness import BotHarness
from tests.conftest import FakeClock
from tests.support.world import World


def _submit_holding_the_outbox(bot: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    """Submit, with delivery held back so a fault can be aimed at the card itself."""
    _submit(bot)

    async def later(self: OutboxSender, limit: int = 200) -> int:
        return 0

    with monkeypatch.context() as patch:
        patch.setattr(OutboxSender, "drain", later)
        bot.tap(ALICE, "✅ 提交")


def _submit(bot: BotHarness) -> None:
    bot.press(ALICE, "汇报进度")
    bot.tap(ALICE, next(b for b in bot.last(ALICE).button_texts() if "压缩业务办理时限" in b))
    bot.say(ALICE, "50")
    bot.tap(ALICE, "跳过")
    bot.tap(ALICE, "跳过")


def _the_card_was_sent_once(bot: BotHarness, store: Store, row_id: int | None) -> None:
    cards = [m for m in bot.sim.bot_messages(BOSS) if "待审批汇报" in (m.body or "")]
    assert len(cards) == 1
    with store.session() as session:
        assert session.get(OutboxMessage, row_id).state == "sent"  # type: ignore[union-attr]


def test_telegram_outage_delays_the_card_and_it_arrives_once(
    bot: BotHarness, store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _submit_holding_the_outbox(bot, monkeypatch)
    cards_before = len(bot.sim.bot_messages(BOSS))
    bot.sim.fail_next("sendMessage", "500", count=3)  # Telegram answers 502 for a while
    bot.run(sender(bot.app).drain())
    with store.session() as session:
        row = session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == "review_request")).one()
    assert row.state == "pending" and row.attempts >= 1
    assert len(bot.sim.bot_messages(BOSS)) == cards_before

    for _ in range(4):  # the timer drains again after each backoff
        clock.advance(minutes=1)
        bot.run(sender(bot.app).drain())
    _the_card_was_sent_once(bot, store, row.id)
    bot.run(sender(bot.app).drain())
    assert len([m for m in bot.sim.bot_messages(BOSS) if "待审批汇报" in (m.body or "")]) == 1


def test_a_long_telegram_outage_delays_the_card_and_it_still_arrives_once(
    bot: BotHarness, store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telegram (or the network to it) down for half an hour: every try meanwhile fails with a
    5xx. The card waits and arrives once Telegram is back; it used to fail for good after 8
    tries (2 + 4 + ... + 128 s: about four minutes), and the supervisor never got it."""
    _submit_holding_the_outbox(bot, monkeypatch)
    cards_before = len(bot.sim.bot_messages(BOSS))
    armed = False
    for _ in range(30):  # each try while it is down answers 502
        if not armed:
            bot.sim.fail_next("sendMessage", "500")
        tries = len(bot.sim.calls("sendMessage"))
        bot.run(sender(bot.app).drain())
        armed = len(bot.sim.calls("sendMessage")) == tries  # not tried: the fault waits
        clock.advance(minutes=1)
    assert len(bot.sim.bot_messages(BOSS)) == cards_before
    with store.session() as session:
        row = session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == "review_request")).one()
    assert row.state == "pending" and row.attempts >= 8
    for _ in range(15):  # Telegram is back (a fault still armed is its last 502)
        clock.advance(minutes=1)
        bot.run(sender(bot.app).drain())
    _the_card_was_sent_once(bot, store, row.id)


def test_a_flood_wait_is_honoured(bot: BotHarness, store: Store, clock: FakeClock,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _submit_holding_the_outbox(bot, monkeypatch)
    bot.sim.fail_next("sendMessage", "429", retry_after=30)
    bot.run(sender(bot.app).drain())
    with store.session() as session:
        row = session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == "review_request")).one()
    assert row.state == "pending"
    assert row.not_before >= clock.now + timedelta(seconds=29)
    clock.advance(seconds=31)
    bot.run(sender(bot.app).drain())
    assert "待审批汇报" in bot.last(BOSS).body


def test_a_failing_handler_apologises_and_tells_the_admin_chat(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot.sim.add_group(-100500, "考核办值班群")
    monkeypatch.setattr(bot.context.settings.telegram, "admin_chat_id", -100500)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(mine, "total_a_week_ago", broken)
    reply = bot.say(ALICE, "/score")[-1].body
    assert "抱歉" in reply and "Traceback" not in reply and "fire" not in reply
    report = bot.sim.bot_messages(-100500)[-1].body
    assert "RuntimeError" in report and "database on fire" in report


def test_score_shows_the_change_since_last_week(
    bot: BotHarness, store: Store, world: World, clock: FakeClock
) -> None:
    with store.transaction() as ctx:
        refresh_all(ctx, world.year)
    clock.advance(days=-8)
    with store.transaction() as ctx:
        record_day(ctx, world.year)  # last week's copy: Alice had 0
    clock.advance(days=8)
    _submit(bot)
    bot.tap(ALICE, "✅ 提交")
    bot.tap(BOSS, "A 优", bot.last(BOSS))
    text = bot.say(ALICE, "/score")[-1].body
    assert "总分：30.00（较上周 +30.00）" in text
    # The parts shown add up to the total shown.
    assert "= 基础得分 30.00 + 创新加分 0.00" in text
