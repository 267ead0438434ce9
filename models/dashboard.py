"""What the Mini App dashboard shows, and who may see it (the web layer decides nothing).

Every function is a read in the caller's `store.reading()`: it loads the viewer, checks their
right with the same rules as the bot (models/views.py `overseen_units`: admins see every unit,
supervisors and today's delegates the units they supervise and every unit below; everyone sees
their own unit's board and their own score), and returns plain data. A refusal is a `Refused`
with audit=True, so the attempt is on record although nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement, func, true
from sqlmodel import col, select

from models.access import unit_chain
from models.errors import Forbidden, NotFound, Refused
from models.facts import AssesseeRef
from models.figures import Kept, kept_for_today
from models.figures import queue as queue_figures
from models.light_counts import unit_and_member_lights
from models.light_counts import unit_lights as units_lights
from models.ranks import CADRE as CADRE_KIND
from models.ranks import UNIT, RankBook, RankedStanding
from models.rating_pools import pool_lines
from models.reports import pending_for
from models.shown import ShownScore, shown_score
from models.store import Ctx, Store
from models.tables import ID_MAX, Cadre, Period, Standing, StandingHistory, Task, Unit
from models.views import (
    Missing,
    active_period,
    cadre_by_telegram,
    is_supervisor,
    late_people,
    overseen_units,
    standing_of,
    total_a_week_ago,
    totals_a_week_ago,
)
from models.views import late_counts as views_late_counts
from models.warnings import LightSummary
from scoring import exact, round_half_up

ADMIN, SUPERVISOR, CADRE = "admin", "supervisor", "cadre"
V = TypeVar("V")


# -- who is looking ---------------------------------------------------------------------------


def bad_init_data(reason: str, unrecorded: int | None = 0) -> Refused:
    """The Mini App's signed data did not check out (forged, stale, another bot's): audited,
    as often as the web layer says (webapp/throttle.py). `unrecorded`: how many such requests
    from the same client went unaudited since its last row; None: this one is not audited."""
    refusal = Refused("webapp_bad_init_data", audit=unrecorded is not None, entity="webapp",
                      reason=reason)
    if unrecorded:
        refusal.params["unrecorded"] = unrecorded
    return refusal


def viewer(ctx: Ctx, telegram_user_id: int) -> Cadre:
    """The active cadre bound to this Telegram account, or an audited refusal."""
    cadre = cadre_by_telegram(ctx.session, telegram_user_id)
    if cadre is None:
        # Telegram ids exceed the audit row's integer entity_id: they go in the parameters.
        raise Refused("webapp_unbound", audit=True, entity="webapp",
                      telegram_user=telegram_user_id)
    return cadre


def role_of(ctx: Ctx, who: Cadre) -> str:
    if who.is_admin:
        return ADMIN
    return SUPERVISOR if is_supervisor(ctx.session, who, ctx.today) else CADRE


def _period(ctx: Ctx) -> Period:
    period = active_period(ctx.session)
    if period is None:
        raise Refused("no_active_period")
    return period


def _unit(ctx: Ctx, unit_id: int) -> Unit:
    unit = ctx.session.get(Unit, unit_id) if 0 < unit_id <= ID_MAX else None
    if unit is None:
        raise NotFound("unit", unit_id)
    return unit


def ensure_may_see_unit(ctx: Ctx, who: Cadre, unit: Unit) -> None:
    """A unit's board: the viewer's own unit (as 排行榜 shows it), or one they oversee."""
    if unit.id == who.unit_id or unit.id in {u.id for u in overseen_units(
            ctx.session, who, ctx.today)}:
        return
    raise Forbidden(who.id, "webapp.unit", "unit", unit.id)


def ensure_may_see_cadre(ctx: Ctx, who: Cadre, cadre: Cadre) -> None:
    """A person's breakdown: their own, or anyone's in a unit the viewer oversees."""
    if cadre.id == who.id or cadre.unit_id in {u.id for u in overseen_units(
            ctx.session, who, ctx.today)}:
        return
    raise Forbidden(who.id, "webapp.person", "cadre", cadre.id)


# -- rows -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberRow:
    """A ranked cadre's standing as the pages show it (plain columns: a city-level overview
    reads thousands, and Standing rows would bring their per-task breakdowns along)."""

    cadre_id: int
    code: str
    name: str
    unit_id: int  # the unit they rank in
    rank: int
    total: Decimal
    base: Decimal
    key_points: Decimal
    innovation: Decimal
    collaboration: Decimal


@dataclass(frozen=True, slots=True)
class UnitScore:
    """An assessed unit's own standing."""

    total: Decimal
    rank: int
    difficulty: Decimal


