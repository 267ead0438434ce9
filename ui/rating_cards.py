"""The annual rating's messages: the preview the office sees (pool by pool), the 公示 notice a
cadre gets with the button to object, an objection as the admins see it, the answer the cadre
gets, and the final grade each rated cadre is told when the office finalises.

Used by handlers/rating.py, the outbox sender (CARD_MAKERS) and the command line. Numbers are
formatted here so that the bot and `kaohe rate` show them alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlmodel import Session, col, select
from telegram import InlineKeyboardMarkup

from models.rating import count_objections, grade_of, objections, open_objections, run_of
from models.rating_pools import PoolQuota
from models.rating_preview import BoundaryTie, PoolFigures
from models.tables import Cadre, Objection, Period, RatingRun, Standing, Unit
from models.vocab import FINAL, OPEN, PUBLICITY, UNLOCKED
from scoring import round_half_up
from ui.callbacks import ObjectionAnswer, ObjectionNew, RatingAction
from ui.cards import Card
from ui.i18n import Translator
from ui.render import Punctuation, Renderer


def ratio_text(ratio: Fraction) -> str:
    """An excellence ratio as a percentage: 40%, 23.33%."""
    text = format(round_half_up(Fraction(ratio) * 100, 2), "f").rstrip("0").rstrip(".")
    return f"{text}%"


def difficulty_text(difficulty: Fraction) -> str:
    return format(round_half_up(Fraction(difficulty), 2), "f")


def tie_text(t: Translator, tie: BoundaryTie) -> str:
    """Who got the last slot on an equal total, who did not, and what decided it."""
    p = Punctuation.of(t)

    def names(members: Any) -> str:
        return p.list.join(f"{m.name}{p.open}{m.code}{p.close}" for m in members)

    how = t(f"rating.tie_by.{tie.decided_by}", a=tie.inside_value, b=tie.outside_value)
    return t("rating.tie", total=format(tie.total, "f"), inside=names(tie.inside),
             outside=names(tie.outside), how=how)


def status_text(t: Translator, run: RatingRun | None) -> str:
    if run is None:
        return t("rating.state.none")
    return t(f"rating.state.{run.state}", until=run.publicity_ends_on.isoformat())


def line_text(t: Translator, pool: PoolFigures) -> str:
    """The 优秀 line today, or "" with no slot."""
    if pool.line is None:
        return ""
    return t("rating.pool_line", total=format(pool.line, "f"),
             minimum=format(round_half_up(pool.excellent_min, 2), "f"))


def not_rated_text(t: Translator, pool: PoolQuota | PoolFigures) -> str:
    """The pool's 未参评 with the reason, or ""."""
    if not pool.not_rated:
        return ""
    names = Punctuation.of(t).list.join(t("rating.not_rated_entry", name=n.name, code=n.code,
                       reason=t(f"rating.not_rated.{n.reason}")) for n in pool.not_rated)
    return t("rating.not_rated_line", count=len(pool.not_rated), names=names)


@dataclass(frozen=True)
class PoolRow:
    """One rating pool of the preview, formatted."""

    name: str
    units: str  # "评定池，含 …": the units it holds
    difficulty: str
    ratio: str
    slots: int
    members: int
    excellent: int
    line: str
    not_rated: str
    tie: str | None


def pool_rows(t: Translator, pools: Iterable[PoolFigures]) -> list[PoolRow]:
    return [_row(t, pool) for pool in pools]


def _row(t: Translator, pool: PoolFigures) -> PoolRow:
    units = t("rating.pool_units", units=Punctuation.of(t).list.join(pool.unit_names))
    return PoolRow(pool.name, units,
                   difficulty_text(pool.difficulty), ratio_text(pool.ratio), pool.slots,
                   pool.members, pool.excellent, line_text(t, pool),
                   not_rated_text(t, pool), tie_text(t, pool.tie) if pool.tie else None)


def preview_card(session: Session, r: Renderer, period: Period,
                 pools: Iterable[PoolFigures]) -> str:
    assert period.id is not None
    run = run_of(session, period.id)
    return r.render("rating_preview", period=period, status=status_text(r.t, run),
                    rows=pool_rows(r.t, pools), counts=count_objections(session, period.id))


def preview_done(session: Session, payload: dict[str, Any], r: Renderer) -> Card:
    """The PREVIEW job's result (models/rating_preview.py: preview_job) for the admin who asked:
    the preview, and the buttons for the rating's next step as it stands when it is sent."""
    period = session.get(Period, payload.get("period_id"))
    if period is None or period.id is None or payload.get("pools") is None:
        return Card(r.text("refused.no_active_period"))
    pools = [PoolFigures.of_data(pool) for pool in payload["pools"]]
    return Card(preview_card(session, r, period, pools),
                next_steps(session, r, period, int(payload.get("days", 0))))


def next_steps(session: Session, r: Renderer, period: Period,
               publicity_days: int) -> InlineKeyboardMarkup | None:
    """Unlock a locked period; publish (公示) one not in publicity; the objections once there
    are any; finalise during or after the publicity."""
    assert period.id is not None
    run_row = run_of(session, period.id)
    state = None if run_row is None else run_row.state
    rows = []
    if period.locked:
        rows.append([RatingAction("unl", period.id).button(r.label("rating.unlock_button"))])
    elif state != PUBLICITY:
        rows.append([RatingAction("pub", period.id).button(
            r.label("rating.publish_button", days=publicity_days))])
    if state in (PUBLICITY, UNLOCKED, FINAL) and objections(session, period.id):
        waiting = len(open_objections(session, period.id))
        rows.append([RatingAction("obj", period.id).button(
            r.label("rating.objections_button", open=waiting))])
    if state in (PUBLICITY, UNLOCKED) and not period.locked:
        rows.append([RatingAction("fin", period.id).button(r.label("rating.finalise_button"))])
    return InlineKeyboardMarkup(rows) if rows else None


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
                    difficulty=payload.get("difficulty", "—"),
                    slots=payload.get("slots", ""), members=payload.get("members", ""),
                    open=still_open)
    markup = None
    if still_open:
        markup = InlineKeyboardMarkup([[
            ObjectionNew(period.id or 0).button(r.label("rating.object_button"))]])
    return Card(text, markup)


def rating_finalised(session: Session, payload: dict[str, Any], r: Renderer,
                     cadre: Cadre | None) -> Card | None:
    """The final grade, told to each rated cadre when the office finalises (and the published
    one beside it when the corrections moved it)."""
    period = session.get(Period, payload.get("period_id"))
    if period is None or period.id is None or cadre is None or cadre.id is None:
        return None
    grade = grade_of(session, period.id, cadre.id)
    if grade is None or grade.final_grade is None:
        return None
    return Card(r.render("rating_finalised", period=period, grade=grade,
                         unit=session.get(Unit, grade.unit_id)))


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
