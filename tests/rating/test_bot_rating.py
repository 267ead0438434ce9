"""The rating flow in Telegram, as the office and two cadres live it: the preview pool by pool
with the quota, the tie and the 未参评, publication, an objection upheld (and the score corrected
through the admin's difficulty tool), one dismissed, finalisation with each cadre told the final
grade, and the locked period refusing a change.
Through the real Application and the simulator, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlmodel import col, select

from models.standings import check
from models.store import Store
from models.tables import Cadre, Objection, Period, RatingGrade
from tests.bot.harness import BotHarness
from tests.conftest import FakeClock
from tests.rating.support import RatingUnit
from tests.support.world import World

ADMIN, R3, R4 = 3001, 5003, 5004


@pytest.fixture
def bot(store: Store, world: World, rated: RatingUnit) -> Iterator[BotHarness]:
    harness = BotHarness(store)
    harness.join(world.admin, ADMIN)
    harness.join(rated.people["R3"], R3)
    harness.join(rated.people["R4"], R4)
    yield harness
    harness.close()


def _open_rating(bot: BotHarness) -> str:
    bot.say(ADMIN, "/admin")
    return bot.tap(ADMIN, "年度评定")[-1].body


def _object(bot: BotHarness, user: int, reason: str) -> None:
    bot.tap(user, "提出异议")
    assert "请写明异议理由" in bot.last(user).body
    assert "请确认提交异议" in bot.say(user, reason)[-1].body
    assert "异议已提交" in bot.tap(user, "✅ 提交异议")[-1].body


def _objection_id(store: Store, cadre: Cadre) -> int:
    with store.session() as session:
        found = session.exec(select(Objection).where(Objection.cadre_id == cadre.id)).one()
    assert found.id is not None
    return found.id


def test_rating_from_preview_to_locked_period(
    bot: BotHarness, store: Store, world: World, rated: RatingUnit, clock: FakeClock
) -> None:
    # The preview: the unit's difficulty, ratio, slots, and the tie at the second slot.
    preview = _open_rating(bot)
    assert "尚未公示" in preview
    assert ("<b>评定办</b>（评定池，含 评定办）\n"
            "难度 1.20 · 优秀比例 40% · 名额 2 · 参评 5 人 · 优秀 2 人\n"
            "优秀线 92.00 分（名额内最后一位，且须达到 90.00 分）\n"
            "⚠️ 名额边界并列（92.00 分）：乙二（R2） 入选，丙三（R3） 未入选；"
            "按基础履职得分 92.0000 高于 90.0000") in (bot.last(ADMIN).html or "")
    # The admin's pool: the admin has no task, so is listed 未参评 with the reason, not rated.
    assert ("<b>市委考核办</b>（评定池，含 市委考核办）\n"
            "难度 1.00 · 优秀比例 20% · 名额 0 · 参评 0 人 · 优秀 0 人\n"
            "未参评 1 人：考核办管理员（A001，本期没有考核任务）") in (bot.last(ADMIN).html or "")

    # Publication, confirmed first; each cadre gets their provisional grade and the button.
    assert "确认公示" in bot.tap(ADMIN, "📢 公示 5 天")[-1].body
    said = [m.body for m in bot.tap(ADMIN, "确认")]
    assert "已公示，公示期至 2026-06-19（含）。" in said
    # The admin is not rated (no task), so gets no notice: nobody is told 不称职 for nothing.
    assert not any("拟定等次" in text for text in said)
    notice = bot.last(R3)
    assert notice.body.splitlines()[1:3] == [
        "您在评定池「评定办」的拟定等次：称职（总分 92.00，池内第 2 名）",
        "本评定池难度系数 1.20，优秀比例 40%，名额 2 个，参评 5 人。"]
    assert "2026-06-19（含）前" in notice.body and notice.button_texts() == ["提出异议"]

    # Two objections; a second one from the same cadre is refused before any typing.
    _object(bot, R3, "我的任务来源应为市政府工作报告，难度应为1.0")
    assert "每人每个周期限一次" in bot.tap(R3, "提出异议")[-1].body
    _object(bot, R4, "我认为应评为优秀")
    up, down = _objection_id(store, rated.people["R3"]), _objection_id(store, rated.people["R4"])
    card = bot.message_with_button(ADMIN, f"obj:up:{up}")
    assert "丙三（R3）" in card.body and "公示等次：称职，公示总分 92.00" in card.body

    # Upheld, then the score corrected through the admin's usual difficulty tool.
    assert "采纳理由" in bot.tap(ADMIN, f"obj:up:{up}")[-1].body
    assert "已答复异议 #" in bot.say(ADMIN, "经核实，该事项来源为市政府工作报告")[-1].body
    told = bot.last(R3).body
    assert "异议已被采纳" in told and "经核实，该事项来源为市政府工作报告" in told
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "调整难易系数")
    bot.say(ADMIN, "RT-R3")
    assert "已保存" in bot.say(ADMIN, "1.0")[-1].body

    # Dismissed, with the reason the cadre is told.
    bot.tap(ADMIN, f"obj:dis:{down}")
    bot.say(ADMIN, "总分80.00分，未达到优秀分数线90分")
    told = bot.last(R4).body
    assert "异议未被采纳" in told and "未达到优秀分数线90分" in told

    # Not before the publicity ends; then final, and the period is locked.
    preview = _open_rating(bot)
    assert "待答复 0 条 · 成立 1 条 · 驳回 1 条" in preview
    bot.tap(ADMIN, "🔒 定档并锁定周期")
    # The refusal is an alert only the admin sees; nothing is posted, no call turned down
    # (the tap was once answered before finalising, and the refusal posted as a message).
    assert bot.tap(ADMIN, "确认") == [] and not bot.sim.errors()
    assert "公示期至 2026-06-19，结束后才能定档" in bot.alert()
    assert bot.sim.callback_answers()[-1]["show_alert"]
    clock.advance(days=5)
    _open_rating(bot)
    bot.tap(ADMIN, "🔒 定档并锁定周期")
    assert "已定档，2026年度 已锁定" in bot.tap(ADMIN, "确认")[-1].body
    assert "已定档，周期已锁定" in _open_rating(bot)
    # Each rated cadre is told the final grade; R3's moved since the 公示, which it says.
    assert bot.last(R3).body == (
        "🏁 2026年度 年度评定已定档\n"
        "您的最终等次：优秀（总分 102.00，评定池「评定办」第 1 名）。\n"
        "公示时为称职（总分 92.00）；定档以复核后的得分为准。")
    assert bot.last(R4).body == (
        "🏁 2026年度 年度评定已定档\n"
        "您的最终等次：称职（总分 80.00，评定池「评定办」第 4 名）。")

    # A change to the locked period is refused in the bot, and changes nothing.
    bot.say(ADMIN, "/admin")
    bot.tap(ADMIN, "调整难易系数")
    # (said as soon as the task is named: no value is asked for)
    assert "已锁定，不能再修改" in bot.say(ADMIN, "RT-R4")[-1].body
    with store.session() as session:
        period = session.get(Period, world.id.year)
        assert period is not None and period.locked
        finals = {c.code: (g.published_grade, g.final_grade, g.final_total)
                  for g, c in session.exec(select(RatingGrade, Cadre).join(
                      Cadre, col(Cadre.id) == RatingGrade.cadre_id)).all()}
        assert check(session, store.rules, period) == []  # `kaohe check` stays green
    assert finals["R3"] == ("competent", "excellent", Decimal("102.00"))
    assert finals["R2"] == ("excellent", "competent", Decimal("92.00"))
    assert finals["R4"] == ("competent", "competent", Decimal("80.00"))
