"""Building the organisation and its duty lists: units, cadres, supervisors, periods, tasks.

Used by the demo data and the Excel imports. Each function validates its input against the
rules, adds the row and its audit entry in the caller's transaction, and refuses bad input with
a Refused naming the field. `actor_id` None means the system (an import run by the office).
"""

from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlmodel import SQLModel, col, select

from models import audit
from models.access import load, open_period
from models.errors import Refused
from models.store import Ctx
from models.tables import Cadre, Cooperation, Period, Supervision, Task, Unit
from models.vocab import DIMENSIONS, PERIOD_KINDS, RECURRENCES, UNIT_KINDS


def add_unit(
    ctx: Ctx,
    actor_id: int | None,
    *,
    code: str,
    name: str,
    kind: str,
    post_category: str,
    parent: Unit | None = None,
    timezone: str | None = None,
    rating_pool: bool | None = None,
) -> Unit:
    if kind not in UNIT_KINDS:
        raise Refused("invalid_value", field="kind", value=kind)
    if post_category not in ctx.rules.post_categories:
        raise Refused("invalid_value", field="post_category", value=post_category)
    unit = Unit(code=code, name=name, kind=kind, post_category=post_category,
                parent_id=None if parent is None else parent.id, timezone=timezone,
                rating_pool=rating_pool)
    ctx.session.add(unit)
    ctx.session.flush()
    unit.path = (parent.path if parent is not None else "/") + f"{unit.id}/"
    audit.record(ctx, actor_id, "unit.add", unit, unit_id=unit.id)
    return unit


def add_cadre(
    ctx: Ctx,
    actor_id: int | None,
    *,
    code: str,
    name: str,
    unit: Unit,
    post_category: str | None = None,
    profile: str = "standard",
    is_admin: bool = False,
    locale: str | None = None,
) -> Cadre:
    category = post_category or unit.post_category
    if category not in ctx.rules.post_categories:
        raise Refused("invalid_value", field="post_category", value=category)
    if profile not in ctx.rules.profiles:
        raise Refused("invalid_value", field="profile", value=profile)
    cadre = Cadre(code=code, name=name, unit_id=unit.id or 0, post_category=category,
                  profile=profile, is_admin=is_admin, locale=locale)
    ctx.session.add(cadre)
    audit.record(ctx, actor_id, "cadre.add", cadre, cadre_id=None, unit_id=unit.id)
    return cadre


def add_supervision(ctx: Ctx, actor_id: int | None, cadre: Cadre, unit: Unit) -> Supervision:
    link = Supervision(cadre_id=cadre.id or 0, unit_id=unit.id or 0)
    ctx.session.add(link)
    audit.record(ctx, actor_id, "supervision.add", link, cadre_id=cadre.id, unit_id=unit.id)
    return link


def end_supervision(ctx: Ctx, actor_id: int | None, link: Supervision, why: str) -> None:
    """The cadre no longer supervises the unit (`why`: revoked, moved); audited as
    supervision.end. Their delegates lose it with them: delegations are checked at use."""
    audit.record(ctx, actor_id, "supervision.end", link, before=audit.snapshot(link),
                 after={"why": why}, cadre_id=link.cadre_id, unit_id=link.unit_id)
    ctx.session.delete(link)
    ctx.session.flush()


def end_supervisions(ctx: Ctx, actor_id: int | None, cadre: Cadre, why: str) -> int:
    """End every supervision the cadre holds; how many there were."""
    links = ctx.session.exec(select(Supervision).where(Supervision.cadre_id == cadre.id)).all()
    for link in links:
        end_supervision(ctx, actor_id, link, why)
    return len(links)


