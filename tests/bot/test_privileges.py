"""Taking rights back through the real bot: a supervisor lists and revokes a delegation; an
admin revokes a supervision and deactivates a cadre; invite guessing is limited; an error is
logged without anyone's personal data."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from models.admin import delegate_review
from models.reports import submit_report
from models.store import Store
from tests.bot.conftest import ADMIN, ALICE, BOSS, DEPUTY
from tests.bot.harness import BotHarness
from tests.support.world import World

STRANGER = 9009


def _delegate_and_submit(bot: BotHarness, store: Store, world: World) -> None:
    bot.join(world.deputy, DEPUTY)
    today = store.today()
    with store.transaction() as ctx:
        delegate_review(ctx, world.id.boss, world.id.deputy, today,
                        today + timedelta(days=6))
        submit_report(ctx, world.id.alice, world.id.alice_plain, progress=Decimal(70))
    assert "艾丽" in bot.say(DEPUTY, "/pending")[-1].body


def test_a_supervisor_lists_and_revokes_their_delegation(bot: BotHarness, store: Store,
                                                         world: World) -> None:
    _delegate_and_submit(bot, store, world)
    listed = bot.say(BOSS, "/delegations")[-1]
    assert "镇领导 → 副镇长" in listed.body and "生效中" in listed.body
    bot.tap(BOSS, "撤销 #1（副镇长）")
    assert "已撤销委托 #1：副镇长 不再代为审核" in bot.last(BOSS).body
    assert "您没有权限" in bot.say(DEPUTY, "/pending")[-1].body  # reviews for nobody now
    assert "目前没有生效或待生效的委托" in bot.say(BOSS, "/delegations")[-1].body


def test_a_cadre_who_supervises_nothing_may_not_list_delegations(bot: BotHarness) -> None:
    assert "您没有权限" in bot.say(ALICE, "/delegations")[-1].body


def test_an_admin_revokes_a_supervision_and_deactivates_a_cadre(
    bot: BotHarness, store: Store, world: World,
) -> None:
    _delegate_and_submit(bot, store, world)
    bot.say(ADMIN, "/admin")
    assert "姓名或工号" in bot.tap(ADMIN, "人员权限（分管、委托、停用）")[-1].body
    assert "没有找到姓名或工号为“X999”的干部" in bot.say(ADMIN, "X999")[-1].body
    card = bot.say(ADMIN, "B001")[-1]
    assert "镇领导" in card.body and "榆树沟镇" in card.body
    revoked = bot.tap(ADMIN, "撤销分管：榆树沟镇")
    assert "已撤销 镇领导 对 榆树沟镇 的分管" in revoked[-1].body
    assert "您没有权限" in bot.say(BOSS, "/pending")[-1].body
    assert "您没有权限" in bot.say(DEPUTY, "/pending")[-1].body  # the delegate with him

    bot.tap(ADMIN, "人员权限（分管、委托、停用）")
    bot.say(ADMIN, "P001")
    assert "确定停用 艾丽" in bot.tap(ADMIN, "停用该干部")[-1].body
    bot.tap(ADMIN, "确定停用")
    assert "已停用 艾丽" in bot.last(ADMIN).body
    assert "还没有绑定" in bot.say(ALICE, "/score")[-1].body


def test_invite_guessing_is_limited_per_account(bot: BotHarness) -> None:
    bot.sim.add_user(STRANGER, "路人")
    for attempt in range(5):
        assert "邀请码无效" in bot.say(STRANGER, f"/start WRONG{attempt}")[-1].body
    assert "输错次数过多，请 60 分钟后再试" in bot.say(STRANGER, "/start WRONG9")[-1].body


def test_an_error_is_logged_without_personal_data(
    bot: BotHarness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import handlers.privileges

    def broken(*_args: object, **_kw: object) -> object:
        raise RuntimeError("镇领导 wrote something private")

    monkeypatch.setattr(handlers.privileges, "delegations", broken)
    with caplog.at_level(logging.INFO):
        bot.say(BOSS, "/delegations")
    logged = "\n".join(record.getMessage() for record in caplog.records
                       if record.name == "bot.application")
    assert "RuntimeError" in logged and "(private, /delegations)" in logged
    for personal in ("镇领导", "something private", str(BOSS)):
        assert personal not in logged
    assert "出错" in bot.last(BOSS).body  # the user got an apology


def _refused_by_alert(bot: BotHarness, user: int, press: Callable[[], object]) -> str:
    """`press` is refused after the door (by the operation): the refusal is an alert only the
    presser sees, nothing is posted, and no call of the bot's is turned down by Telegram (a
    tap answered before the operation ran was answered twice, the refusal posted instead)."""
    shown, errors = len(bot.sim.messages(user)), len(bot.sim.errors())
    press()
    assert bot.sim.callback_answers()[-1]["show_alert"]
    assert len(bot.sim.messages(user)) == shown, "the refusal was posted"
    assert bot.sim.errors()[errors:] == []
    return bot.alert()


def test_a_refusal_after_the_door_is_an_alert_nothing_posted(
    bot: BotHarness, store: Store, world: World,
) -> None:
    from models.privileges import deactivate_cadre
    from ui.callbacks import AdminPeriodConfirm

    _delegate_and_submit(bot, store, world)
    listed = [bot.say(BOSS, "/delegations")[-1] for _ in range(2)]
    bot.tap(BOSS, "撤销 #1（副镇长）", listed[1])
    assert "已撤销" in _refused_by_alert(
        bot, BOSS, lambda: bot.tap(BOSS, "撤销 #1（副镇长）", listed[0]))

    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "人员权限（分管、委托、停用）")
    card = bot.say(ADMIN, "B001")[-1]
    bot.tap(ADMIN, "撤销分管：榆树沟镇", card)
    assert "镇领导 并未分管 榆树沟镇" in _refused_by_alert(
        bot, ADMIN, lambda: bot.tap(ADMIN, "撤销分管：榆树沟镇", card))

    bot.tap(ADMIN, "人员权限（分管、委托、停用）")
    bot.say(ADMIN, "P001")
    bot.tap(ADMIN, "停用该干部")
    with store.transaction() as ctx:  # another admin (or the command line) was first
        deactivate_cadre(ctx, world.id.admin, world.id.alice)
    assert "艾丽 已停用" in _refused_by_alert(bot, ADMIN, lambda: bot.tap(ADMIN, "确定停用"))

    gone = AdminPeriodConfirm("ok", world.id.year + 999).data  # a period removed meanwhile
    message_id = bot.last(ADMIN).message_id
    assert "找不到" in _refused_by_alert(
        bot, ADMIN, lambda: bot.feed(bot.sim.forge_callback(ADMIN, message_id, gone)))
