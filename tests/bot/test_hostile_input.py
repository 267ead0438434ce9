"""Hostile typed input: numbers past the database's range, overlong texts, NUL bytes and other
control characters. Each is refused (or cleaned) with a clear message and changes nothing, on
SQLite and PostgreSQL, through the real Application."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import select

from models.store import Store
from models.tables import InnovationClaim, Report, Task
from tests.bot.conftest import ADMIN, ALICE, BOB, BOSS
from tests.bot.harness import BotHarness
from tests.support.world import World

APOLOGY = "出错了"  # the error handler's apology: must never be what a user sees here


def _reports(store: Store) -> list[Report]:
    with store.session() as session:
        return list(session.exec(select(Report)).all())


def _start_report(bot: BotHarness, title: str) -> None:
    bot.press(ALICE, "汇报进度")
    bot.tap(ALICE, next(label for label in bot.last(ALICE).button_texts() if title in label))


def _no_apology(bot: BotHarness, *users: int) -> None:
    for user in users:
        assert not any(APOLOGY in text for text in bot.texts(user))


def test_a_count_beyond_the_databases_range_is_refused_not_crashed(
    bot: BotHarness, store: Store
) -> None:
    _start_report(bot, "举办招聘会")
    for huge in ("99999999999999999999999", "１２３４５６７８９０１２３４５６", "1e30"):
        reply = bot.say(ALICE, huge)[-1].body
        assert "例如 8" in reply, reply
    assert "过大" in bot.say(ALICE, "99999999999999999999999")[-1].body
    assert [(r.state, r.actual) for r in _reports(store)] == [("draft", None)]
    bot.say(ALICE, "８")  # full-width digits still work
    bot.tap(ALICE, "跳过")
    bot.tap(ALICE, "跳过")
    assert "完成数量：8/12 场" in bot.last(ALICE).body
    _no_apology(bot, ALICE)


def test_a_percent_out_of_range_or_in_letters_is_explained(bot: BotHarness, store: Store) -> None:
    _start_report(bot, "压缩业务办理时限")
    assert "0 到 100" in bot.say(ALICE, "150 %")[-1].body
    assert "0 到 100" in bot.say(ALICE, "99999999999999999999999")[-1].body
    assert "例如 60" in bot.say(ALICE, "sixty")[-1].body
    assert [(r.state, r.progress) for r in _reports(store)] == [("draft", None)]
    _no_apology(bot, ALICE)


def test_admin_numbers_nan_infinity_huge_and_too_precise_are_refused(
    bot: BotHarness, store: Store, world: World
) -> None:
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "调整难易系数")
    bot.say(ADMIN, "T1")
    for bad in ("NaN", "sNaN", "Infinity", "1e999999", "99999999999999999999999", "1.0001"):
        reply = bot.say(ADMIN, bad)[-1].body
        assert "不是数字" in reply or "0.8" in reply or "小数位过多" in reply, (bad, reply)
    bot.say(ADMIN, "/cancel")
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "重点任务动态上调")
    bot.say(ADMIN, "T2")
    for bad in ("NaN", "-Infinity", "15.55"):
        reply = bot.say(ADMIN, bad)[-1].body
        assert "不是数字" in reply or "10% 到 20%" in reply or "小数位过多" in reply, (bad, reply)
    with store.session() as session:
        plain = session.get(Task, world.id.alice_plain)
        key = session.get(Task, world.id.alice_key)
    assert plain is not None and plain.difficulty == Decimal("1.000")
    assert key is not None and key.boost is None
    _no_apology(bot, ADMIN)


def test_a_note_with_nul_bytes_is_stored_clean(bot: BotHarness, store: Store) -> None:
    _start_report(bot, "压缩业务办理时限")
    bot.say(ALICE, "60")
    bot.tap(ALICE, "跳过")
    bot.say(ALICE, "已完成\x00第一阶段\x07\n附表见后")
    assert "已完成第一阶段" in bot.last(ALICE).body
    bot.tap(ALICE, "✅ 提交")
    assert [(r.state, r.note) for r in _reports(store)] == [
        ("submitted", "已完成第一阶段\n附表见后")]
    _no_apology(bot, ALICE, BOSS)


def _boss_returning_alices_report(bot: BotHarness) -> None:
    """Alice submits 60 %; her supervisor taps ↩️ 退回修改 and is asked for the reason."""
    _start_report(bot, "压缩业务办理时限")
    bot.say(ALICE, "60")
    bot.tap(ALICE, "跳过")
    bot.tap(ALICE, "跳过")
    bot.tap(ALICE, "✅ 提交")
    bot.tap(BOSS, "↩️ 退回修改", bot.last(BOSS))


def test_review_reason_with_nul_is_cleaned_and_an_empty_one_asked_again(
    bot: BotHarness, store: Store
) -> None:
    _boss_returning_alices_report(bot)
    assert "请填写理由" in bot.say(BOSS, "\x00\x00")[-1].body  # nothing left once cleaned
    bot.say(BOSS, "请补充\x00照片")
    assert "请补充照片" in bot.last(ALICE).body
    assert [(r.state, r.reason) for r in _reports(store)] == [("returned", "请补充照片")]
    _no_apology(bot, ALICE, BOSS)


def _claim(bot: BotHarness, description: str) -> str:
    bot.say(BOB, "/claim")
    bot.tap(BOB, "经验推广")
    bot.tap(BOB, "市级（1 分）")
    return bot.say(BOB, description)[-1].body


def test_a_claim_reject_reason_of_ten_thousand_characters_is_refused_at_input(
    bot: BotHarness, store: Store
) -> None:
    assert "照片或文件" in _claim(bot, "经验\x00推广")
    bot.tap(BOB, "跳过")
    bot.tap(BOB, "✅ 提交申报")
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "审核创新加分")
    bot.tap(ADMIN, "❌ 驳回")
    reply = bot.say(ADMIN, "长" * 10_000)[-1].body
    assert "500" in reply and "10000" in reply
    with store.session() as session:
        claim = session.exec(select(InnovationClaim)).one()
    assert (claim.state, claim.description) == ("submitted", "经验推广")
    bot.say(ADMIN, "缺少推广文件")  # still asked: the conversation waits for a shorter reason
    with store.session() as session:
        claim = session.exec(select(InnovationClaim)).one()
    assert (claim.state, claim.reason) == ("rejected", "缺少推广文件")
    assert "缺少推广文件" in bot.last(BOB).body
    _no_apology(bot, ADMIN, BOB)


def test_codes_with_nul_bytes_are_looked_up_without_them(bot: BotHarness) -> None:
    bot.say(BOSS, "/delegate")
    assert "副镇长 的起止日期" in bot.say(BOSS, "D0\x0001")[-1].body
    bot.say(BOSS, "/cancel")
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "调整难易系数")
    assert "压缩业务办理时限" in bot.say(ADMIN, "T\x001")[-1].body
    bot.say(ADMIN, "/cancel")
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "生成邀请码")
    assert "卡萝 的邀请码" in bot.say(ADMIN, "P\x00003")[-1].body
    _no_apology(bot, ADMIN, BOSS)


def test_delegate_dates_in_full_width_and_huge_are_answered(bot: BotHarness) -> None:
    bot.say(BOSS, "/delegate")
    bot.say(BOSS, "D001")
    assert "格式不对" in bot.say(BOSS, "9" * 5000)[-1].body
    # From today (2026-06-15) at the earliest: a delegation is never backdated.
    assert "代为审批" in bot.say(BOSS, "２０２６-０６-１５～２０２６-０６-３０")[-1].body
    _no_apology(bot, BOSS)


def test_an_edited_old_message_is_not_taken_for_the_step_at_hand(
    bot: BotHarness, store: Store
) -> None:
    """Telegram sends an edit of an old message as an update: it once went into whatever step
    the person was at, so a supervisor's edited chat line returned a report with it as reason."""
    _start_report(bot, "压缩业务办理时限")
    bot.say(ALICE, "60")
    bot.tap(ALICE, "跳过")
    bot.tap(ALICE, "跳过")
    bot.tap(ALICE, "✅ 提交")
    bot.say(BOSS, "收到")
    old = [m for m in bot.sim.messages(BOSS) if not m.from_bot][-1]
    bot.tap(BOSS, "↩️ 退回修改", bot.message_with_button(BOSS, "↩️ 退回修改"))
    before = len(bot.sim.messages(BOSS))
    bot.feed(bot.sim.edit_text(BOSS, old.message_id, "同意"))
    told = [m.body for m in bot.sim.messages(BOSS)[before:] if m.from_bot]
    assert len(told) == 1 and "修改" in told[0] and "重新发送" in told[0], told
    assert [(r.state, r.reason) for r in _reports(store)] == [("submitted", None)]
    bot.say(BOSS, "请补充照片")  # the step still waits for its reason
    assert [(r.state, r.reason) for r in _reports(store)] == [("returned", "请补充照片")]
    _no_apology(bot, ALICE, BOSS)


