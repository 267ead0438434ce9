"""Cards for what the scheduler sends: reminders and the weekly digests (with a chart).

Built when the message is sent, from the rows as they are then: a reminder whose occurrence was
reported meanwhile is dropped (None), and a digest shows the standings of the moment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, func, select
from telegram import InlineKeyboardMarkup

from models import digest_rows
from models.rules import Rules, WarningMargins
from models.tables import Cadre, Period, Report, StandingHistory, Task, Unit
from models.views import (
    UnitBoard,
    boards_below,
    not_reported,
    totals_a_week_ago,
    units_below,
)
from models.vocab import APPROVED, SUBMITTED
from scoring.numbers import round2
from ui import insight_digest
from ui.callbacks import ReportTask, ReviewPage
from ui.cards import Card
from ui.render import Renderer


def chart(*args: Any, **kwargs: Any) -> bytes:
    """The standings chart (ui/charts.py); matplotlib is loaded only when one is drawn."""
    from ui.charts import standings_chart

    png: bytes = standings_chart(*args, **kwargs)
    return png


def _settled(session: Session, task_id: int, occurrence: str) -> bool:
    return session.exec(select(Report.id).where(
        Report.task_id == task_id, Report.occurrence == occurrence,
        col(Report.state).in_((SUBMITTED, APPROVED)),
    )).first() is not None


def _report_button(r: Renderer, task_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[ReportTask(task_id).button(r.label("remind.report_now"))]])


def _reminder(overdue: bool) -> Callable[[Session, dict[str, Any], Renderer], Card | None]:
    """The card of a deadline (or overdue) reminder; None once the occurrence was reported."""

    def card(session: Session, payload: dict[str, Any], r: Renderer) -> Card | None:
        task = session.get(Task, payload.get("task_id"))
        if task is None or _settled(session, task.id or 0, payload.get("occurrence", "")):
            return None
        text = r.render("reminder", task=task, payload=payload, overdue=overdue)
        return Card(text, _report_button(r, task.id or 0))

    return card


deadline_reminder = _reminder(overdue=False)
overdue_reminder = _reminder(overdue=True)


def overdue_escalation(session: Session, payload: dict[str, Any], r: Renderer) -> Card | None:
    task = session.get(Task, payload.get("task_id"))
    cadre = session.get(Cadre, payload.get("cadre_id"))
    if task is None or cadre is None or _settled(session, task.id or 0,
                                                 payload.get("occurrence", "")):
        return None
    return Card(r.render("escalation", task=task, cadre=cadre, payload=payload))


def review_waiting(session: Session, payload: dict[str, Any], r: Renderer) -> Card | None:
    markup = InlineKeyboardMarkup([[ReviewPage(0).button(r.label("remind.open_pending"))]])
    return Card(r.text("remind.review_waiting", count=payload.get("count", 0)), markup)


# -- digests ----------------------------------------------------------------------------------


@dataclass
class Mover:
    name: str
    change: Decimal


def _week(payload: dict[str, Any]) -> tuple[date, date]:
    end = date.fromisoformat(payload["week"])
    return end - timedelta(days=7), end


def cadre_digest(session: Session, payload: dict[str, Any], r: Renderer,
                 recipient: Cadre, *, rules: Rules | None = None) -> Card | None:
    return cadre_digests(session, payload, [recipient], lambda _: r,
                         rules=rules).get(recipient.id or 0)


def cadre_digests(session: Session, payload: dict[str, Any], recipients: Sequence[Cadre],
                  renderer: Callable[[Cadre], Renderer], *,
                  rules: Rules | None = None,
                  draw: insight_digest.ChartDrawer = insight_digest.draw_here
                  ) -> dict[int, Card]:
    """The week's digest of each recipient, from a handful of queries for all of them: a
    digest run renders thousands, and one query per person would make it minutes. With the
    rules, each also gets the 优秀 line and the chart of the weeks (ui/insight_digest.py)."""
    period = session.get(Period, payload.get("period_id"))
    if period is None or not recipients:
        return {}
    start, end = _week(payload)
    ids = [c.id or 0 for c in recipients]
    places = digest_rows.places(session, period, ids)
    before = totals_a_week_ago(session, period, ids, end)
    decided = digest_rows.decided_since(session, ids, datetime.combine(start, time(0), tzinfo=UTC))
    upcoming = digest_rows.next_deadlines(session, recipients, period, end)
    cards = {}
    for cadre in recipients:
        key = cadre.id or 0
        place = places.get(key)
        change = None if place is None or key not in before else place.total - before[key]
        cards[key] = Card(renderer(cadre).render(
            "digest_cadre", cadre=cadre, period=period, s=place, change=change,
            ranked_in=place.unit_name if place else "", decided=decided.get(key, []),
            upcoming=upcoming[key], week=end))
    if rules is not None:
        for key, extra in insight_digest.cadre_extras(session, rules, period, recipients, end,
                                                      renderer, draw).items():
            cards[key].text += "\n\n" + extra.text
            cards[key].photo = extra.photo
    return cards


def _movers(session: Session, period: Period, boards: list[UnitBoard],
            end: date) -> list[Mover]:
    """The five biggest changes of total since a week ago, among everyone on the boards."""
    lines = [line for board in boards for line in board.lines]
    if not lines:
        return []
    old = {}
    for row in session.exec(select(StandingHistory).where(
            StandingHistory.period_id == period.id,
            col(StandingHistory.cadre_id).in_([line.cadre_id for line in lines]),
            col(StandingHistory.taken_on) <= end - timedelta(days=7),
    ).order_by(col(StandingHistory.taken_on))).all():
        old[row.cadre_id] = row.total  # the latest one at least a week old wins
    movers = [Mover(line.name, line.total - old[line.cadre_id]) for line in lines
              if line.cadre_id in old and line.total != old[line.cadre_id]]
    return sorted(movers, key=lambda m: abs(m.change), reverse=True)[:5]


def _chart(r: Renderer, chart: Any, unit: Unit, period: Period, boards: list[UnitBoard], *,
           reader_id: int | None = None, rules: Rules | None = None) -> bytes:
    """Everyone below the unit by total, best first (the chart cuts it to what fits and says
    so), the reader's own bar marked and the unit's grade lines drawn."""
    from ui.charts import MAX_BARS

    lines = sorted((line for board in boards for line in board.lines),
                   key=lambda line: line.total, reverse=True)
    own = next((i for i, line in enumerate(lines) if line.cadre_id == reader_id), None)
    note = None
    if len(lines) > MAX_BARS:
        shown = MAX_BARS - 1 if own is not None and own >= MAX_BARS else MAX_BARS
        note = (r.t("digest.chart_note_own", size=len(lines), shown=shown, rank=own + 1)
                if own is not None else r.t("digest.chart_note", size=len(lines), shown=shown))
    png: bytes = chart(r.t("digest.chart_title", unit=unit.name, period=period.name),
                       [line.name for line in lines], [line.total for line in lines],
                       own=own, lines=grade_lines(r, rules, unit) if rules else (),
                       note=note, empty_text=r.t("rank.empty"))
    return png


def grade_lines(r: Renderer, rules: Rules, unit: Unit) -> list[Any]:
    """The least totals for 优秀, 称职 and 基本称职 in the unit's post category."""
    from ui.charts import LINE_COLOURS, GradeLine

    policy = rules.policy(unit.post_category).rating
    minimum = {"excellent": policy.excellent_min, "competent": policy.competent_min,
               "basic": policy.basic_min}
    return [GradeLine(r.t(f"rating.grade.{grade}"), round2(minimum[grade]), colour)
            for grade, colour in LINE_COLOURS.items()]


