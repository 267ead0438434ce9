"""What issue 15 adds to the weekly digests: the cadre's trend chart and 优秀 line, the
supervisor's 预警 section, and the office's city-wide counts per unit.

Everything is read in a few queries per batch (models/insight.py, models/warnings.py); the
charts are drawn by ui/charts.py, loaded only when one is drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from models.insight import TrendSeries, trend_series
from models.light_counts import unit_lights
from models.rules import Rules, WarningMargins
from models.tables import Cadre, Period, Unit
from models.views import units_below
from models.warnings import GREEN, RED, YELLOW, LightSummary, lights_under
from ui.cards import Card
from ui.render import Renderer

RED_ITEMS_SHOWN = 5
UNITS_SHOWN = 30


def trend_chart(*args: Any, **kwargs: Any) -> bytes:
    from ui.charts import trend_chart as draw

    png: bytes = draw(*args, **kwargs)
    return png


@dataclass
class CadreExtra:
    text: str
    photo: bytes | None


# A batch's trend charts, each the arguments of `trend_chart`, drawn in order: one after
# the other here by default; a worker draws them in processes of their own (ui/charts_pool.py)
# so that the charts of a digest run keep ahead of Telegram's pace and leave the sending loop
# its interpreter.
ChartArgs = tuple[tuple[Any, ...], dict[str, Any]]
ChartDrawer = Callable[[list[ChartArgs]], list[bytes]]


def draw_here(charts: list[ChartArgs]) -> list[bytes]:
    return [trend_chart(*args, **options) for args, options in charts]


def cadre_extras(session: Session, rules: Rules, period: Period, cadres: Sequence[Cadre],
                 end: date, renderer: Callable[[Cadre], Renderer],
                 draw: ChartDrawer | None = draw_here) -> dict[int, CadreExtra]:
    """Per cadre: the 优秀 line in words, and the chart of the weeks (when there are two)."""
    series = trend_series(session, rules, period, cadres, end)
    found = {}
    charts: dict[int, ChartArgs] = {}
    for cadre in cadres:
        one = series[cadre.id or 0]
        r = renderer(cadre)
        found[cadre.id or 0] = CadreExtra(r.render("digest_insight", line=one.excellence), None)
        if draw is not None and one.drawable:
            charts[cadre.id or 0] = _chart_args(r, cadre, one)
    for key, photo in zip(charts, draw(list(charts.values())) if draw else [], strict=True):
        found[key].photo = photo
    return found


def _chart_args(r: Renderer, cadre: Cadre, series: TrendSeries) -> ChartArgs:
    return ((r.t("insight.chart_title", name=cadre.name),
             [day.strftime("%m-%d") for day in series.days], series.own, series.average,
             series.line),
            {"labels": (r.t("insight.chart_own"), r.t("insight.chart_average"),
                        r.t("insight.chart_line"))})


def warning_section(session: Session, period: Period, unit: Unit, end: date,
                    margins: WarningMargins, r: Renderer) -> str:
    """The supervisor digest's 预警: counts per colour under the unit and the top red items."""
    lights = lights_under(session, period, units_below(session, unit), end, margins)
    counts = {colour: sum(1 for light in lights if light.colour == colour)
              for colour in (RED, YELLOW, GREEN)}
    reds = [light for light in lights if light.colour == RED]
    return r.render("digest_warnings", counts=counts, reds=reds[:RED_ITEMS_SHOWN],
                    more=max(0, len(reds) - RED_ITEMS_SHOWN))


def office_digest(session: Session, payload: dict[str, Any], r: Renderer,
                  margins: WarningMargins) -> Card | None:
    """The assessment office's weekly view: city-wide counts per unit, the reddest first."""
    period = session.get(Period, payload.get("period_id"))
    if period is None:
        return None
    end = date.fromisoformat(payload["week"])
    per_unit = unit_lights(session, period, None, end, margins)  # counted by the database
    units = {u.id: u for u in session.exec(select(Unit).order_by(col(Unit.path))).all()}
    rows: list[tuple[Unit, LightSummary]] = sorted(
        ((units[unit_id], summary) for unit_id, summary in per_unit.items() if unit_id in units),
        key=lambda row: (-row[1].counts[RED], -row[1].counts[YELLOW], row[0].path))
    totals = {colour: sum(s.counts[colour] for _, s in rows) for colour in (RED, YELLOW, GREEN)}
    return Card(r.render("digest_office", period=period, week=end, rows=rows[:UNITS_SHOWN],
                         more=max(0, len(rows) - UNITS_SHOWN), totals=totals))


def makers(rules: Rules, chart: Callable[..., bytes] | None = None
           ) -> dict[str, Callable[[Session, dict[str, Any], Renderer, Cadre | None],
                                   Card | None]]:
    """The outbox card makers that need the configured rules (the sender adds them); `chart`
    draws the supervisors' and groups' standings charts (by default here: ui/digests.py)."""
    from ui import digests

    margins = rules.warnings

    def drawer() -> Callable[..., bytes]:  # looked up when drawing, as the module has it then
        return chart or digests.chart

    return {
        "digest_cadre": lambda s, p, r, c: digests.cadre_digest(s, p, r, c, rules=rules)
        if c else None,
        "digest_supervisor": lambda s, p, r, c: digests.supervisor_digest(
            s, p, r, drawer(), margins=margins, reader=c, rules=rules),
        "digest_group": lambda s, p, r, _: digests.group_digest(s, p, r, drawer(),
                                                                rules=rules),
        "digest_office": lambda s, p, r, _: office_digest(s, p, r, margins),
    }