def add_period(
    ctx: Ctx,
    actor_id: int | None,
    *,
    code: str,
    name: str,
    kind: str,
    starts_on: date,
    ends_on: date,
    parent: Period | None = None,
    active: bool = False,
) -> Period:
    if kind not in PERIOD_KINDS:
        raise Refused("invalid_value", field="kind", value=kind)
    if starts_on > ends_on:
        raise Refused("dates_reversed", starts_on=starts_on, ends_on=ends_on)
    if active:
        for other in ctx.session.exec(select(Period).where(col(Period.is_active))).all():
            other.is_active = False
    period = Period(code=code, name=name, kind=kind, starts_on=starts_on, ends_on=ends_on,
                    parent_id=None if parent is None else parent.id, is_active=active)
    ctx.session.add(period)
    audit.record(ctx, actor_id, "period.add", period)
    return period


def _in_range(value: Decimal, bounds: tuple[Fraction, Fraction]) -> bool:
    return value.is_finite() and bounds[0] <= Fraction(value) <= bounds[1]


def _task_values(
    ctx: Ctx,
    *,
    period: Period,
    code: str,
    title: str,
    dimension: str,
    category: str,
    weight: Decimal,
    cadre: Cadre | None,
    unit: Unit | None,
    source: str | None,
    difficulty: Decimal | None,
    boost: Decimal | None,
    target: Decimal | None,
    measure: str | None,
    deadline: date | None,
    recurrence: str,
    parent: Task | None,
    lead_unit: Unit | None,
) -> dict[str, Any]:
    """A duty item's columns (but code and period) once checked against the rules: what
    add_task and update_task both write."""
    if (cadre is None) == (unit is None):
        raise Refused("invalid_value", field="assessee", value=code)
    owner_category = (cadre or unit).post_category  # type: ignore[union-attr]
    policy = ctx.rules.policy(owner_category)
    if dimension not in DIMENSIONS:
        raise Refused("invalid_value", field="dimension", value=dimension)
    if category not in policy.category_weights:
        raise Refused("invalid_value", field="category", value=category)
    if not weight.is_finite() or weight <= 0:
        raise Refused("invalid_value", field="weight", value=str(weight))
    if difficulty is None:
        if source is None:
            raise Refused("invalid_value", field="difficulty", value="")
        if source not in ctx.rules.difficulty_sources:
            raise Refused("invalid_value", field="source", value=source)
        difficulty = ctx.rules.default_difficulty(source)
    elif source is not None and source not in ctx.rules.difficulty_sources:
        raise Refused("invalid_value", field="source", value=source)
    if not _in_range(difficulty, policy.difficulty_range):
        raise Refused("invalid_value", field="difficulty", value=str(difficulty))
    if boost is not None and (dimension != "key" or not _in_range(boost, policy.boost_range)):
        raise Refused("invalid_value", field="boost", value=str(boost))
    if target is not None and (not target.is_finite() or target <= 0):
        raise Refused("invalid_value", field="target", value=str(target))
    if recurrence not in RECURRENCES:
        raise Refused("invalid_value", field="recurrence", value=recurrence)
    if parent is not None and parent.period_id != period.id:
        raise Refused("invalid_value", field="parent", value=parent.code)
    return dict(
        title=title, dimension=dimension, category=category, weight=weight, source=source,
        difficulty=difficulty, boost=boost, target=target, measure=measure, deadline=deadline,
        recurrence=recurrence, cadre_id=None if cadre is None else cadre.id,
        unit_id=None if unit is None else unit.id,
        parent_id=None if parent is None else parent.id,
        lead_unit_id=None if lead_unit is None else lead_unit.id,
    )


def add_task(
    ctx: Ctx,
    actor_id: int | None,
    *,
    period: Period,
    code: str,
    title: str,
    dimension: str,
    category: str,
    weight: Decimal,
    cadre: Cadre | None = None,
    unit: Unit | None = None,
    source: str | None = None,
    difficulty: Decimal | None = None,
    boost: Decimal | None = None,
    target: Decimal | None = None,
    measure: str | None = None,
    deadline: date | None = None,
    recurrence: str = "once",
    parent: Task | None = None,
    lead_unit: Unit | None = None,
) -> Task:
    """Add a duty item. Difficulty defaults to its source level's coefficient."""
    if period.id is not None:
        open_period(ctx, period.id)  # a locked period takes no new duty items
    values = _task_values(
        ctx, period=period, code=code, title=title, dimension=dimension, category=category,
        weight=weight, cadre=cadre, unit=unit, source=source, difficulty=difficulty,
        boost=boost, target=target, measure=measure, deadline=deadline, recurrence=recurrence,
        parent=parent, lead_unit=lead_unit)
    task = Task(code=code, period_id=period.id or 0, **values)
    ctx.session.add(task)
    audit.record(ctx, actor_id, "task.add", task, period_id=period.id,
                 cadre_id=task.cadre_id, unit_id=task.unit_id)
    return task