_MEMBER_ROW = tuple(col(c) for c in (
    Cadre.id, Cadre.code, Cadre.name, Standing.group_unit_id, Standing.total, Standing.base,
    Standing.key_points, Standing.innovation, Standing.collaboration))


def _members(ctx: Ctx, period: Period, unit_ids: list[int]) -> dict[int, list[MemberRow]]:
    """Each unit's ranked cadres, in rank order (two queries: the rows and the ranks)."""
    found: dict[int, list[MemberRow]] = {unit_id: [] for unit_id in unit_ids}
    book = RankBook(ctx.session, period.id or 0, CADRE_KIND, units=unit_ids, posts=())
    for cadre_id, code, name, unit_id, total, *parts in ctx.session.execute(
        select(*_MEMBER_ROW).join(Standing, col(Standing.cadre_id) == Cadre.id)
        .where(Standing.period_id == period.id, col(Standing.group_unit_id).in_(unit_ids))
        .order_by(col(Standing.total).desc(), col(Cadre.code))
    ).all():
        found[unit_id].append(MemberRow(cadre_id, code, name, unit_id,
                                        book.in_unit(unit_id, total), total, *parts))
    return found


def _ranked(ctx: Ctx, period: Period, who: Cadre,
            unit_ids: list[int]) -> dict[int, tuple[int, Decimal]]:
    """Per unit: how many cadres rank in it and the sum of their totals (summed exactly by
    the database: a city's 20,000 rows need not come over)."""
    rows = ctx.session.execute(
        select(col(Standing.group_unit_id), func.count(), func.sum(col(Standing.total)))
        .where(Standing.period_id == period.id, col(Standing.cadre_id).is_not(None),
               true() if who.is_admin else col(Standing.group_unit_id).in_(unit_ids))
        .group_by(col(Standing.group_unit_id))).all()
    return {unit_id: (count, total) for unit_id, count, total in rows if unit_id is not None}


def _unit_scores(ctx: Ctx, period: Period, unit_ids: list[int]) -> dict[int, UnitScore]:
    rows = ctx.session.execute(
        select(col(Standing.unit_id), col(Standing.group_unit_id), col(Standing.total),
               col(Standing.difficulty))
        .where(Standing.period_id == period.id, col(Standing.unit_id).in_(unit_ids))).all()
    book = RankBook(ctx.session, period.id or 0, UNIT, units={row[1] for row in rows},
                    posts=())
    return {unit_id: UnitScore(total, book.in_unit(group, total), difficulty)
            for unit_id, group, total, difficulty in rows}


# -- the rating quota -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quota:
    pool: str  # the rating pool the unit's cadres are rated in (models/rating_pools.py)
    difficulty: Decimal  # the pool's D, 2 places
    ratio: Decimal  # its excellence ratio, 4 places
    slots: int  # how many may be rated 优秀
    members: int  # rated in the pool
    excellent_line: Decimal | None  # the total of the last one inside the quota (None: no slot)
    excellent_min: Decimal  # the threshold no quota lowers


def unit_quotas(ctx: Ctx, period: Period, unit_ids: list[int]) -> dict[int, Quota]:
    """The one place the dashboard takes a unit's rating quota from: its rating pool's D,
    ratio, slots and 优秀 line, the same figures as the annual rating
    (models/rating_pools.py `pool_lines`), each pool read once."""
    pools = pool_lines(ctx.session, ctx.rules, period, unit_ids)
    quotas = {pool.unit_id: Quota(
        pool=pool.name, difficulty=round_half_up(pool.difficulty, 2),
        ratio=round_half_up(pool.ratio, 4), slots=pool.slots, members=pool.members,
        excellent_line=pool.line, excellent_min=round_half_up(pool.excellent_min, 2),
    ) for pool in {pool.unit_id: pool for pool in pools.values()}.values()}
    return {unit_id: quotas[pool.unit_id] for unit_id, pool in pools.items()}


