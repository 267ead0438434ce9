""""1+N" co-operation: the lead unit confirms a co-operating unit's contribution to its task."""

from models import audit
from models.access import actor, load, may_review, open_period, task_unit
from models.errors import Forbidden, Refused
from models.facts import AssesseeRef
from models.standings import refresh
from models.store import Ctx
from models.tables import Cooperation, Task, Unit


def lead_unit_of(ctx: Ctx, task: Task) -> Unit:
    """The unit leading a task: its lead unit, else the unit assessed on it, else the cadre's."""
    if task.lead_unit_id is not None:
        return load(ctx, Unit, task.lead_unit_id)
    return task_unit(ctx, task)


def confirm_cooperation(ctx: Ctx, actor_id: int, cooperation_id: int) -> Cooperation:
    """Confirm the contribution; the co-operating unit's credit counts from now on."""
    who = actor(ctx, actor_id)
    cooperation = load(ctx, Cooperation, cooperation_id, for_update=True)
    task = load(ctx, Task, cooperation.task_id)
    if not may_review(ctx, who, lead_unit_of(ctx, task)):
        raise Forbidden(who.id, "cooperation.confirm", "cooperation", cooperation.id)
    if cooperation.confirmed_at is not None:
        raise Refused("already_confirmed", cooperation=cooperation.id)
    period = open_period(ctx, task.period_id)
    before = audit.snapshot(cooperation)
    cooperation.confirmed_by = who.id
    cooperation.confirmed_at = ctx.now
    audit.record(ctx, who.id, "cooperation.confirm", cooperation, before=before,
                 period_id=period.id, unit_id=cooperation.unit_id, task_id=task.id)
    refresh(ctx, period, [AssesseeRef.unit(cooperation.unit_id)])
    return cooperation