def add_cooperation(
    ctx: Ctx, actor_id: int | None, task: Task, unit: Unit, share: Decimal
) -> Cooperation:
    """Name a unit as co-operating on a task ("1+N") with its share of the work, in (0, 1]."""
    open_period(ctx, task.period_id)
    if not share.is_finite() or not 0 < share <= 1:
        raise Refused("invalid_value", field="share", value=str(share))
    if unit.id in (task.unit_id, task.lead_unit_id):
        raise Refused("invalid_value", field="unit", value=unit.code)
    cooperation = Cooperation(task_id=task.id or 0, unit_id=unit.id or 0, share=share)
    ctx.session.add(cooperation)
    audit.record(ctx, actor_id, "cooperation.add", cooperation, period_id=task.period_id,
                 unit_id=unit.id, task_id=task.id)
    return cooperation


def unit_by_code(ctx: Ctx, code: str) -> Unit:
    unit = ctx.session.exec(select(Unit).where(Unit.code == code)).first()
    if unit is None:
        raise Refused("not_found", what="unit", id=code)
    return unit


def period_by_code(ctx: Ctx, code: str) -> Period:
    period = ctx.session.exec(select(Period).where(Period.code == code)).first()
    if period is None:
        raise Refused("not_found", what="period", id=code)
    return period


def cadre_by_id(ctx: Ctx, cadre_id: int) -> Cadre:
    return load(ctx, Cadre, cadre_id)


# -- updates, for an import that meets a row it created before (models/importing.py) ------------
# Each changes only what differs and writes one audit row with before and after; an unchanged
# row is not touched (returns False). Like the add_ operations they leave standings to the
# caller: the import recomputes each period it touched once, at the end of its transaction.


def _apply(ctx: Ctx, actor_id: int | None, action: str, row: SQLModel, values: dict[str, Any],
           *, period_id: int | None = None, unit_id: int | None = None,
           cadre_id: int | None = None, task_id: int | None = None) -> bool:
    changed = {name: value for name, value in values.items() if getattr(row, name) != value}
    if not changed:
        return False
    before = audit.snapshot(row)
    for name, value in changed.items():
        setattr(row, name, value)
    audit.record(ctx, actor_id, action, row, before=before, period_id=period_id,
                 unit_id=unit_id, cadre_id=cadre_id, task_id=task_id)
    return True


def update_unit(
    ctx: Ctx,
    actor_id: int | None,
    unit: Unit,
    *,
    name: str,
    kind: str,
    post_category: str,
    parent: Unit | None,
    timezone: str | None,
    rating_pool: bool | None = None,
) -> bool:
    if kind not in UNIT_KINDS:
        raise Refused("invalid_value", field="kind", value=kind)
    if post_category not in ctx.rules.post_categories:
        raise Refused("invalid_value", field="post_category", value=post_category)
    if parent is not None and parent.path.startswith(unit.path):
        raise Refused("invalid_value", field="parent", value=parent.code)  # a cycle
    old_path = unit.path
    new_path = (parent.path if parent is not None else "/") + f"{unit.id}/"
    changed = _apply(ctx, actor_id, "unit.update", unit, {
        "name": name, "kind": kind, "post_category": post_category, "timezone": timezone,
        "parent_id": None if parent is None else parent.id, "path": new_path,
        "rating_pool": rating_pool,
    }, unit_id=unit.id)
    if new_path != old_path:  # the units below move with it
        below = ctx.session.exec(select(Unit).where(
            col(Unit.path).startswith(old_path), Unit.id != unit.id)).all()
        for other in below:
            other.path = new_path + other.path[len(old_path):]
    return changed


