"""The standings chart sent with a digest: a horizontal bar per person, best at the top, as PNG,
the reader's own bar marked and the grade lines (优秀 90, 称职 70, 基本称职 60) drawn across.

Chinese labels need a CJK font, and a fresh server has none: the project installs Noto Sans CJK
SC with the `mplfonts` package and loads it here by file, so nothing depends on the fonts of the
machine and matplotlib's global settings stay untouched. Figures are made with the object API
(Figure + Agg canvas), not pyplot, so drawing is safe from the sender's worker thread.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib.resources import files
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, fontManager

FONT_FILE = "fonts/NotoSansCJKsc-Regular.otf"

BAR = "#5b8ff9"
HIGHLIGHT = "#e8684a"
MAX_BARS = 20  # a phone screen shows about this many readable bars
# The grade lines' colours, as the dashboard draws them (webapp/static/app.js).
LINE_COLOURS = {"excellent": "#2e9e4f", "competent": "#e0a800", "basic": "#d9433a"}


@lru_cache(maxsize=1)
def cjk_font() -> FontProperties:
    """Noto Sans CJK SC from the installed mplfonts package, registered once per process."""
    path = str(files("mplfonts") / FONT_FILE)
    fontManager.addfont(path)
    return FontProperties(fname=path)


@dataclass(frozen=True)
class GradeLine:
    """A line across the bars: the least total for a grade (优秀 90, 称职 70, 基本称职 60)."""

    label: str
    value: Decimal
    colour: str


def shown_bars(count: int, own: int | None) -> list[int]:
    """Which of `count` bars (best first) are drawn: the first MAX_BARS, the last of them given
    up for the reader's own bar when it ranks below."""
    shown = list(range(min(count, MAX_BARS)))
    if own is not None and own >= MAX_BARS:
        shown = [*shown[:MAX_BARS - 1], own]
    return shown


def standings_figure(title: str, names: Sequence[str], totals: Sequence[Decimal | float], *,
                     own: int | None = None, lines: Sequence[GradeLine] = (),
                     note: str | None = None, empty_text: str = "—") -> Figure:
    """`names[i]` scored `totals[i]`, in the order given (the board's, best first), each bar
    labelled with its place. `own` is the reader's index: their bar is coloured, and drawn even
    below the first MAX_BARS. `lines` are drawn across; `note` says under the bars what is left
    out (the chart is never a silent top 20)."""
    font = cjk_font()
    picked = shown_bars(len(names), own)
    labels = [f"{i + 1}. {names[i]}" for i in picked]
    values = [float(totals[i]) for i in picked]
    height = 1.8 + 0.36 * max(len(picked), 3)
    figure = Figure(figsize=(7.2, height), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_title(title, fontproperties=font, fontsize=13, loc="left")
    if not picked:
        axes.axis("off")
        axes.text(0.5, 0.5, empty_text, fontproperties=font, fontsize=12,
                  ha="center", va="center", transform=axes.transAxes)
        return figure
    positions = list(range(len(picked)))[::-1]  # first name at the top
    colours = [HIGHLIGHT if i == own else BAR for i in picked]
    bars = axes.barh(positions, values, color=colours, height=0.66)
    axes.set_yticks(positions, labels=labels, fontproperties=font, fontsize=10)
    top = max([*values, *(float(line.value) for line in lines), 0.0])
    axes.set_xlim(0, top * 1.12 if top > 0 else 1)
    axes.bar_label(bars, labels=[f"{v:.2f}" for v in values], padding=3, fontsize=9)
    for line in lines:
        axes.axvline(float(line.value), color=line.colour, linestyle="--", linewidth=1,
                     label=f"{line.label} {float(line.value):g}")
    if lines:
        axes.legend(prop=font, fontsize=8, loc="lower right", frameon=False)
    if note:
        axes.set_xlabel(note, fontproperties=font, fontsize=9)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.tick_params(axis="x", labelsize=9)
    figure.tight_layout()
    return figure


def png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def standings_chart(title: str, names: Sequence[str], totals: Sequence[Decimal | float],
                    **options: Any) -> bytes:
    """PNG bytes of `standings_figure` (the same arguments)."""
    return png(standings_figure(title, names, totals, **options))


OWN = "#e8684a"
AVERAGE = "#5b8ff9"
LINE = "#5ad8a6"


def trend_chart(title: str, weeks: Sequence[str], own: Sequence[Decimal | None],
                average: Sequence[Decimal | None], line: Decimal | None, *,
                labels: tuple[str, str, str]) -> bytes:
    """PNG bytes: the reader's weekly total beside their unit's average, and the 优秀 line.

    `weeks` label the points (oldest first); a None is a week with no record (not drawn).
    `labels` name the three series in the legend: own, average, the line. Small on purpose: it
    is drawn for every cadre's weekly digest.
    """
    font = cjk_font()
    figure = Figure(figsize=(6.0, 3.2), dpi=90)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_title(title, fontproperties=font, fontsize=12, loc="left")
    positions = list(range(len(weeks)))
    for values, colour, label, style in ((own, OWN, labels[0], "-o"),
                                         (average, AVERAGE, labels[1], "--s")):
        points = [(x, float(v)) for x, v in zip(positions, values, strict=True) if v is not None]
        if points:
            axes.plot([x for x, _ in points], [y for _, y in points], style, color=colour,
                      label=label, linewidth=2, markersize=4)
    if line is not None:
        axes.axhline(float(line), color=LINE, linestyle=":", linewidth=2, label=labels[2])
    axes.set_xticks(positions, labels=list(weeks), fontsize=8)
    axes.tick_params(axis="y", labelsize=8)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.legend(prop=font, fontsize=8, loc="best", frameon=False)
    # Fixed margins, not tight_layout: the labels are of one size whatever the cadre, and
    # working them out costs a second drawing, a quarter of the chart's time (20,000 a week).
    figure.subplots_adjust(**TREND_MARGINS)
    return png(figure)


TREND_MARGINS = {"left": 0.09, "right": 0.98, "top": 0.89, "bottom": 0.09}
