"""Leaders see units, not only people (issue 13 §6): 排行榜 ranks the units they oversee by the
units' own scores, and the weekly chart marks the reader's own bar and draws the 90/70/60 lines,
through the real bot on both databases."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from matplotlib.figure import Figure

from models.history import record_day
from models.reports import approve_report, submit_report
from models.standings import refresh_all
from models.store import Store
from tests.bot.conftest import ADMIN, ALICE, BOSS, MAYOR
from tests.bot.harness import BotHarness
from tests.bot.test_schedule import run_schedule
from tests.conftest import FakeClock, at
from tests.support.charts import bars, lines
from tests.support.world import World
from ui import charts, digests


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[Figure]:
    """Every standings chart the bot draws, as the figure it sent as a PNG."""
    figures: list[Figure] = []

    def chart(*args: Any, **kwargs: Any) -> bytes:
        figure = charts.standings_figure(*args, **kwargs)
        figures.append(figure)
        return charts.png(figure)

    monkeypatch.setattr(digests, "chart", chart)
    return figures


def test_the_weekly_chart_marks_the_readers_bar_and_draws_the_grade_lines(
        bot: BotHarness, store: Store, world: World, clock: FakeClock,
        drawn: list[Figure]) -> None:
    with store.transaction() as ctx:
        refresh_all(ctx, world.year)
        record_day(ctx, world.year)
    at(clock, "2026-06-22 10:00")  # Monday: the digests go out
    run_schedule(bot)
    sent = [m for m in bot.sim.bot_messages(BOSS) if m.photo]
    assert sent, "the boss's digest came with its chart"
    figure = next(f for f in drawn if f.axes[0].get_title(loc="left").startswith("榆树沟镇"))
    marked = [label for label, _, colour in bars(figure) if colour == charts.HIGHLIGHT]
    assert len(marked) == 1 and marked[0].endswith(". 镇领导")  # the reader's own bar
    assert sorted(lines(figure)) == ["优秀 90", "基本称职 60", "称职 70"]


def test_a_city_leader_sees_the_units_ranked_by_their_own_scores(
        bot: BotHarness, store: Store, world: World) -> None:
    with store.transaction() as ctx:
        report = submit_report(ctx, world.id.chief, world.id.unit_task, progress=Decimal(100))
        approve_report(ctx, world.id.mayor, report.id or 0, "A")
        refresh_all(ctx, world.year)
    ranking = bot.say(MAYOR, "/rank")[-1]
    assert ranking.body == (
        "单位排名 · 2026年度\n\n"
        "昌吉市下属单位（按单位自身得分）\n"
        "1. 退役军人事务局 — 120.00 · 共 2 人\n"
        "2. 榆树沟镇 — 0.00 · 共 4 人\n"
        "— 市委考核办 — 暂无单位得分 · 共 1 人\n\n"
        "单位得分来自单位承担的任务、分解任务和协同任务。点按单位查看其人员排名。")
    assert ranking.button_texts() == ["退役军人事务局", "榆树沟镇", "市委考核办", "本单位人员排名",
                                      "查看其他单位"]
    bot.tap(MAYOR, "退役军人事务局", ranking)  # a unit's people, from its button
    people = bot.last(MAYOR).body
    assert people.startswith("退役军人事务局 · 2026年度 排行榜") and "卡萝" in people
    # The office sees the same from the top; a cadre who leads nothing sees their unit's people.
    assert "1. 退役军人事务局 — 120.00 · 共 2 人" in bot.say(ADMIN, "/rank")[-1].body
    assert bot.say(ALICE, "/rank")[-1].body.startswith("党政办 · 2026年度 排行榜")
    bot.say(MAYOR, "/lang")
    bot.tap(MAYOR, "English")
    english = bot.say(MAYOR, "/rank")[-1]
    assert "Units below 昌吉市 (by each unit's own score)\n1. 退役军人事务局 — 120.00 · 2 people" \
        in english.body
    assert english.button_texts()[-2:] == ["My unit's people", "Other units"]