def test_a_reason_or_description_that_shows_nothing_is_asked_again(
    bot: BotHarness, store: Store
) -> None:
    """A zero-width space or the Hangul filler (how some clients send a "blank" message) is as
    empty as no text: a report was returned, and a claim filed, with nothing to read."""
    _boss_returning_alices_report(bot)
    for blank in ("\u200b", "\u3164", "\u2060\ufeff", "\u200b \u200b"):
        assert "请填写理由" in bot.say(BOSS, blank)[-1].body, repr(blank)
    assert [(r.state, r.reason) for r in _reports(store)] == [("submitted", None)]
    assert "请填写事项说明" in _claim(bot, "\u3164")
    bot.say(BOB, "经验推广")
    bot.tap(BOB, "跳过")
    assert "经验推广" in bot.last(BOB).body
    _no_apology(bot, ALICE, BOSS, BOB)


RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: what follows it is shown backwards


def _quoted_once(bot: BotHarness, user: int, typed: str, says: str) -> str:
    """The reply to `typed`: one message saying `says`, quoting at most 30 characters of it
    without the RTL override (the raw text turned the sentence around, and a 4,096-character
    paste came back whole, over two messages)."""
    replies = bot.say(user, typed)
    assert len(replies) == 1, [m.body[:40] for m in replies]
    body = replies[0].body
    assert says in body and RLO not in body and "…" in body, body
    assert len(body) < 200, body
    return body


