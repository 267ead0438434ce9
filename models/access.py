"""Who may do what: loading actors and rows, and the checks every operation makes.

Supervisors review the work of the units they supervise and every unit below; a delegate may
review in a supervisor's place on the dates of the delegation, while it is not revoked and
while the supervisor is still active (the supervisor's units are read at use time, so a
supervision that ended ends the delegate's right to it too); admins may review everything.
Nobody decides on their own facts (docs/architecture.md, "Who may do what over time").
"""

from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

from sqlalchemy import bindparam
from sqlmodel import Session, SQLModel, col, select

from models import views
from models.errors import Forbidden, NotFound, Refused
from models.facts import AssesseeRef
from models.store import Ctx
from models.tables import Cadre, Delegation, Period, Supervision, Task, Unit
from models.views import delegation_in_force, delegator_ids

Row = TypeVar("Row", bound=SQLModel)


def find(ctx: Ctx, model: type[Row], row_id: int | None, *, for_update: bool = False
         ) -> Row | None:
    """The row, or None. `for_update` locks it until commit (PostgreSQL; SQLite locks all)."""
    # A row this transaction loaded is not read again unless it is to be locked: the session's
    # identity map has it (with_for_update=False would bypass the map, SQLAlchemy looks there
    # only when it is None), and `kept` holds it there (the map's references are weak, and an
    # operation often drops a row it will load again a moment later: the actor, the period, the
    # task a door checked before the handler acts on it).
    return held(ctx.session, model, row_id, for_update=for_update)


def held(session: Session, model: type[Row], row_id: int | None, *, for_update: bool = False
         ) -> Row | None:
    """`find` for a read outside an operation (a handler's look at the row a door checked)."""
    # Locking reads the row again, and populate_existing makes that read overwrite the copy
    # already in the map: without it SQLAlchemy keeps what it read before the lock (a report a
    # door saw waiting, decided meanwhile by another supervisor's tap).
    row = None if row_id is None else session.get(
        model, row_id, with_for_update=True if for_update else None,
        populate_existing=True if for_update else None)
    if row is not None:
        keep(session, row)
    return row


def keep(session: Session, *rows: Any) -> None:
    """Hold rows loaded by a query of one's own where `find` looks first, for the transaction."""
    kept = session.info.setdefault("kept", {})
    for row in rows:
        if row is not None:
            kept[(type(row), row.id)] = row


def load(ctx: Ctx, model: type[Row], row_id: int | None, *, for_update: bool = False) -> Row:
    """The row, or NotFound (`find`)."""
    row = find(ctx, model, row_id, for_update=for_update)
    if row is None:
        raise NotFound(str(getattr(model, "__tablename__", model.__name__)), row_id)
    return row


def actor(ctx: Ctx, actor_id: int) -> Cadre:
    """The acting cadre; an unknown or deactivated one may do nothing."""
    cadre = ctx.session.get(Cadre, actor_id)
    if cadre is None or not cadre.active:
        raise Refused(
            "unknown_actor", audit=True, actor_id=None, entity="cadre", entity_id=actor_id
        )
    return cadre


def require_admin(who: Cadre, action: str, entity: str, entity_id: int | None) -> None:
    if not who.is_admin:
        raise Forbidden(who.id, action, entity, entity_id)


def refuse_own_facts(who: Cadre, owners: Iterable[AssesseeRef], code: str, action: str,
                     entity: str, entity_id: int | None, *, own_unit: bool = True) -> None:
    """Refuse (and audit) a decision on facts that count for the actor: their own score, or
    (with `own_unit`) their own unit's, whose difficulty sets their excellence quota."""
    for owner in owners:
        if (owner.kind == "cadre" and owner.id == who.id) or (
                own_unit and owner.kind == "unit" and owner.id == who.unit_id):
            raise Refused(code, audit=True, actor_id=who.id, entity=entity, entity_id=entity_id,
                          action=action)


class Pathed(Protocol):
    """A unit or a row of its columns: what `unit_chain` reads."""

    @property
    def path(self) -> str: ...


def unit_chain(unit: Pathed) -> list[int]:
    """The unit's id and its ancestors' ids, from the root down."""
    return [int(part) for part in unit.path.strip("/").split("/") if part]