def _decimal(value: object, places: int) -> Decimal:
    return round_half_up(exact(value, "value"), places)


def guard_lines(ctx: Ctx, unit: Unit) -> dict[str, Decimal]:
    """The 90/70/60 lines of the unit's post category (优秀, 称职, 基本称职)."""
    policy = ctx.rules.policy(unit.post_category).rating
    return {"excellent": _decimal(policy.excellent_min, 2),
            "competent": _decimal(policy.competent_min, 2),
            "basic": _decimal(policy.basic_min, 2)}


# -- 总览 -------------------------------------------------------------------------------------


@dataclass
class UnitSummary:
    unit: Unit
    depth: int
    score: Decimal | None  # the unit's own standing, when it is assessed
    rank: int | None  # among its parent's units
    mean: Decimal | None  # of its members' totals
    quota: Quota  # its rating pool's
    members: int  # ranked in the unit


@dataclass
class Overview:
    period: Period
    units: list[UnitSummary] = field(default_factory=list)


def overview(ctx: Ctx, who: Cadre) -> Overview:
    """The units the viewer oversees, best first: by the unit's own score, then by its
    members' mean total (units nobody assesses and with nobody ranked come last)."""
    period = _period(ctx)
    units = overseen_units(ctx.session, who, ctx.today)
    ids = [u.id or 0 for u in units]
    ranked = _ranked(ctx, period, who, ids)
    scores = _unit_scores(ctx, period, ids)
    quotas = unit_quotas(ctx, period, ids)
    result = Overview(period)
    for unit in units:
        count, total = ranked.get(unit.id or 0, (0, Decimal(0)))
        own = scores.get(unit.id or 0)
        # Half up, as every figure shown (Decimal's quantize would round half to even).
        mean = round_half_up(exact(total, "total") / count, 2) if count else None
        result.units.append(UnitSummary(
            unit, len(unit_chain(unit)) - 1, own.total if own else None,
            own.rank if own else None, mean, quotas[unit.id or 0], count))
    low = Decimal(-1)
    result.units.sort(key=lambda s: (s.score is None, -(s.score or low), -(s.mean or low),
                                     s.unit.path))
    return result


@dataclass
class Figures(Generic[V]):
    """Per overseen unit, a figure of the 总览, and when it was worked out: kept by the
    FIGURES job (models/figures.py), or now (computed_at None: none kept for today)."""

    by_unit: dict[int, V]
    computed_at: datetime | None


def ask_for_figures(store: Store) -> None:
    """None were kept for today: have the FIGURES job work them out (once, however many
    pages ask meanwhile), in a transaction of its own."""
    with store.transaction() as ctx:
        queue_figures(ctx)


def _kept(ctx: Ctx, who: Cadre, units: list[Unit]) -> Kept | None:
    return kept_for_today(ctx.session, _period(ctx), ctx.today,
                          None if who.is_admin else [u.id or 0 for u in units])


def late_counts(ctx: Ctx, who: Cadre) -> Figures[int]:
    """Per overseen unit: how many of its members have a task due and unreported."""
    units = overseen_units(ctx.session, who, ctx.today)
    kept = _kept(ctx, who, units)
    if kept is not None:
        return Figures({u.id or 0: kept.late[u.id or 0] for u in units if u.id in kept.late},
                       kept.computed_at)
    return Figures(views_late_counts(ctx.session, _period(ctx), ctx.today, _among(who, units)),
                   None)


def unit_lights(ctx: Ctx, who: Cadre) -> Figures[LightSummary]:
    """Per overseen unit: its 红黄绿 light and counts (its own tasks' and its members'),
    counted by the database with models/warnings.py's rule (models/light_counts.py); the
    overview fills them in after the list, as the late counts."""
    units = overseen_units(ctx.session, who, ctx.today)
    kept = _kept(ctx, who, units)
    if kept is not None:
        found, at = kept.lights, kept.computed_at
    else:
        found, at = units_lights(ctx.session, _period(ctx), None if who.is_admin else
                                 [u.id or 0 for u in units], ctx.today, ctx.rules.warnings), None
    return Figures({unit.id or 0: found.get(unit.id or 0) or LightSummary() for unit in units},
                   at)


