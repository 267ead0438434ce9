"""A unit's group chat: a supervisor links it, it gets the weekly standings, the bot keeps quiet
there otherwise, and removing the bot unlinks it."""

from __future__ import annotations

from sqlmodel import select

from bot.application import sender
from bot.scheduler import tick
from models.standings import refresh_all
from models.store import Store
from models.tables import AuditEntry, Unit
from tests.bot.conftest import ALICE, BOSS, MAYOR
from tests.bot.harness import BotHarness
from tests.conftest import FakeClock, at
from tests.support.world import World

GROUP = -100_500


def _group_of(store: Store, unit_id: int | None) -> int | None:
    with store.session() as session:
        unit = session.get(Unit, unit_id)
        assert unit is not None
        return unit.group_chat_id


def test_a_supervisor_links_the_group_and_it_gets_the_standings(
    bot: BotHarness, store: Store, world: World, clock: FakeClock
) -> None:
    bot.sim.add_group(GROUP, "榆树沟镇干部群")
    replies = bot.say(BOSS, "/bindgroup", chat=GROUP)
    assert [m.body for m in replies] == [
        "已将本群设为「榆树沟镇」的单位群，每周简报时推送单位排名。"]
    assert _group_of(store, world.id.township) == GROUP
    with store.session() as session:
        assert session.exec(select(AuditEntry).where(
            AuditEntry.action == "unit.group_chat")).first() is not None
    with store.transaction() as ctx:
        refresh_all(ctx, world.year)
    at(clock, "2026-06-22 10:00")  # Monday
    tick(bot.store, bot.settings.schedule)
    bot.run(sender(bot.app).drain())
    posted = bot.sim.bot_messages(GROUP)[1:]
    assert any(m.photo for m in posted)  # the chart
    board = next(m.body for m in posted if m.body and "排行榜" in m.body)
    # The township's own leaders and, below them, its office.
    assert board.index("\n榆树沟镇\n") < board.index("\n党政办\n") < board.index("艾丽")
    assert not any("本周考核简报" in (m.body or "") for m in posted)  # no one's private digest


def test_only_a_supervisor_may_link_and_the_group_hears_nothing_private(
    bot: BotHarness, store: Store, world: World
) -> None:
    bot.sim.add_group(GROUP, "闲聊群")
    assert [m.body for m in bot.say(ALICE, "/bindgroup", chat=GROUP)] == [
        "只有单位负责人或管理员可以设置单位群。"]
    assert _group_of(store, world.id.township) is None
    assert [m.body for m in bot.say(ALICE, "/score", chat=GROUP)] == [
        "汇报、审批和查看得分请私聊我；本群只推送单位排名。"]
    assert bot.say(ALICE, "大家好", chat=GROUP) == []  # plain talk is not the bot's business


def test_a_supervisor_of_several_units_chooses_and_only_they_may_tap(
    bot: BotHarness, store: Store, world: World
) -> None:
    from models import org

    with store.transaction() as ctx:
        org.add_supervision(ctx, None, world.mayor, world.bureau)
    bot.sim.add_group(GROUP, "退役军人事务局工作群")
    question = bot.say(MAYOR, "/bindgroup", chat=GROUP)[-1]
    assert question.button_texts() == ["昌吉市", "退役军人事务局"]
    bot.tap(BOSS, "退役军人事务局", question, chat=GROUP)  # someone else's tap changes nothing
    assert _group_of(store, world.id.bureau) is None
    bot.tap(MAYOR, "退役军人事务局", question, chat=GROUP)
    assert _group_of(store, world.id.bureau) == GROUP
    assert "「退役军人事务局」" in (bot.sim.last_bot_message(GROUP).body or "")


def test_removing_the_bot_unlinks_the_group(bot: BotHarness, store: Store, world: World) -> None:
    bot.sim.add_group(GROUP, "榆树沟镇干部群")
    bot.say(BOSS, "/bindgroup", chat=GROUP)
    bot.feed(bot.sim.remove_bot(GROUP, BOSS))
    assert _group_of(store, world.id.township) is None
