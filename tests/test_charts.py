"""The digest charts: valid PNGs whose Chinese labels come from the installed CJK font."""

import warnings
from decimal import Decimal

from matplotlib import font_manager

from ui.charts import MAX_BARS, cjk_font, standings_chart, trend_chart

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_SIGNATURE)
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_chinese_labels_render_without_missing_glyphs() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font(s)"
        png = standings_chart("昌吉市退役军人事务局 · 2026年度", ["苏晓宇", "邓国华", "李梅"],
                              [Decimal("87.40"), Decimal("91.25"), Decimal("60")],
                              highlight="苏晓宇")
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