def _among(who: Cadre, units: list[Unit]) -> ColumnElement[bool]:
    """The cadres of these overseen units: an admin's are everyone, and need no list."""
    return true() if who.is_admin else col(Cadre.unit_id).in_([u.id for u in units])


# -- a unit -----------------------------------------------------------------------------------


@dataclass
class MemberLine:
    member: MemberRow
    week_ago: Decimal | None
    light: LightSummary  # 红黄绿 (models/warnings.py)

    @property
    def trend(self) -> str | None:
        """up, down or flat against the total a week ago (None: no history yet)."""
        if self.week_ago is None:
            return None
        change = self.member.total - self.week_ago
        return "up" if change > 0 else "down" if change < 0 else "flat"


@dataclass
class UnitPage:
    period: Period
    unit: Unit
    score: Decimal | None
    members: list[MemberLine]
    quota: Quota
    lines: dict[str, Decimal]
    children: list[Unit]  # units directly below that the viewer may open
    light: LightSummary  # the unit's: its own tasks' and its members'


def unit_page(ctx: Ctx, who: Cadre, unit_id: int) -> UnitPage:
    unit = _unit(ctx, unit_id)
    ensure_may_see_unit(ctx, who, unit)
    period = _period(ctx)
    people = _members(ctx, period, [unit_id])[unit_id]
    own = _unit_scores(ctx, period, [unit_id]).get(unit_id)
    week_ago = totals_a_week_ago(ctx.session, period, [m.cadre_id for m in people], ctx.today)
    overseen = {u.id for u in overseen_units(ctx.session, who, ctx.today)}
    children = list(ctx.session.exec(
        select(Unit).where(Unit.parent_id == unit_id).order_by(col(Unit.path))).all())
    of_unit, of_cadre = unit_and_member_lights(ctx.session, period, [unit_id], ctx.today,
                                     ctx.rules.warnings)
    return UnitPage(
        period, unit, own.total if own else None,
        [MemberLine(m, week_ago.get(m.cadre_id), of_cadre.get(m.cadre_id) or LightSummary())
         for m in people],
        unit_quotas(ctx, period, [unit_id])[unit_id], guard_lines(ctx, unit),
        [child for child in children if child.id in overseen],
        of_unit.get(unit_id) or LightSummary())


# -- a person ---------------------------------------------------------------------------------


@dataclass
class TaskPart:
    task_id: int
    title: str
    dimension: str
    weight: Decimal
    progress: Decimal
    grade: str | None
    quality: Decimal
    difficulty: Decimal
    boost: Decimal | None
    points: Decimal


@dataclass
class PersonPage:
    period: Period
    cadre: Cadre
    unit: Unit
    standing: RankedStanding | None  # its ranks
    shown: ShownScore | None  # its figures, as 我的得分 shows them
    week_ago: Decimal | None
    tasks: list[TaskPart]
    weekly: list[tuple[date, Decimal]]  # the total at the end of each week with history
    lines: dict[str, Decimal]


def person_page(ctx: Ctx, who: Cadre, cadre_id: int) -> PersonPage:
    """A person's score as 我的得分 shows it (the same models/views reads), with the trend."""
    cadre = ctx.session.get(Cadre, cadre_id) if 0 < cadre_id <= ID_MAX else None
    if cadre is None:
        raise NotFound("cadre", cadre_id)
    ensure_may_see_cadre(ctx, who, cadre)
    period = _period(ctx)
    unit = _unit(ctx, cadre.unit_id)
    standing = standing_of(ctx.session, period, cadre_id=cadre_id)
    # The figures 我的得分 shows (models/shown.py): task lines that sum to the base, parts to
    # the total. The stored breakdown rounds each line alone, and they can miss the base.
    figures = None if standing is None else shown_score(
        ctx.session, ctx.rules, period, AssesseeRef.cadre(cadre_id))
    tasks = [TaskPart(line.task_id, line.title or f"#{line.task_id}", line.dimension,
                      line.weight, line.progress, line.grade, line.quality, line.difficulty,
                      line.boost, line.points)
             for line in (figures.tasks if figures is not None else ())]
    return PersonPage(period, cadre, unit, standing, figures,
                      total_a_week_ago(ctx.session, period, cadre_id, ctx.today), tasks,
                      weekly_totals(ctx, period, cadre_id, standing), guard_lines(ctx, unit))


