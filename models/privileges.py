"""Taking rights back: revoke a delegation, revoke a supervision, deactivate a cadre.

Each is one audited operation. A delegation is revoked by the supervisor who gave it or by an
admin; a supervision and a cadre by an admin. Rights that rest on these (a delegate's, through
their supervisor's) are checked when they are used (models/access.py), so nothing else needs
cleaning up: the moment this commits, the right is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from models import audit
from models.access import actor, load, require_admin
from models.errors import Forbidden, Refused
from models.org import end_supervision, end_supervisions
from models.standings import drop, lock_standings
from models.store import Ctx
from models.tables import Cadre, Delegation, Period, Standing, Supervision, Unit


def revoke_delegation(ctx: Ctx, actor_id: int, delegation_id: int) -> Delegation:
    who = actor(ctx, actor_id)
    delegation = load(ctx, Delegation, delegation_id, for_update=True)
    if delegation.supervisor_id != who.id and not who.is_admin:
        raise Forbidden(who.id, "delegation.revoke", "delegation", delegation.id)
    if delegation.revoked_at is not None:
        raise Refused("delegation_revoked", delegation=delegation.id)
    if delegation.ends_on < ctx.today:
        raise Refused("delegation_over", delegation=delegation.id, ends_on=delegation.ends_on)
    before = audit.snapshot(delegation)
    delegation.revoked_at = ctx.now
    delegation.revoked_by = who.id
    audit.record(ctx, who.id, "delegation.revoke", delegation, before=before,
                 cadre_id=delegation.delegate_id)
    return delegation


def revoke_supervision(ctx: Ctx, actor_id: int, cadre_id: int, unit_id: int) -> Supervision:
    who = actor(ctx, actor_id)
    require_admin(who, "supervision.revoke", "cadre", cadre_id)
    link = ctx.session.get(Supervision, (cadre_id, unit_id), with_for_update=True)
    if link is None:
        cadre, unit = load(ctx, Cadre, cadre_id), load(ctx, Unit, unit_id)
        raise Refused("not_supervising", name=cadre.name, unit=unit.name)
    end_supervision(ctx, who.id, link, "revoked")
    return link


def deactivate_cadre(ctx: Ctx, actor_id: int, cadre_id: int) -> Cadre:
    """The cadre leaves: they may do nothing more, their supervisions end, their delegates stop
    reviewing for them, and they leave the ranks of the periods still open."""
    who = actor(ctx, actor_id)
    require_admin(who, "cadre.deactivate", "cadre", cadre_id)
    cadre = load(ctx, Cadre, cadre_id, for_update=True)
    if cadre.id == who.id:
        raise Refused("deactivate_self")
    if not cadre.active:
        raise Refused("cadre_inactive", name=cadre.name)
    end_supervisions(ctx, who.id, cadre, "deactivated")
    before = audit.snapshot(cadre)
    cadre.active = False
    audit.record(ctx, who.id, "cadre.deactivate", cadre, before=before, cadre_id=cadre.id,
                 unit_id=cadre.unit_id)
    open_periods = ctx.session.exec(
        select(Period).join(Standing, col(Standing.period_id) == Period.id)
        .where(Standing.cadre_id == cadre.id, col(Period.locked).is_(False))).all()
    lock_standings(ctx, open_periods)  # all at once, in id order (docs/architecture.md)
    for period in open_periods:
        drop(ctx, period, cadre.id or 0)
    return cadre


@dataclass(frozen=True)
class DelegationLine:
    """A delegation as it is listed: who gave it to whom, for which dates, and its state."""

    id: int
    supervisor: str
    delegate: str
    starts_on: date
    ends_on: date
    revoked: bool

    def state(self, today: date) -> str:
        """revoked, over, waiting (starts later) or running."""
        if self.revoked:
            return "revoked"
        if self.ends_on < today:
            return "over"
        return "waiting" if self.starts_on > today else "running"


def delegations(session: Session, today: date, *, supervisor_id: int | None = None,
                ended_too: bool = False, limit: int = 50) -> list[DelegationLine]:
    """Delegations newest first: one supervisor's (or everyone's with None), running or to come
    (with `ended_too`, also those over or revoked). Who may see which is the caller's check."""
    supervisor, delegate = aliased(Cadre), aliased(Cadre)
    query = (select(Delegation, supervisor.name, delegate.name)
             .join(supervisor, col(supervisor.id) == Delegation.supervisor_id)
             .join(delegate, col(delegate.id) == Delegation.delegate_id))
    if supervisor_id is not None:
        query = query.where(Delegation.supervisor_id == supervisor_id)
    if not ended_too:
        query = query.where(col(Delegation.revoked_at).is_(None),
                            col(Delegation.ends_on) >= today)
    query = query.order_by(col(Delegation.id).desc()).limit(limit)
    return [DelegationLine(row.id or 0, boss, to, row.starts_on, row.ends_on,
                           row.revoked_at is not None)
            for row, boss, to in session.exec(query).all()]


def supervisions_of(session: Session, cadre_id: int) -> list[Unit]:
    return list(session.exec(
        select(Unit).join(Supervision, col(Supervision.unit_id) == Unit.id)
        .where(Supervision.cadre_id == cadre_id).order_by(col(Unit.path))).all())

