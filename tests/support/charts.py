"""Reading a drawn standings chart (ui/charts.standings_figure) back: its bars and its lines, as
the reader would, without comparing pixels."""

from __future__ import annotations

import numpy
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle


def bars(figure: Figure) -> list[tuple[str, float, str]]:
    """(label, value, colour) of each bar, top to bottom."""
    axes = figure.axes[0]
    labels = {round(float(tick)): label.get_text()
              for tick, label in zip(axes.get_yticks(), axes.get_yticklabels(), strict=True)}
    drawn = sorted((p for p in axes.patches if isinstance(p, Rectangle)),
                   key=lambda bar: -bar.get_y())
    return [(labels[round(bar.get_y() + bar.get_height() / 2)], float(bar.get_width()),
             to_hex(bar.get_facecolor())) for bar in drawn]


def lines(figure: Figure) -> dict[str, tuple[float, str]]:
    """label -> (value, colour) of each line drawn across the bars."""
    found = {}
    for line in figure.axes[0].get_lines():
        x = numpy.asarray(line.get_xdata(), dtype=float)[0]  # a vertical line: one x
        found[str(line.get_label())] = (float(x), to_hex(line.get_color()))
    return found
