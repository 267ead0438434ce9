"""Cards for what the scheduler sends: reminders and the weekly digests (with a chart).

Built when the message is sent, from the rows as they are then: a reminder whose occurrence was
reported meanwhile is dropped (None), and a digest shows the standings of the moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, func, select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.cards import Card
from bot.render import Renderer
from models.tables import Cadre, Period, Report, StandingHistory, Task, Unit
from models.views import (
    TaskLine,
    not_reported,
    reportable_tasks,
    standing_of,
    total_a_week_ago,
    unit_board,
)
from models.vocab import APPROVED, RETURNED, SUBMITTED


def chart(*args: Any, **kwargs: Any) -> bytes:
    """The standings chart (bot/charts.py); matplotlib is loaded only when one is drawn."""
    from bot.charts import standings_chart

    png: bytes = standings_chart(*args, **kwargs)
    return png


def _settled(session: Session, task_id: int, occurrence: str) -> bool:
    return session.exec(select(Report.id).where(
        Report.task_id == task_id, Report.occurrence == occurrence,
        col(Report.state).in_((SUBMITTED, APPROVED)),
    )).first() is not None


def _report_button(r: Renderer, task_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(r.label("remind.report_now"),
                                                       callback_data=f"rep:t:{task_id}")]])


def deadline_reminder(session: Session, payload: dict[str, Any], r: Renderer) -> Card | None:
    task = session.get(Task, payload.get("task_id"))
    if task is None or _settled(session, task.id or 0, payload.get("occurrence", "")):
        return None
    text = r.render("reminder", task=task, payload=payload, overdue=False)
    return Card(text, _report_button(r, task.id or 0))


def overdue_reminder(session: Session, payload: dict[str, Any], r: Renderer) -> Card | None:
    task = session.get(Task, payload.get("task_id"))
    if task is None or _settled(session, task.id or 0, payload.get("occurrence", "")):
        return None
    text = r.render("reminder", task=task, payload=payload, overdue=True)
    return Card(text, _report_button(r, task.id or 0))


def overdue_escalation(session: Session, payload: dict[str, Any], r: Renderer) -> Card | None:
    task = session.get(Task, payload.get("task_id"))
    cadre = session.get(Cadre, payload.get("cadre_id"))
    if task is None or cadre is None or _settled(session, task.id or 0,
                                                 payload.get("occurrence", "")):
        return None
    return Card(r.render("escalation", task=task, cadre=cadre, payload=payload))


def review_waiting(session: Session, payload: dict[str, Any], r: Renderer) -> Card | None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(r.label("remind.open_pending"),
                                                         callback_data="rv:p:0")]])
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
                 recipient: Cadre) -> Card | None:
    period = session.get(Period, payload.get("period_id"))
    if period is None:
        return None
    start, end = _week(payload)
    standing = standing_of(session, period, cadre_id=recipient.id)
    before = total_a_week_ago(session, period, recipient.id or 0, end)
    decided = session.exec(
        select(Report, Task).join(Task, col(Task.id) == Report.task_id).where(
            Report.reporter_id == recipient.id, col(Report.state).in_((APPROVED, RETURNED)),
            col(Report.decided_at) >= datetime.combine(start, time(0), tzinfo=UTC),
        ).order_by(col(Report.decided_at))
    ).all()
    upcoming: list[TaskLine] = [
        line for line in reportable_tasks(session, recipient, period, end)
        if line.next_due is not None and line.next_due >= end
        and line.state not in (SUBMITTED, APPROVED)
    ][:5]
    change = None if standing is None or before is None else standing.total - before
    return Card(r.render("digest_cadre", cadre=recipient, period=period, s=standing,
                         change=change, decided=decided, upcoming=upcoming, week=end))


def _movers(session: Session, period: Period, unit: Unit, end: date) -> list[Mover]:
    board = unit_board(session, period, unit, None, top=10_000)
    ids = [line.cadre_id for line in board.lines]
    if not ids:
        return []
    old = {}
    for row in session.exec(select(StandingHistory).where(
            StandingHistory.period_id == period.id, col(StandingHistory.cadre_id).in_(ids),
            col(StandingHistory.taken_on) <= end - timedelta(days=7),
    ).order_by(col(StandingHistory.taken_on))).all():
        old[row.cadre_id] = row.total  # the latest one at least a week old wins
    movers = [Mover(line.name, line.total - old[line.cadre_id]) for line in board.lines
              if line.cadre_id in old and line.total != old[line.cadre_id]]
    return sorted(movers, key=lambda m: abs(m.change), reverse=True)[:5]


def _pending_count(session: Session, unit: Unit) -> int:
    """Submissions waiting for review on tasks of this unit or any unit below it."""
    below = col(Unit.path).startswith(unit.path)
    of_cadres = session.exec(
        select(func.count()).select_from(Report).join(Task, col(Task.id) == Report.task_id)
        .join(Cadre, col(Cadre.id) == Task.cadre_id).join(Unit, col(Unit.id) == Cadre.unit_id)
        .where(Report.state == SUBMITTED, below)
    ).one()
    of_units = session.exec(
        select(func.count()).select_from(Report).join(Task, col(Task.id) == Report.task_id)
        .join(Unit, col(Unit.id) == Task.unit_id).where(Report.state == SUBMITTED, below)
    ).one()
    return int(of_cadres) + int(of_units)


def supervisor_digest(session: Session, payload: dict[str, Any], r: Renderer,
                      chart: Any) -> Card | None:
    period = session.get(Period, payload.get("period_id"))
    unit = session.get(Unit, payload.get("unit_id"))
    if period is None or unit is None:
        return None
    _, end = _week(payload)
    board = unit_board(session, period, unit, None, top=10)
    missing = not_reported(session, period, unit, end)
    text = r.render("digest_supervisor", unit=unit, period=period, board=board,
                    movers=_movers(session, period, unit, end), missing=missing[:15],
                    more_missing=max(0, len(missing) - 15),
                    pending=_pending_count(session, unit), week=end)
    photo = chart(r.t("digest.chart_title", unit=unit.name, period=period.name),
                  [line.name for line in board.lines], [line.total for line in board.lines],
                  empty_text=r.t("rank.empty"))
    return Card(text, photo=photo)


def group_digest(session: Session, payload: dict[str, Any], r: Renderer,
                 chart: Any) -> Card | None:
    period = session.get(Period, payload.get("period_id"))
    unit = session.get(Unit, payload.get("unit_id"))
    if period is None or unit is None:
        return None
    board = unit_board(session, period, unit, None, top=10)
    text = r.render("rank", period=period, board=board)
    photo = chart(r.t("digest.chart_title", unit=unit.name, period=period.name),
                  [line.name for line in board.lines], [line.total for line in board.lines],
                  empty_text=r.t("rank.empty"))
    return Card(text, photo=photo)
