"""Reports: a cadre submits progress; a reviewer approves it with a grade, returns or rejects it.

Each function is one step of the life cycle, runs inside the caller's transaction (`ctx`),
checks the actor's right to it, writes its audit row, and on approval brings the standings and
ranks it touches up to date before the transaction commits.
"""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, or_, select

from models import audit, outbox
from models.access import (
    actor,
    keep,
    load,
    may_report,
    may_review,
    open_period,
    refuse_own_facts,
    reviewable_unit_ids,
    reviewers_of,
    task_unit,
)
from models.errors import Forbidden, NotFound, Refused
from models.facts import AssesseeRef
from models.limits import (
    MAX_COUNT,
    NOTE,
    REASON,
    checked_text,
    clean_evidence,
    decimal_places,
)
from models.occurrences import current_occurrence, occurrences
from models.standings import Placed, refresh
from models.store import Ctx
from models.tables import ONE_WAITING, Cadre, Period, Report, Task, Unit
from models.vocab import APPROVED, DRAFT, GRADES, REJECTED, RETURNED, SUBMITTED

HUNDRED = Decimal(100)


def _check_amount(task: Task, progress: Decimal | None, actual: Decimal | None) -> None:
    if task.target is not None:
        if actual is None:
            raise Refused("actual_required", task=task.id, measure=task.measure or "")
        if actual < 0 or not actual.is_finite():
            raise Refused("actual_out_of_range", value=str(actual))
        if actual > MAX_COUNT:
            raise Refused("actual_too_large", value=str(actual), max=str(MAX_COUNT))
        if decimal_places(actual) > 4:
            raise Refused("too_precise", value=str(actual), places=4)
        return
    if progress is None:
        raise Refused("progress_required", task=task.id)
    if not progress.is_finite() or not 0 <= progress <= HUNDRED:
        raise Refused("progress_out_of_range", value=str(progress))
    if decimal_places(progress) > 2:
        raise Refused("too_precise", value=str(progress), places=2)


def owners_affected(task: Task, ctx: Ctx) -> list[AssesseeRef]:
    """Whose score a change to this task's progress touches: its assessee and, for a part of a
    decomposed unit task, the unit that owns the whole."""
    refs = [AssesseeRef.cadre(task.cadre_id) if task.cadre_id is not None
            else AssesseeRef.unit(task.unit_id or 0)]
    if task.parent_id is not None:
        parent = load(ctx, Task, task.parent_id)
        refs.extend(owners_affected(parent, ctx))
    return refs


def _reportable(
    ctx: Ctx, actor_id: int, task_id: int, occurrence: str | None, action: str
) -> tuple[Task, Period, str]:
    """The task, its open period and the occurrence a report of this actor is for, or refuse."""
    who = actor(ctx, actor_id)
    task = load(ctx, Task, task_id)
    if not may_report(ctx, who, task):
        raise Forbidden(who.id, action, "task", task.id)
    period = open_period(ctx, task.period_id)
    found = occurrences(task.recurrence, task.deadline, period.starts_on, period.ends_on)
    if occurrence is None:
        done = set(ctx.session.exec(
            select(Report.occurrence).where(Report.task_id == task.id, Report.state == APPROVED)
        ).all())
        occurrence = current_occurrence(found, done, ctx.today).key
    elif occurrence not in {o.key for o in found}:
        raise Refused("unknown_occurrence", occurrence=occurrence)
    return task, period, occurrence


def _draft_of(ctx: Ctx, actor_id: int, task: Task, occurrence: str) -> Report | None:
    return ctx.session.exec(
        select(Report).where(
            Report.task_id == task.id, Report.occurrence == occurrence,
            Report.reporter_id == actor_id, Report.state == DRAFT,
        ).with_for_update()
    ).first()


def save_draft(
    ctx: Ctx,
    actor_id: int,
    task_id: int,
    *,
    progress: Decimal | None = None,
    actual: Decimal | None = None,
    note: str = "",
    evidence: Sequence[dict[str, Any]] = (),
    occurrence: str | None = None,
) -> Report:
    """Keep a report being written (it survives a restart). One draft per reporter, task and
    occurrence: saving again updates it; submitting turns it into the submission."""
    task, period, occurrence = _reportable(ctx, actor_id, task_id, occurrence, "report.draft")
    if progress is not None or actual is not None:
        _check_amount(task, progress, actual)
    draft = _draft_of(ctx, actor_id, task, occurrence)
    before = audit.snapshot(draft)
    if draft is None:
        draft = Report(task_id=task_id, occurrence=occurrence, reporter_id=actor_id,
                       state=DRAFT, created_at=ctx.now)
        ctx.session.add(draft)
    _fill(draft, task, progress, actual, note, evidence)
    ctx.session.flush()
    audit.record(ctx, actor_id, "report.draft", draft, before=before, period_id=period.id,
                 unit_id=task_unit(ctx, task).id, cadre_id=task.cadre_id, task_id=task.id)
    return draft


