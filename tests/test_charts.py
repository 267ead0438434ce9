"""The digest charts: valid PNGs whose Chinese labels come from the installed CJK font."""

import os
import signal
import warnings
from decimal import Decimal
from typing import Any

from matplotlib import font_manager

from tests.support.charts import bars, lines
from ui.charts import (
    BAR,
    HIGHLIGHT,
    LINE_COLOURS,
    MAX_BARS,
    GradeLine,
    cjk_font,
    standings_chart,
    standings_figure,
    trend_chart,
)
from ui.charts_pool import ChartPool

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_SIGNATURE)
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_chinese_labels_render_without_missing_glyphs() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font(s)"
        png = standings_chart("昌吉市退役军人事务局 · 2026年度", ["苏晓宇", "邓国华", "李梅"],
                              [Decimal("87.40"), Decimal("91.25"), Decimal("60")],
                              own=0)
    width, height = _png_size(png)
    assert width > 600 and height > 200


def test_the_font_is_the_projects_own_and_covers_chinese() -> None:
    font = cjk_font()
    path = font.get_file()
    assert path is not None and str(path).endswith("NotoSansCJKsc-Regular.otf")
    assert "mplfonts" in str(path)  # from the installed package, not the machine
    assert font_manager.get_font(path).get_char_index(ord("考")) != 0


def test_an_empty_board_draws_its_message_and_long_boards_are_cut() -> None:
    empty = standings_chart("空", [], [], empty_text="暂无排名")
    assert _png_size(empty)[0] > 0
    many = standings_chart("大", [f"干部{i}" for i in range(60)], list(range(60)))
    few = standings_chart("大", [f"干部{i}" for i in range(MAX_BARS)], list(range(MAX_BARS)))
    assert _png_size(many) == _png_size(few)


def test_the_trend_chart_renders_chinese_without_missing_glyphs() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font(s)"
        png = trend_chart("艾丽 · 每周总分", ["06-01", "06-08", "06-15", "06-22"],
                          [Decimal("5"), None, Decimal("8.5"), Decimal("9")],
                          [Decimal("6"), Decimal("7"), Decimal("7.25"), Decimal("8")],
                          Decimal("88.5"), labels=("我的总分", "单位平均", "优秀线（今日）"))
    width, height = _png_size(png)
    assert width > 400 and height > 200


LINES = [GradeLine("优秀", Decimal(90), LINE_COLOURS["excellent"]),
         GradeLine("称职", Decimal(70), LINE_COLOURS["competent"]),
         GradeLine("基本称职", Decimal(60), LINE_COLOURS["basic"])]


def test_the_readers_bar_is_marked_and_the_grade_lines_drawn() -> None:
    figure = standings_figure("党政办 · 2026年度 得分", ["苏晓宇", "邓国华", "李梅"],
                              [Decimal("91.25"), Decimal("87.40"), Decimal("60")], own=1,
                              lines=LINES)
    assert bars(figure) == [("1. 苏晓宇", 91.25, BAR), ("2. 邓国华", 87.4, HIGHLIGHT),
                             ("3. 李梅", 60.0, BAR)]
    axes = figure.axes[0]
    assert lines(figure) == {"优秀 90": (90.0, "#2e9e4f"), "称职 70": (70.0, "#e0a800"),
                     "基本称职 60": (60.0, "#d9433a")}
    assert axes.get_xlim()[1] > 91.25  # every bar and line inside the axes
    assert axes.get_xlabel() == ""  # nothing left out, nothing to say


def test_a_reader_below_the_first_twenty_is_drawn_and_the_cut_is_said() -> None:
    names = [f"干部{i}" for i in range(60)]
    totals = [Decimal(100 - i) for i in range(60)]
    note = "共 60 人，图中为前 19 名和您（第 35 名）"
    figure = standings_figure("大", names, totals, own=34, note=note)
    drawn = bars(figure)
    assert len(drawn) == MAX_BARS and drawn[-1] == ("35. 干部34", 66.0, HIGHLIGHT)
    assert [label for label, _, _ in drawn[:3]] == ["1. 干部0", "2. 干部1", "3. 干部2"]
    assert figure.axes[0].get_xlabel() == note


def test_a_workers_pool_draws_the_standings_chart_it_would_draw_itself() -> None:
    """A `kaohe worker` draws the supervisors' and groups' charts in a process of its own
    (ui/charts_pool.py): the same picture, byte for byte, as drawn here."""
    args = ("昌吉市退役军人事务局 · 2026年度", ["苏晓宇", "邓国华", "李梅"],
            [Decimal("87.40"), Decimal("91.25"), Decimal("60")])
    options: dict[str, Any] = {"own": 1, "note": "共 3 人", "empty_text": "暂无排名"}
    pool = ChartPool(1)
    try:
        drawn_there = pool.standings(*args, **options)
    finally:
        pool.close()
    assert drawn_there == standings_chart(*args, **options)
    assert _png_size(drawn_there)[0] > 600


def test_a_standings_chart_is_still_drawn_when_the_pools_process_was_killed() -> None:
    args = ("榆树沟镇 · 2026年度", ["苏晓宇", "李梅"], [Decimal("87.40"), Decimal("60")])
    pool = ChartPool(1)
    try:
        pool.standings(*args)  # the process is spawned
        for process in list(pool._pool._processes.values()):
            assert process.pid is not None
            os.kill(process.pid, signal.SIGKILL)
            process.join()
        assert pool.standings(*args) == standings_chart(*args)
    finally:
        pool.close()