def _pending_count(session: Session, unit: Unit) -> int:
    """Submissions waiting for review on tasks of this unit or any unit below it."""
    units = units_below(session, unit)
    of_cadres = session.exec(
        select(func.count()).select_from(Report).join(Task, col(Task.id) == Report.task_id)
        .join(Cadre, col(Cadre.id) == Task.cadre_id)
        .where(Report.state == SUBMITTED, col(Cadre.unit_id).in_(units))
    ).one()
    of_units = session.exec(
        select(func.count()).select_from(Report).join(Task, col(Task.id) == Report.task_id)
        .where(Report.state == SUBMITTED, col(Task.unit_id).in_(units))
    ).one()
    return int(of_cadres) + int(of_units)


def _unit_and_period(session: Session,
                     payload: dict[str, Any]) -> tuple[Unit, Period] | None:
    period = session.get(Period, payload.get("period_id"))
    unit = session.get(Unit, payload.get("unit_id"))
    return None if period is None or unit is None else (unit, period)


def supervisor_digest(session: Session, payload: dict[str, Any], r: Renderer,
                      chart: Any, *, margins: WarningMargins | None = None,
                      reader: Cadre | None = None, rules: Rules | None = None) -> Card | None:
    found = _unit_and_period(session, payload)
    if found is None:
        return None
    unit, period = found
    _, end = _week(payload)
    everyone = boards_below(session, period, unit, top=10_000)
    missing = not_reported(session, period, unit, end, below=True)
    text = r.render("digest_supervisor", unit=unit, period=period,
                    boards=_shown(everyone), more_boards=max(0, len(everyone) - BOARDS_SHOWN),
                    movers=_movers(session, period, everyone, end), missing=missing[:15],
                    more_missing=max(0, len(missing) - 15),
                    pending=_pending_count(session, unit), week=end)
    if margins is not None:  # 预警 (ui/insight_digest.py)
        text += "\n\n" + insight_digest.warning_section(session, period, unit, end, margins, r)
    return Card(text, photo=_chart(r, chart, unit, period, everyone,
                                   reader_id=reader.id if reader else None, rules=rules))


def group_digest(session: Session, payload: dict[str, Any], r: Renderer,
                 chart: Any, *, rules: Rules | None = None) -> Card | None:
    found = _unit_and_period(session, payload)
    if found is None:
        return None
    unit, period = found
    everyone = boards_below(session, period, unit, top=10_000)
    text = r.render("digest_group", unit=unit, period=period, boards=_shown(everyone),
                    more_boards=max(0, len(everyone) - BOARDS_SHOWN))
    return Card(text, photo=_chart(r, chart, unit, period, everyone, rules=rules))


BOARDS_SHOWN = 12  # units listed in one digest; the chart and /rank show the rest
LINES_SHOWN = 10  # people per unit in a digest


def _shown(boards: list[UnitBoard]) -> list[UnitBoard]:
    return [UnitBoard(b.unit, b.lines[:LINES_SHOWN], b.size) for b in boards[:BOARDS_SHOWN]]