def discard_draft(ctx: Ctx, actor_id: int, report_id: int) -> None:
    """Throw away one's own draft (the cadre cancelled); a draft that is gone is no error."""
    report = ctx.session.get(Report, report_id, with_for_update=True)
    if report is None or report.state != DRAFT:
        return
    if report.reporter_id != actor_id:
        raise Forbidden(actor_id, "report.discard", "report", report.id)
    task = load(ctx, Task, report.task_id)
    audit.record(ctx, actor_id, "report.discard", report, before=audit.snapshot(report),
                 after={}, period_id=task.period_id, cadre_id=task.cadre_id, task_id=task.id)
    ctx.session.delete(report)


def _fill(report: Report, task: Task, progress: Decimal | None, actual: Decimal | None,
          note: str, evidence: Sequence[dict[str, Any]]) -> None:
    report.progress = None if task.target is not None else progress
    report.actual = actual if task.target is not None else None
    report.note = checked_text(NOTE, note)
    report.evidence = clean_evidence(evidence)


def _is_same_submission(report: Report, actor_id: int, task: Task, progress: Decimal | None,
                        actual: Decimal | None, note: str,
                        evidence: Sequence[dict[str, Any]]) -> bool:
    """Whether submitting these values would repeat `report` exactly (same reporter too)."""
    again = Report(task_id=report.task_id, occurrence=report.occurrence,
                   reporter_id=actor_id, created_at=report.created_at)
    _fill(again, task, progress, actual, note, evidence)
    return (report.reporter_id == actor_id and again.progress == report.progress
            and again.actual == report.actual and again.note == report.note
            and list(again.evidence or []) == list(report.evidence or []))


def submit_report(
    ctx: Ctx,
    actor_id: int,
    task_id: int,
    *,
    progress: Decimal | None = None,
    actual: Decimal | None = None,
    note: str = "",
    evidence: Sequence[dict[str, Any]] = (),
    occurrence: str | None = None,
) -> Report:
    """Submit progress on a task for review. One submission per occurrence waits at a time;
    the reporter's draft for the occurrence, if any, becomes the submission."""
    task, period, occurrence = _reportable(ctx, actor_id, task_id, occurrence, "report.submit")
    _check_amount(task, progress, actual)
    # The task's row owns "one waiting submission per occurrence": two members of a unit
    # submitting its task at once take turns here, and the second sees the first's submission.
    # (FOR NO KEY UPDATE: drafts, which only refer to the task, are not held up.)
    if ctx.locks_rows:
        ctx.session.exec(select(Task.id).where(Task.id == task.id)
                         .with_for_update(key_share=True))
    waiting = ctx.session.exec(
        select(Report.id).where(
            Report.task_id == task.id, Report.occurrence == occurrence, Report.state == SUBMITTED
        )
    ).first()
    if waiting is not None:
        same = ctx.session.get(Report, waiting)
        if same is not None and _is_same_submission(same, actor_id, task, progress, actual,
                                                    note, evidence):
            return same  # the same submission again (a re-delivered update): nothing new
        raise Refused("already_waiting", report=waiting)
    report = _draft_of(ctx, actor_id, task, occurrence)
    before = audit.snapshot(report)
    if report is None:
        report = Report(task_id=task_id, occurrence=occurrence, reporter_id=actor_id,
                        created_at=ctx.now)
        ctx.session.add(report)
    _fill(report, task, progress, actual, note, evidence)
    report.state = SUBMITTED
    report.submitted_at = ctx.now
    try:
        ctx.session.flush()
    except IntegrityError as error:  # the database's own guard (ONE_WAITING) caught a race
        if ONE_WAITING not in str(error.orig):
            raise
        raise Refused("already_waiting", report=None) from error
    unit = task_unit(ctx, task)
    audit.record(ctx, actor_id, "report.submit", report, before=before, period_id=period.id,
                 unit_id=unit.id, cadre_id=task.cadre_id, task_id=task.id)
    for reviewer in reviewers_of(ctx, unit):
        if reviewer.id != actor_id:
            outbox.enqueue(ctx, outbox.Kind.REVIEW_REQUEST, {"report_id": report.id},
                           recipient=reviewer,
                           dedupe_key=f"review_request:{report.id}:{reviewer.id}")
    return report


def _decidable(ctx: Ctx, actor_id: int, report_id: int, action: str) -> tuple[Cadre, Report, Task]:
    who = actor(ctx, actor_id)
    report = _locked_with_its_task(ctx, report_id)
    task = load(ctx, Task, report.task_id)
    if not may_review(ctx, who, task_unit(ctx, task)):
        raise Forbidden(who.id, action, "report", report.id)
    if report.state != SUBMITTED:
        reviewer_id = report.reviewer_id
        reviewer = None if reviewer_id is None else ctx.session.get(Cadre, reviewer_id)
        raise Refused("already_decided", report=report.id, state=report.state,
                      by=reviewer.name if reviewer else "")
    # Not one's own report, nor a report on a task that counts for one's own score (a part of
    # a decomposed task counts for its owner too). A unit's work is reviewed by its supervisors
    # although they belong to it: its progress is the unit's score, not theirs.
    owners = [AssesseeRef.cadre(report.reporter_id), *owners_affected(task, ctx)]
    refuse_own_facts(who, owners, "own_report", action, "report", report.id, own_unit=False)
    open_period(ctx, task.period_id)
    return who, report, task