def update_cadre(
    ctx: Ctx,
    actor_id: int | None,
    cadre: Cadre,
    *,
    name: str,
    unit: Unit,
    post_category: str | None,
    profile: str,
    is_admin: bool,
    locale: str | None,
) -> bool:
    category = post_category or unit.post_category
    if category not in ctx.rules.post_categories:
        raise Refused("invalid_value", field="post_category", value=category)
    if profile not in ctx.rules.profiles:
        raise Refused("invalid_value", field="profile", value=profile)
    if cadre.unit_id != unit.id:
        # A supervisor who moves to another unit leaves their supervisions behind: the roster
        # that moved them states (in its 分管关系 sheet) what they supervise now.
        end_supervisions(ctx, actor_id, cadre, "moved")
    return _apply(ctx, actor_id, "cadre.update", cadre, {
        "name": name, "unit_id": unit.id, "post_category": category, "profile": profile,
        "is_admin": is_admin, "locale": locale,
    }, cadre_id=cadre.id, unit_id=unit.id)


def update_period(
    ctx: Ctx,
    actor_id: int | None,
    period: Period,
    *,
    name: str,
    kind: str,
    starts_on: date,
    ends_on: date,
    parent: Period | None,
    active: bool,
) -> bool:
    """`active` makes it the active period; False leaves that as it is (/admin switches)."""
    open_period(ctx, period.id or 0)
    if kind not in PERIOD_KINDS:
        raise Refused("invalid_value", field="kind", value=kind)
    if starts_on > ends_on:
        raise Refused("dates_reversed", starts_on=starts_on, ends_on=ends_on)
    values: dict[str, Any] = {"name": name, "kind": kind, "starts_on": starts_on,
                              "ends_on": ends_on, "parent_id": None if parent is None else
                              parent.id}
    if active and not period.is_active:
        for other in ctx.session.exec(select(Period).where(col(Period.is_active))).all():
            other.is_active = False
        values["is_active"] = True
    return _apply(ctx, actor_id, "period.update", period, values, period_id=period.id)


def update_task(
    ctx: Ctx,
    actor_id: int | None,
    task: Task,
    *,
    title: str,
    dimension: str,
    category: str,
    weight: Decimal,
    cadre: Cadre | None = None,
    unit: Unit | None = None,
    source: str | None = None,
    difficulty: Decimal | None = None,
    boost: Decimal | None = None,
    target: Decimal | None = None,
    measure: str | None = None,
    deadline: date | None = None,
    recurrence: str = "once",
    parent: Task | None = None,
    lead_unit: Unit | None = None,
) -> bool:
    """Change a duty item's terms; its assessee stays (their reports are on it)."""
    period = open_period(ctx, task.period_id)
    values = _task_values(
        ctx, period=period, code=task.code, title=title, dimension=dimension,
        category=category, weight=weight, cadre=cadre, unit=unit, source=source,
        difficulty=difficulty, boost=boost, target=target, measure=measure, deadline=deadline,
        recurrence=recurrence, parent=parent, lead_unit=lead_unit)
    if (values["cadre_id"], values["unit_id"]) != (task.cadre_id, task.unit_id):
        raise Refused("invalid_value", field="assessee", value=task.code)
    if parent is not None and parent.id == task.id:
        raise Refused("invalid_value", field="parent", value=parent.code)
    return _apply(ctx, actor_id, "task.update", task, values, period_id=period.id,
                  cadre_id=task.cadre_id, unit_id=task.unit_id, task_id=task.id)


def update_cooperation(
    ctx: Ctx, actor_id: int | None, cooperation: Cooperation, share: Decimal
) -> bool:
    task = load(ctx, Task, cooperation.task_id)
    open_period(ctx, task.period_id)
    if not share.is_finite() or not 0 < share <= 1:
        raise Refused("invalid_value", field="share", value=str(share))
    return _apply(ctx, actor_id, "cooperation.update", cooperation, {"share": share},
                  period_id=task.period_id, unit_id=cooperation.unit_id, task_id=task.id)
