"""A unit's Telegram group chat, where the weekly standings are posted.

A supervisor of the unit (or an admin) links the group from inside it; whoever removes the bot
from the group unlinks it. Each change is audited like any other.
"""

from sqlmodel import col, select

from models import audit
from models.access import actor, load, supervised_unit_ids
from models.errors import Forbidden
from models.store import Ctx
from models.tables import Unit


def units_for_group(ctx: Ctx, actor_id: int) -> list[Unit]:
    """The units this cadre may link a group to: those they supervise (admins: also their own)."""
    who = actor(ctx, actor_id)
    ids = supervised_unit_ids(ctx, actor_id)
    if who.is_admin:
        ids.add(who.unit_id)
    if not ids:
        return []
    return list(ctx.session.exec(select(Unit).where(col(Unit.id).in_(ids))
                                 .order_by(col(Unit.path))).all())


def link_group(ctx: Ctx, actor_id: int, unit_id: int, chat_id: int) -> Unit:
    """Post the unit's standings to `chat_id` from now on (a group may serve one unit)."""
    unit = load(ctx, Unit, unit_id, for_update=True)
    if unit.id not in {u.id for u in units_for_group(ctx, actor_id)}:
        raise Forbidden(actor_id, "unit.group_chat", "unit", unit_id)
    for other in ctx.session.exec(select(Unit).where(Unit.group_chat_id == chat_id,
                                                     Unit.id != unit_id)).all():
        _set(ctx, actor_id, other, None)
    return _set(ctx, actor_id, unit, chat_id)


def unlink_group(ctx: Ctx, actor_id: int | None, chat_id: int) -> list[Unit]:
    """The group no longer gets standings (the bot was removed, or someone asked)."""
    units = list(ctx.session.exec(select(Unit).where(Unit.group_chat_id == chat_id)).all())
    if actor_id is not None:
        allowed = {u.id for u in units_for_group(ctx, actor_id)}
        for unit in units:
            if unit.id not in allowed:
                raise Forbidden(actor_id, "unit.group_chat", "unit", unit.id)
    return [_set(ctx, actor_id, unit, None) for unit in units]


def move_group(ctx: Ctx, old_chat_id: int, new_chat_id: int) -> None:
    """Telegram upgraded the group to a supergroup, which has a new id."""
    for unit in ctx.session.exec(select(Unit).where(Unit.group_chat_id == old_chat_id)).all():
        _set(ctx, None, unit, new_chat_id)


def _set(ctx: Ctx, actor_id: int | None, unit: Unit, chat_id: int | None) -> Unit:
    if unit.group_chat_id == chat_id:
        return unit
    before = audit.snapshot(unit)
    unit.group_chat_id = chat_id
    audit.record(ctx, actor_id, "unit.group_chat", unit, before=before, unit_id=unit.id)
    return unit
