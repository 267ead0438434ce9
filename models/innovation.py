"""Innovation items 创新突破: a cadre claims one, an admin approves or rejects it.

Points come from the configured table (kind x level), fixed at claim time so a later change
of the table does not silently change an approved score.
"""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from models import audit, outbox
from models.access import (
    active_period,
    actor,
    load,
    open_period,
    refuse_own_facts,
    require_admin,
)
from models.errors import Refused
from models.facts import AssesseeRef
from models.limits import DESCRIPTION, REASON, checked_text, clean_evidence
from models.standings import refresh
from models.store import Ctx
from models.tables import Cadre, InnovationClaim, Period, Standing, Unit
from models.vocab import APPROVED, REJECTED, SUBMITTED
from scoring import Rational, round2


def claim_innovation(
    ctx: Ctx,
    actor_id: int,
    kind: str,
    level: str,
    description: str,
    evidence: Sequence[dict[str, Any]] = (),
) -> InnovationClaim:
    who = actor(ctx, actor_id)
    points = ctx.rules.innovation_value(kind, level)
    if points is None:
        raise Refused("unknown_innovation", kind=kind, level=level)
    description = checked_text(DESCRIPTION, description)
    period = open_period(ctx, active_period(ctx).id or 0)
    claim = InnovationClaim(
        period_id=period.id or 0,
        cadre_id=who.id,
        kind=kind,
        level=level,
        points=points,
        description=description,
        evidence=clean_evidence(evidence),
        claimant_id=who.id or 0,
        created_at=ctx.now,
    )
    ctx.session.add(claim)
    audit.record(ctx, who.id, "innovation.claim", claim, period_id=period.id, cadre_id=who.id,
                 unit_id=who.unit_id)
    admins = ctx.session.exec(select(Cadre).where(col(Cadre.is_admin), col(Cadre.active))).all()
    for admin in admins:
        outbox.enqueue(ctx, outbox.Kind.CLAIM_REVIEW_REQUEST, {"claim_id": claim.id},
                       recipient=admin, dedupe_key=f"claim_review_request:{claim.id}:{admin.id}")
    return claim


def _assessee(claim: InnovationClaim) -> AssesseeRef:
    return (AssesseeRef.cadre(claim.cadre_id) if claim.cadre_id is not None
            else AssesseeRef.unit(claim.unit_id or 0))


def ensure_rejectable(ctx: Ctx, actor_id: int, claim_id: int) -> None:
    """Refused as `reject_claim` would be, changing nothing: looked at before a reason is
    asked for (a stale button, one's own claim, a locked period)."""
    _decidable(ctx, actor_id, claim_id, REJECTED, for_update=False)


def _decidable(ctx: Ctx, actor_id: int, claim_id: int, state: str, *,
               for_update: bool) -> tuple[Cadre, InnovationClaim, Period]:
    """The admin deciding, the claim and its period, if `state` may be given now: else refused
    (not an admin, one's own claim, decided already, a locked period)."""
    who = actor(ctx, actor_id)
    claim = load(ctx, InnovationClaim, claim_id, for_update=for_update)
    require_admin(who, f"innovation.{state}", "innovation_claim", claim.id)
    # Not on one's own claim, nor on one's own unit's: another admin decides those.
    claimed_by = [AssesseeRef.cadre(claim.claimant_id)]
    refuse_own_facts(who, [_assessee(claim), *claimed_by], "own_claim", f"innovation.{state}",
                     "innovation_claim", claim.id)
    if claim.state != SUBMITTED:  # another admin was first: say who (the sentence needs it)
        decider = None if claim.reviewer_id is None else ctx.session.get(Cadre, claim.reviewer_id)
        raise Refused("claim_decided", claim=claim.id, state=claim.state,
                      by=decider.name if decider else "")
    return who, claim, open_period(ctx, claim.period_id)


def _decide(
    ctx: Ctx, actor_id: int, claim_id: int, state: str, reason: str | None
) -> InnovationClaim:
    who, claim, period = _decidable(ctx, actor_id, claim_id, state, for_update=True)
    before = audit.snapshot(claim)
    claim.state = state
    claim.reviewer_id = who.id
    claim.reason = reason
    claim.decided_at = ctx.now
    audit.record(ctx, who.id, f"innovation.{state}", claim, before=before, period_id=period.id,
                 cadre_id=claim.cadre_id, unit_id=claim.unit_id)
    payload: dict[str, Any] = {"claim_id": claim.id, "state": state}
    if state == APPROVED:
        ref = _assessee(claim)
        refresh(ctx, period, [ref])
        payload.update(_credit(ctx, claim, ref))
    claimant = load(ctx, Cadre, claim.claimant_id)
    outbox.enqueue(ctx, outbox.Kind.CLAIM_DECIDED, payload,
                   recipient=claimant, dedupe_key=f"claim_decided:{claim.id}")
    return claim


def _credit(ctx: Ctx, claim: InnovationClaim, ref: AssesseeRef) -> dict[str, Any]:
    """What the approval credited and why, for the claimant's notice: the item's points times
    the profile's innovation factor (SCORING.md step 7), less what the cap kept out, and the
    innovation part it made (as /score shows it)."""
    if ref.kind == "cadre":
        cadre = load(ctx, Cadre, ref.id)
        profile, category = cadre.profile, cadre.post_category
    else:
        profile, category = "standard", load(ctx, Unit, ref.id).post_category
    rule = ctx.rules.profiles[profile]
    factor, cap = rule.profile.innovation_factor, ctx.rules.policy(category).innovation_cap
    owner = InnovationClaim.cadre_id if ref.kind == "cadre" else InnovationClaim.unit_id
    others = ctx.session.exec(select(col(InnovationClaim.points)).where(
        InnovationClaim.period_id == claim.period_id, InnovationClaim.state == APPROVED,
        owner == ref.id, InnovationClaim.id != claim.id)).all()
    approved = sum((Rational(p) for p in others), Rational(0))
    points = Rational(claim.points)
    credited = min(cap, factor * (approved + points)) - min(cap, factor * approved)
    stored = ctx.session.exec(select(col(Standing.innovation)).where(
        Standing.period_id == claim.period_id,
        (Standing.cadre_id if ref.kind == "cadre" else Standing.unit_id) == ref.id)).first()
    return {
        "factor": str(round2(factor)), "profile_zh": rule.label_zh, "profile_en": rule.label_en,
        "weighted": str(round2(factor * points)), "credited": str(round2(credited)),
        "innovation": str(stored if stored is not None else Decimal("0.00")),
        "cap": str(round2(cap)),
    }


def approve_claim(ctx: Ctx, actor_id: int, claim_id: int) -> InnovationClaim:
    return _decide(ctx, actor_id, claim_id, APPROVED, None)


def reject_claim(ctx: Ctx, actor_id: int, claim_id: int, reason: str) -> InnovationClaim:
    return _decide(ctx, actor_id, claim_id, REJECTED, checked_text(REASON, reason))
