"""The messages that stand for a row: a report awaiting review, an innovation claim, and the
notices people get when theirs is decided. Used by the handlers and by the outbox sender."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from sqlmodel import Session, col, select
from telegram import InlineKeyboardMarkup

from models.ranks import ranked
from models.tables import Cadre, InnovationClaim, Report, Standing, Task, Unit
from models.vocab import APPROVED, RETURNED, SUBMITTED
from ui.callbacks import ClaimDecision, ReportTask, ReviewGrade, ReviewReason
from ui.render import Renderer


@dataclass
class Card:
    text: str
    markup: InlineKeyboardMarkup | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    photo: bytes | None = None  # a picture sent before the text (a digest's chart)
    evidence_lost: str = ""  # what the text adds when the evidence cannot be sent

    def without_evidence(self) -> Card:
        """The card when Telegram refused its evidence (a file id it no longer knows): the
        text still goes, and says the evidence is missing."""
        return replace(self, text=f"{self.text}\n\n{self.evidence_lost}".rstrip(), evidence=[])


GRADES: tuple[Literal["A", "B", "C", "D"], ...] = ("A", "B", "C", "D")


def _name(session: Session, cadre_id: int | None) -> str:
    cadre = None if cadre_id is None else session.get(Cadre, cadre_id)
    return cadre.name if cadre else ""


def review_card(session: Session, report_id: int, r: Renderer) -> Card | None:
    """The report with its decision buttons while it waits; who decided, once decided."""
    report = session.get(Report, report_id)
    if report is None:
        return None
    task = session.get(Task, report.task_id)
    reporter = session.get(Cadre, report.reporter_id)
    assert task is not None and reporter is not None
    unit = session.get(Unit, reporter.unit_id)
    approved = session.exec(select(Report).where(
        Report.task_id == report.task_id, Report.occurrence == report.occurrence,
        Report.state == APPROVED, Report.id != report.id,
    ).order_by(col(Report.decided_at).desc(), col(Report.id).desc())).first()
    text = r.render("review_card", report=report, task=task, reporter=reporter, unit=unit,
                    reviewer=_name(session, report.reviewer_id), approved=approved)
    markup = None
    if report.state == SUBMITTED:
        markup = InlineKeyboardMarkup([
            [ReviewGrade(report_id, grade).button(r.label(f"grade.{grade}"))
             for grade in GRADES],
            [ReviewReason(report_id, "ret").button(r.label("review.return")),
             ReviewReason(report_id, "rej").button(r.label("review.reject"))],
        ])
    return Card(text, markup, list(report.evidence or []),
                evidence_lost=r.text("card.evidence_lost"))


def job_done(payload: dict[str, Any], r: Renderer) -> Card:
    """Heavy work someone asked for is done (models/jobs.py): what it did, in their words."""
    return Card(r.text(f"job.done.{payload.get('job')}", count=payload.get("count", 0)))


def report_decided(session: Session, payload: dict[str, Any], r: Renderer) -> Card | None:
    report = session.get(Report, payload.get("report_id"))
    if report is None:
        return None
    task = session.get(Task, report.task_id)
    markup = None
    if report.state == RETURNED:  # 重新汇报: the report flow on that task, with what was sent
        markup = InlineKeyboardMarkup([[ReportTask(report.task_id).button(
            r.label("decided.resubmit_button"))]])
    # The total and ranks of now, when the notice is rendered for sending: not of the moment
    # it was queued, which may be hours earlier (Telegram down, a backlog).
    standing = None
    if task is not None and report.state == APPROVED:
        found = session.exec(select(Standing).where(
            Standing.period_id == task.period_id, Standing.cadre_id == report.reporter_id)
        ).first()
        standing = None if found is None else ranked(session, found)
    return Card(r.render("report_decided", report=report, task=task, standing=standing,
                         reviewer=_name(session, report.reviewer_id)), markup)


def claim_card(session: Session, claim_id: int, r: Renderer) -> Card | None:
    claim = session.get(InnovationClaim, claim_id)
    if claim is None:
        return None
    text = r.render("claim_card", claim=claim, claimant=_name(session, claim.claimant_id),
                    reviewer=_name(session, claim.reviewer_id))
    markup = None
    if claim.state == SUBMITTED:
        markup = InlineKeyboardMarkup([[
            ClaimDecision(claim_id, "ok").button(r.label("claim.approve")),
            ClaimDecision(claim_id, "no").button(r.label("claim.reject")),
        ]])
    return Card(text, markup, list(claim.evidence or []),
                evidence_lost=r.text("card.evidence_lost"))


def claim_decided(session: Session, payload: dict[str, Any], r: Renderer) -> Card | None:
    claim = session.get(InnovationClaim, payload.get("claim_id"))
    if claim is None:
        return None
    return Card(r.render("claim_decided", claim=claim, credit=payload))