def test_what_is_typed_is_quoted_back_short_and_without_direction_overrides(
    bot: BotHarness, store: Store
) -> None:
    pasted = RLO + "sixty" + "x" * 4090  # 4,096 characters
    assert len(pasted) == 4096
    _start_report(bot, "压缩业务办理时限")
    body = _quoted_once(bot, ALICE, pasted, "不是有效的进度")
    assert "“sixtyxxxxxxxxxxxxxxxxxxxxxxxxx…”" in body

    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "调整难易系数")
    bot.say(ADMIN, "T1")
    _quoted_once(bot, ADMIN, pasted, "不是数字")
    _quoted_once(bot, ADMIN, "9" * 4096, "不在 0.8–1.2 之间")  # quoted by the refusal
    bot.say(ADMIN, "/cancel")

    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "人员权限（分管、委托、停用）")
    body = _quoted_once(bot, ADMIN, pasted, "没有找到")
    assert "“sixtyxxxxxxxxxxxxxxxxxxxxxxxxx…”" in body
    assert "没有找到姓名或工号为“a&lt;b”的干部" in (bot.say(ADMIN, "a<b")[-1].html or "")  # once
    assert [(r.state, r.progress) for r in _reports(store)] == [("draft", None)]
    _no_apology(bot, ALICE, ADMIN)
