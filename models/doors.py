"""Every door a person can knock on from a chat, and who it opens for.

A button is only a suggestion: a modified client can send any callback data for a message it
holds. So each kind of callback (ui/callbacks.py) names a `Door` and, where it has one, the id of
the row behind it (its subject); `admit` loads the person and that row and decides here, on the
server, before any handler reads or writes anything. A refusal is a `Refused` with
`audit=True`, so the store records the attempt (actor, callback, reason) in a transaction of its
own, and the caller answers it in the person's language. Reads are doors as much as writes.
"""

from dataclasses import dataclass
from enum import StrEnum

from models.access import find, may_report, may_review, supervised_unit_ids, task_unit
from models.errors import Refused
from models.rating import grade_of
from models.store import Ctx
from models.tables import (
    ID_MAX,
    Cadre,
    Delegation,
    InnovationClaim,
    Objection,
    Period,
    Report,
    Task,
    Unit,
)
from models.views import cadre_by_telegram, overseen_units, writer_by_telegram


class Door(StrEnum):
    """Who may press a kind of button; the subject is the row the button is about."""

    ANYONE = "anyone"  # any bound, active cadre: steps and pages of their own flows
    ADMIN = "admin"  # the assessment office
    REVIEWER = "reviewer"  # reviews someone's work today: admin, supervisor, today's delegate
    REPORT_REVIEWER = "report_reviewer"  # subject: a report they may decide (not their own)
    CLAIM_REVIEWER = "claim_reviewer"  # subject: an innovation claim: admins, not the claimant
    TASK_REPORTER = "task_reporter"  # subject: a task they report on
    TASK_OWNER = "task_owner"  # subject: a task in their own score (/whatif)
    TASK_REVIEWER = "task_reviewer"  # subject: a task whose unit they may review (/warn 提醒)
    UNIT_VIEWER = "unit_viewer"  # subject: their own unit, or one they oversee
    UNIT_OVERSEER = "unit_overseer"  # subject: a unit they oversee
    RATED = "rated"  # subject: a period whose rating graded them
    OBJECTION_ANSWERER = "objection_answerer"  # subject: an objection: admins, not the objector
    GROUP_BINDER = "group_binder"  # subject: a unit they may link a group chat to
    DELEGATION_REVOKER = "delegation_revoker"  # subject: a delegation they gave, or any (admins)


@dataclass(frozen=True)
class Knock:
    """One press of a button, as the dispatcher saw it."""

    telegram_user_id: int
    door: Door
    callback: str  # the raw callback data, for the audit row
    subject: int | None = None  # the id of the row behind the button
    entity: str = ""  # that row's table, for the audit row
    named: int | None = None  # the cadre named in the button: only they may press it
    in_group: bool = False  # pressed in a group chat
    group_ok: bool = False  # the kind may be pressed in a group chat


@dataclass(frozen=True)
class Admitted:
    cadre: Cadre
    supervisor: bool  # supervises a unit or reviews for someone today


def _refuse(knock: Knock, code: str, reason: str, actor_id: int | None) -> Refused:
    in_range = knock.subject is not None and 0 <= knock.subject <= ID_MAX
    return Refused(code, audit=True, actor_id=actor_id, entity=knock.entity or "callback",
                   entity_id=knock.subject if in_range else None, callback=knock.callback,
                   reason=reason, telegram_user=knock.telegram_user_id)


def refuse_malformed(ctx: Ctx, telegram_user_id: int, callback: str, reason: str) -> None:
    """Callback data no button of ours produces (or with an id beyond any row): audited."""
    who = cadre_by_telegram(ctx.session, telegram_user_id)
    raise _refuse(Knock(telegram_user_id, Door.ANYONE, callback), "stale_button", reason,
                  who.id if who else None)


def admit(ctx: Ctx, knock: Knock) -> Admitted:
    """The person behind the press, if this door opens for them; else an audited refusal."""
    found = writer_by_telegram(ctx.session, knock.telegram_user_id, ctx.today)
    if found is None or found[0].id is None:
        raise _refuse(knock, "unbound", "unbound user", None)
    who, supervisor = found
    if knock.in_group and not knock.group_ok:
        raise _refuse(knock, "private_only", "pressed in a group chat", who.id)
    if knock.named is not None and knock.named != who.id:
        raise _refuse(knock, "forbidden", "the button names another person", who.id)
    if knock.subject is not None and not 0 <= knock.subject <= ID_MAX:
        raise _refuse(knock, "stale_button", "id out of range", who.id)
    reason = _closed(ctx, knock, who, supervisor)
    if reason is not None:
        raise _refuse(knock, "forbidden", reason, who.id)
    return Admitted(who, supervisor)


def _closed(ctx: Ctx, knock: Knock, who: Cadre, supervisor: bool) -> str | None:
    """Why the door stays shut for `who`, or None when it opens."""
    door, subject = knock.door, knock.subject
    if door is Door.ANYONE:
        return None
    if door is Door.ADMIN:
        return None if who.is_admin else "not an admin"
    if door is Door.REVIEWER:
        return None if who.is_admin or supervisor else "reviews nobody's work"
    if subject is None:
        return "no subject"
    if door is Door.REPORT_REVIEWER:
        report = find(ctx, Report, subject)
        if report is None:
            return "no such report"
        task = find(ctx, Task, report.task_id)
        if task is None or not may_review(ctx, who, task_unit(ctx, task)):
            return "may not review this report"
        return "own report" if report.reporter_id == who.id else None
    if door is Door.CLAIM_REVIEWER:
        claim = find(ctx, InnovationClaim, subject)
        if claim is None:
            return "no such claim"
        if not who.is_admin:
            return "not an admin"
        return "own claim" if who.id in (claim.claimant_id, claim.cadre_id) else None
    if door is Door.TASK_REPORTER:
        task = find(ctx, Task, subject)
        if task is None or not may_report(ctx, who, task):
            return "not their task"
        return None
    if door is Door.TASK_OWNER:
        task = find(ctx, Task, subject)
        return None if task is not None and task.cadre_id == who.id else "not their own task"
    if door is Door.TASK_REVIEWER:
        task = find(ctx, Task, subject)
        if task is None or not may_review(ctx, who, task_unit(ctx, task)):
            return "may not review this task's unit"
        return None
    if door in (Door.UNIT_VIEWER, Door.UNIT_OVERSEER):
        if find(ctx, Unit, subject) is None:
            return "no such unit"
        if door is Door.UNIT_VIEWER and subject == who.unit_id:
            return None
        overseen = {unit.id for unit in overseen_units(ctx.session, who, ctx.today)}
        return None if subject in overseen else "does not oversee this unit"
    if door is Door.RATED:
        if find(ctx, Period, subject) is None:
            return "no such period"
        return None if grade_of(ctx.session, subject, who.id or 0) else "not rated in the period"
    if door is Door.OBJECTION_ANSWERER:
        objection = find(ctx, Objection, subject)
        if objection is None:
            return "no such objection"
        if not who.is_admin:
            return "not an admin"
        return "own objection" if objection.cadre_id == who.id else None
    if door is Door.GROUP_BINDER:
        allowed = supervised_unit_ids(ctx, who.id or 0)
        if who.is_admin:
            allowed.add(who.unit_id)
        return None if subject in allowed else "may not link this unit"
    if door is Door.DELEGATION_REVOKER:
        delegation = find(ctx, Delegation, subject)
        if delegation is None:
            return "no such delegation"
        return None if who.is_admin or delegation.supervisor_id == who.id else "not theirs"
    raise AssertionError(f"a door without a rule: {door}")
