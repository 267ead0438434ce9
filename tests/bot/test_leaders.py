"""Leaders see units, not only people (issue 13 §6): the weekly chart marks the reader's own bar
and draws the 90/70/60 lines, through the real bot on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from matplotlib.figure import Figure

from models.history import record_day
from models.standings import refresh_all
from models.store import Store
from tests.bot.conftest import BOSS
from tests.bot.harness import BotHarness
from tests.bot.test_schedule import at, run_schedule
from tests.conftest import FakeClock
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