_REPORT_WITH_ITS_TASK = (
    sa_select(Report, Task, Cadre, Unit, Period)
    .join(Task, col(Task.id) == Report.task_id)
    .outerjoin(Cadre, col(Cadre.id) == Task.cadre_id)
    .join(Unit, col(Unit.id) == func.coalesce(Task.unit_id, Cadre.unit_id))
    .join(Period, col(Period.id) == Task.period_id)
    .where(col(Report.id) == bindparam("report"))
    .with_for_update(of=Report)
    .execution_options(populate_existing=True))  # the row as committed now, once locked


def _locked_with_its_task(ctx: Ctx, report_id: int) -> Report:
    """The report, locked until commit as `load(..., for_update=True)` locks it, read in one
    statement with what deciding on it looks at next: its task, the task's cadre, the unit whose
    supervisors review it (`task_unit`) and the period. Those land where `load` looks first, so
    the checks that follow read nothing more (a round trip each on PostgreSQL)."""
    found = ctx.session.execute(_REPORT_WITH_ITS_TASK, {"report": report_id}).first()
    if found is None:
        raise NotFound("report", report_id)
    keep(ctx.session, *found)
    report: Report = found[0]
    return report


def _decide(ctx: Ctx, who: Cadre, report: Report, task: Task, state: str,
            grade: str | None, reason: str | None) -> None:
    before = audit.snapshot(report)
    report.state = state
    report.reviewer_id = who.id
    report.grade = grade
    report.reason = reason
    report.decided_at = ctx.now
    unit = task_unit(ctx, task)
    audit.record(ctx, who.id, f"report.{state}", report, before=before, period_id=task.period_id,
                 unit_id=unit.id, cadre_id=task.cadre_id, task_id=task.id)


def approve_report(ctx: Ctx, actor_id: int, report_id: int, grade: str) -> Report:
    """Approve with a quality grade (A/B/C/D); the standings are current when this commits."""
    if grade not in GRADES:
        raise Refused("unknown_grade", grade=grade)
    who, report, task = _decidable(ctx, actor_id, report_id, "report.approve")
    _decide(ctx, who, report, task, APPROVED, grade, None)
    period = load(ctx, Period, task.period_id)
    standings = refresh(ctx, period, owners_affected(task, ctx))
    _tell_reporter(ctx, report, standings)
    return report


def return_report(ctx: Ctx, actor_id: int, report_id: int, reason: str) -> Report:
    """Send back for revision, with the reason; the cadre may submit again."""
    who, report, task = _decidable(ctx, actor_id, report_id, "report.return")
    _decide(ctx, who, report, task, RETURNED, None, checked_text(REASON, reason))
    _tell_reporter(ctx, report, [])
    return report


def reject_report(ctx: Ctx, actor_id: int, report_id: int, reason: str) -> Report:
    """Reject, with the reason."""
    who, report, task = _decidable(ctx, actor_id, report_id, "report.reject")
    _decide(ctx, who, report, task, REJECTED, None, checked_text(REASON, reason))
    _tell_reporter(ctx, report, [])
    return report


def _tell_reporter(ctx: Ctx, report: Report, standings: list[Placed]) -> None:
    reporter = load(ctx, Cadre, report.reporter_id)
    payload: dict[str, Any] = {"report_id": report.id, "state": report.state}
    me = AssesseeRef.cadre(reporter.id or 0)
    mine = next((s for s in standings if s.ref == me), None)
    if mine is not None:
        payload.update(total=str(mine.total), rank_in_unit=mine.rank_in_unit,
                       rank_in_post=mine.rank_in_post)
    outbox.enqueue(ctx, outbox.Kind.REPORT_DECIDED, payload, recipient=reporter,
                   dedupe_key=f"report_decided:{report.id}")


def pending_for(ctx: Ctx, actor_id: int, limit: int = 50) -> list[Report]:
    """Submissions this actor may decide, oldest first: filtered in the database by the units
    they may review (the same rule as may_review), so a prefecture's queue is one query."""
    who = actor(ctx, actor_id)
    query = (select(Report).join(Task, col(Task.id) == Report.task_id)
             .outerjoin(Cadre, col(Cadre.id) == Task.cadre_id)
             .where(Report.state == SUBMITTED, col(Report.reporter_id) != who.id))
    units = reviewable_unit_ids(ctx, who)
    if units is not None:
        if not units:
            return []
        query = query.where(or_(col(Cadre.unit_id).in_(units), col(Task.unit_id).in_(units)))
    return list(ctx.session.exec(
        query.order_by(col(Report.submitted_at), col(Report.id)).limit(limit)).all())
