"""The annual rating's messages: the preview the office sees, the 公示 notice a cadre gets with
the button to object, an objection as the admins see it, and the answer the cadre gets.

Used by handlers/rating.py, the outbox sender (CARD_MAKERS) and the command line. Numbers are
formatted here so that the bot and `kaohe rate` show them alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlmodel import Session, col, select
from telegram import InlineKeyboardMarkup

from models.rating import count_objections, grade_of, run_of
from models.rating_preview import BoundaryTie, RatingPreview, UnitQuota
from models.tables import Cadre, Objection, Period, RatingRun, Standing, Unit
from models.vocab import OPEN, PUBLICITY
from scoring import round_half_up
from ui.callbacks import ObjectionAnswer, ObjectionNew
from ui.cards import Card
from ui.i18n import Translator
from ui.render import Renderer


def ratio_text(ratio: Fraction) -> str:
    """An excellence ratio as a percentage: 40%, 23.33%."""
    text = format(round_half_up(Fraction(ratio) * 100, 2), "f").rstrip("0").rstrip(".")
    return f"{text}%"


def difficulty_text(difficulty: Fraction) -> str:
    return format(round_half_up(Fraction(difficulty), 2), "f")


def tie_text(t: Translator, tie: BoundaryTie) -> str:
    """Who got the last slot on an equal total, who did not, and what decided it."""
    def names(members: Any) -> str:
        return "、".join(f"{m.name}（{m.code}）" for m in members)

    how = t(f"rating.tie_by.{tie.decided_by}", a=tie.inside_value, b=tie.outside_value)
    return t("rating.tie", total=format(tie.total, "f"), inside=names(tie.inside),
             outside=names(tie.outside), how=how)


def status_text(t: Translator, run: RatingRun | None) -> str:
    if run is None:
        return t("rating.state.none")
    return t(f"rating.state.{run.state}", until=run.publicity_ends_on.isoformat())


@dataclass(frozen=True)
class UnitRow:
    """One unit of the preview, formatted."""

    name: str
    difficulty: str
    ratio: str
    slots: int
    members: int
    excellent: int
    tie: str | None


def unit_rows(t: Translator, rated: RatingPreview) -> list[UnitRow]:
    return [_row(t, unit) for unit in rated.units]


def _row(t: Translator, unit: UnitQuota) -> UnitRow:
    return UnitRow(unit.name, difficulty_text(unit.difficulty), ratio_text(unit.ratio),
                   unit.slots, len(unit.members), unit.excellent,
                   tie_text(t, unit.tie) if unit.tie else None)


def preview_card(session: Session, r: Renderer, period: Period, rated: RatingPreview) -> str:
    assert period.id is not None
    run = run_of(session, period.id)
    return r.render("rating_preview", period=period, status=status_text(r.t, run),
                    rows=unit_rows(r.t, rated), counts=count_objections(session, period.id))


def rating_published(session: Session, payload: dict[str, Any], r: Renderer,
                     cadre: Cadre | None) -> Card | None:
    """The 公示 notice: the cadre's provisional grade, the unit's quota, the last day to object
    and, while the 公示 runs, the button to object (a tap after its last day is refused)."""
    period = session.get(Period, payload.get("period_id"))
    if period is None or period.id is None or cadre is None or cadre.id is None:
        return None
    run = run_of(session, period.id)
    grade = grade_of(session, period.id, cadre.id)
    if run is None or grade is None or grade.published_grade is None:
        return None
    unit = session.get(Unit, grade.unit_id)
    still_open = run.state == PUBLICITY
    text = r.render("rating_published", period=period, run=run, grade=grade, unit=unit,
                    ratio=ratio_text(Fraction(str(payload.get("ratio", 0)))),
                    slots=payload.get("slots", ""), members=payload.get("members", ""),
                    open=still_open)
    markup = None
    if still_open:
        markup = InlineKeyboardMarkup([[
            ObjectionNew(period.id or 0).button(r.label("rating.object_button"))]])
    return Card(text, markup)


def objection_card(session: Session, objection_id: int, r: Renderer) -> Card | None:
    """An objection as the admins see it, with the answer buttons while it is open."""
    objection = session.get(Objection, objection_id)
    if objection is None:
        return None
    cadre = session.get(Cadre, objection.cadre_id)
    assert cadre is not None
    grade = grade_of(session, objection.period_id, objection.cadre_id)
    current = session.exec(select(col(Standing.total)).where(
        Standing.period_id == objection.period_id, Standing.cadre_id == cadre.id)).first()
    answered_by = session.get(Cadre, objection.answered_by) if objection.answered_by else None
    text = r.render("objection_card", objection=objection, cadre=cadre,
                    unit=session.get(Unit, cadre.unit_id), grade=grade, current=current,
                    answered_by=answered_by.name if answered_by else "")
    markup = None
    if objection.state == OPEN:
        markup = InlineKeyboardMarkup([[
            ObjectionAnswer("up", objection.id or 0).button(r.label("objection.uphold")),
            ObjectionAnswer("dis", objection.id or 0).button(r.label("objection.dismiss")),
        ]])
    return Card(text, markup)


def objection_answered(session: Session, payload: dict[str, Any], r: Renderer) -> Card | None:
    objection = session.get(Objection, payload.get("objection_id"))
    if objection is None or objection.state == OPEN:
        return None
    period = session.get(Period, objection.period_id)
    return Card(r.render("objection_answered", objection=objection, period=period))