def supervised_unit_ids(ctx: Ctx, cadre_id: int) -> set[int]:
    return set(ctx.session.scalars(_SUPERVISED, {"cadre": cadre_id}).all())


_SUPERVISED = select(Supervision.unit_id).where(Supervision.cadre_id == bindparam("cadre"))


def delegators(ctx: Ctx, cadre_id: int) -> list[int]:
    """The supervisors for whom this cadre reviews today."""
    return delegator_ids(ctx.session, cadre_id, ctx.today)


def may_review(ctx: Ctx, who: Cadre, unit: Unit) -> bool:
    """Admins, supervisors of the unit or an ancestor, and today's delegates of such supervisors."""
    if who.is_admin:
        return True
    chain = set(unit_chain(unit))
    assert who.id is not None
    if supervised_unit_ids(ctx, who.id) & chain:
        return True
    return any(supervised_unit_ids(ctx, boss) & chain for boss in delegators(ctx, who.id))


def reviewable_unit_ids(ctx: Ctx, who: Cadre) -> set[int] | None:
    """The units whose work this cadre may review (None: every unit, for admins): the units
    they supervise, or supervise for someone today, and every unit below those."""
    if who.is_admin:
        return None
    assert who.id is not None
    roots = supervised_unit_ids(ctx, who.id)
    for boss in delegators(ctx, who.id):
        roots |= supervised_unit_ids(ctx, boss)
    if not roots:
        return set()
    found: set[int] = set()
    for root in ctx.session.exec(select(Unit).where(col(Unit.id).in_(roots))).all():
        found |= {unit_id for unit_id in ctx.session.exec(
            select(Unit.id).where(col(Unit.path).startswith(root.path))).all()
            if unit_id is not None}
    return found


def reviewers_of(ctx: Ctx, unit: Unit) -> list[Cadre]:
    """Who is asked to review the unit's work: the supervisors of the nearest unit up the tree
    that has any, with today's delegates; the admins when nobody supervises the chain."""
    for unit_id in reversed(unit_chain(unit)):
        bosses = list(ctx.session.exec(
            select(Cadre).join(Supervision, col(Supervision.cadre_id) == Cadre.id)
            .where(Supervision.unit_id == unit_id, col(Cadre.active))
            .order_by(col(Cadre.id))
        ).all())
        if bosses:
            today = ctx.today
            delegates = list(ctx.session.exec(
                select(Cadre).join(Delegation, col(Delegation.delegate_id) == Cadre.id)
                .where(
                    col(Delegation.supervisor_id).in_([b.id for b in bosses]),
                    delegation_in_force(today),
                    col(Cadre.active),
                )
            ).all())
            result, seen = list(bosses), {b.id for b in bosses}
            for delegate in delegates:
                if delegate.id not in seen:
                    seen.add(delegate.id)
                    result.append(delegate)
            return result
    return list(ctx.session.exec(
        select(Cadre).where(col(Cadre.is_admin), col(Cadre.active)).order_by(col(Cadre.id))
    ).all())


def task_unit(ctx: Ctx, task: Task) -> Unit:
    """The unit whose supervisors review the task: the cadre's unit, or the assessed unit."""
    if task.unit_id is not None:
        return load(ctx, Unit, task.unit_id)
    cadre = load(ctx, Cadre, task.cadre_id)
    return load(ctx, Unit, cadre.unit_id)


def may_report(ctx: Ctx, who: Cadre, task: Task) -> bool:
    """A cadre reports on their own tasks; a unit's tasks are reported by its members."""
    if task.cadre_id is not None:
        return task.cadre_id == who.id
    unit = load(ctx, Unit, task.unit_id)
    member_unit = load(ctx, Unit, who.unit_id)
    return unit.id in unit_chain(member_unit)


def open_period(ctx: Ctx, period_id: int) -> Period:
    """The period, refusing any change once it is locked."""
    period = load(ctx, Period, period_id)
    if period.locked:
        raise Refused("period_locked", period=period.code)
    return period


def active_period(ctx: Ctx) -> Period:
    """The active period, or a refusal (views.active_period is the lookup, None when none)."""
    period = views.active_period(ctx.session)
    if period is None:
        raise Refused("no_active_period")
    return period