def weekly_totals(ctx: Ctx, period: Period, cadre_id: int,
                  standing: RankedStanding | None) -> list[tuple[date, Decimal]]:
    """The total at the last recorded day of each ISO week, then today's."""
    by_week: dict[tuple[int, int], tuple[date, Decimal]] = {}
    for day, total in ctx.session.exec(
        select(col(StandingHistory.taken_on), col(StandingHistory.total)).where(
            StandingHistory.period_id == period.id, StandingHistory.cadre_id == cadre_id)
        .order_by(col(StandingHistory.taken_on))
    ).all():
        by_week[day.isocalendar()[:2]] = (day, total)
    if standing is not None:
        by_week[ctx.today.isocalendar()[:2]] = (ctx.today, standing.total)
    return [by_week[week] for week in sorted(by_week)]


# -- 待审批 and 未按期汇报 ----------------------------------------------------------------------


@dataclass
class Waiting:
    reporter: str
    task: str
    occurrence: str
    submitted_on: date | None


def pending(ctx: Ctx, who: Cadre, limit: int = 100) -> list[Waiting]:
    """Submissions waiting for this viewer's decision (models/reports.py `pending_for`)."""
    reports = pending_for(ctx, who.id or 0, limit=limit)
    tasks = {t.id: t for t in ctx.session.exec(
        select(Task).where(col(Task.id).in_({r.task_id for r in reports}))).all()}
    people = {c.id: c for c in ctx.session.exec(
        select(Cadre).where(col(Cadre.id).in_({r.reporter_id for r in reports}))).all()}
    return [Waiting(people[r.reporter_id].name, tasks[r.task_id].title, r.occurrence,
                    r.submitted_at.astimezone(ctx.tz).date() if r.submitted_at else None)
            for r in reports]


LATE_PAGE = 100  # people on a page of 未按期汇报 (about: a page ends with a whole batch)
LATE_BATCH = 10  # units looked at in one query: a few hundred cadres' tasks


@dataclass
class LateUnit:
    unit: Unit
    people: list[tuple[Cadre, list[str]]]  # who, and the titles of their overdue tasks


@dataclass
class LatePage:
    units: list[LateUnit]
    next: int | None  # where the next page starts among the viewer's units; None: the end


def late(ctx: Ctx, who: Cadre, start: int = 0, limit: int = LATE_PAGE,
         batch_size: int = LATE_BATCH) -> LatePage:
    """未按期汇报 in the viewer's units, unit by unit in tree order, a page at a time: from the
    `start`-th unit on, a batch of units after another until `limit` people are found (a
    city's late people are most of 20,000, with their titles: too many for one answer). Each
    batch is one set-based query on its units' cadres (models/views.py `late_people`)."""
    period = _period(ctx)
    units = overseen_units(ctx.session, who, ctx.today)
    found: list[LateUnit] = []
    position, people = max(start, 0), 0
    while position < len(units) and people < limit:
        batch = units[position:position + batch_size]
        position += len(batch)
        late_here: dict[int, list[Missing]] = {}
        for missing in late_people(ctx.session, period, ctx.today,
                                   col(Cadre.unit_id).in_([u.id for u in batch])):
            late_here.setdefault(missing.cadre.unit_id, []).append(missing)
        for unit in batch:
            if unit.id in late_here:
                found.append(LateUnit(unit, [(m.cadre, [t.title for t in m.tasks])
                                             for m in late_here[unit.id]]))
                people += len(late_here[unit.id])
    return LatePage(found, position if position < len(units) else None)
