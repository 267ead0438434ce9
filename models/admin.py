"""What the assessment office 考核办 changes: boosts, difficulties, the active period, delegations.

Every change is audited and recomputes the standings it touches in the same transaction.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from sqlalchemy import distinct, func
from sqlmodel import Session, col, select

from models import audit
from models.access import (
    actor,
    load,
    open_period,
    refuse_own_facts,
    require_admin,
    supervised_unit_ids,
)
from models.errors import Forbidden, Refused
from models.facts import AssesseeRef
from models.limits import check_places
from models.reports import owners_affected
from models.standings import refresh
from models.store import Ctx
from models.tables import Cadre, Cooperation, Delegation, Period, Task, Unit


def _owner_policy_range(ctx: Ctx, task: Task, which: str) -> tuple[Fraction, Fraction]:
    if task.cadre_id is not None:
        category = load(ctx, Cadre, task.cadre_id).post_category
    else:
        category = load(ctx, Unit, task.unit_id).post_category
    policy = ctx.rules.policy(category)
    return policy.boost_range if which == "boost" else policy.difficulty_range


def _affected(ctx: Ctx, task: Task) -> list[AssesseeRef]:
    refs = owners_affected(task, ctx)
    cooperating = ctx.session.exec(
        select(Cooperation.unit_id).where(
            Cooperation.task_id == task.id, col(Cooperation.confirmed_at).is_not(None)
        )
    ).all()
    return refs + [AssesseeRef.unit(unit_id) for unit_id in cooperating]


def _may_change(ctx: Ctx, who: Cadre, task: Task, action: str) -> Period:
    """The task's period, if this admin may change the task's weighting at all."""
    require_admin(who, action, "task", task.id)
    refuse_own_facts(who, _affected(ctx, task), "own_task", action, "task", task.id)
    return open_period(ctx, task.period_id)


def _key_only(task: Task) -> None:
    if task.dimension != "key":
        raise Refused("boost_key_only", task=task.id)


def check_task_change(ctx: Ctx, actor_id: int, task_id: int,
                      change: Literal["boost", "difficulty"]) -> Task:
    """What set_boost or set_difficulty would refuse whatever the value (a basic task for a
    boost, one's own task, a locked period): the dialogs ask it as soon as the task is named."""
    who = actor(ctx, actor_id)
    task = load(ctx, Task, task_id)
    _may_change(ctx, who, task, f"task.{change}")
    if change == "boost":
        _key_only(task)
    return task


def set_boost(ctx: Ctx, actor_id: int, task_id: int, boost: Decimal | None) -> Task:
    """Raise a key task's weight by 10-20 % (boost_range), or clear the boost with None."""
    who = actor(ctx, actor_id)
    task = load(ctx, Task, task_id, for_update=True)
    period = _may_change(ctx, who, task, "task.boost")
    if boost is not None and boost != 0:
        _key_only(task)
        low, high = _owner_policy_range(ctx, task, "boost")
        if not boost.is_finite() or not low <= Fraction(boost) <= high:
            raise Refused("boost_out_of_range", value=str(boost), low=str(float(low)),
                          high=str(float(high)))
        check_places(boost, 3)
    before = audit.snapshot(task)
    task.boost = None if boost is None or boost == 0 else boost
    audit.record(ctx, who.id, "task.boost", task, before=before, period_id=period.id,
                 cadre_id=task.cadre_id, unit_id=task.unit_id, task_id=task.id)
    refresh(ctx, period, _affected(ctx, task))
    return task


def set_difficulty(ctx: Ctx, actor_id: int, task_id: int, difficulty: Decimal) -> Task:
    """Set a task's difficulty coefficient within difficulty_range."""
    who = actor(ctx, actor_id)
    task = load(ctx, Task, task_id, for_update=True)
    period = _may_change(ctx, who, task, "task.difficulty")
    low, high = _owner_policy_range(ctx, task, "difficulty")
    if not difficulty.is_finite() or not low <= Fraction(difficulty) <= high:
        raise Refused("difficulty_out_of_range", value=str(difficulty), low=str(float(low)),
                      high=str(float(high)))
    check_places(difficulty, 3)
    before = audit.snapshot(task)
    task.difficulty = difficulty
    audit.record(ctx, who.id, "task.difficulty", task, before=before, period_id=period.id,
                 cadre_id=task.cadre_id, unit_id=task.unit_id, task_id=task.id)
    refresh(ctx, period, _affected(ctx, task))
    return task


def activate_period(ctx: Ctx, actor_id: int, period_id: int) -> Period:
    """Make this the period the bot shows and reports go to; the previous one stays as it is."""
    who = actor(ctx, actor_id)
    period = load(ctx, Period, period_id, for_update=True)
    require_admin(who, "period.activate", "period", period.id)
    for other in ctx.session.exec(select(Period).where(col(Period.is_active))).all():
        if other.id != period.id:
            other.is_active = False
    before = audit.snapshot(period)
    period.is_active = True
    audit.record(ctx, who.id, "period.activate", period, before=before, period_id=period.id)
    return period


@dataclass(frozen=True)
class PeriodSwitch:
    """What making `target` the active period changes: the period everyone works in, and how
    many tasks (and people with tasks) it holds."""

    current: Period | None
    target: Period
    tasks: int
    people: int


def period_switch(session: Session, period_id: int) -> PeriodSwitch | None:
    target = session.get(Period, period_id)
    if target is None:
        return None
    current = session.exec(select(Period).where(col(Period.is_active))).first()
    tasks, people = session.exec(
        select(func.count(col(Task.id)), func.count(distinct(col(Task.cadre_id))))
        .where(Task.period_id == period_id)).one()
    return PeriodSwitch(current, target, int(tasks), int(people))


# The longest delegation a supervisor may give when config.toml's [review] does not say.
DEFAULT_MAX_DELEGATION_DAYS = 90


def delegate_review(
    ctx: Ctx, actor_id: int, delegate_id: int, starts_on: date, ends_on: date,
    *, max_days: int = DEFAULT_MAX_DELEGATION_DAYS,
) -> Delegation:
    """A supervisor lets another cadre review in their place from starts_on to ends_on: from
    today at the earliest (no backdating), for at most `max_days` days (inclusive). The right
    is checked again whenever the delegate uses it (models/access.py delegation_in_force)."""
    who = actor(ctx, actor_id)
    assert who.id is not None
    if not supervised_unit_ids(ctx, who.id):
        raise Forbidden(who.id, "delegation.create", "cadre", delegate_id)
    delegate = actor(ctx, delegate_id)
    if delegate.id == who.id:
        raise Refused("delegate_self")
    if starts_on > ends_on:
        raise Refused("dates_reversed", starts_on=starts_on, ends_on=ends_on)
    if starts_on < ctx.today:
        raise Refused("delegation_backdated", starts_on=starts_on, today=ctx.today)
    if (ends_on - starts_on).days + 1 > max_days:
        raise Refused("delegation_too_long", days=(ends_on - starts_on).days + 1, max=max_days)
    delegation = Delegation(supervisor_id=who.id, delegate_id=delegate_id, starts_on=starts_on,
                            ends_on=ends_on, created_at=ctx.now)
    ctx.session.add(delegation)
    audit.record(ctx, who.id, "delegation.create", delegation, cadre_id=delegate_id)
    return delegation
