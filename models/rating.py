"""The annual rating's life: publish for 公示, objections and their answers, finalise, unlock.

    (preview) --publish--> publicity --finalise--> final (period locked) --unlock--> unlocked
                               ^  objections lodged and answered here         |
                               +---------------- publish again ---------------+
                                                  unlocked --finalise--> final

Each function is one operation in the caller's transaction: it checks the actor's right, changes
rows, writes audit rows and queues notifications, or refuses and changes nothing. An upheld
objection does not change a score by itself: the office corrects the score through the normal
audited operations (a difficulty, a boost, a report or claim decision), and the grades follow
the corrected standings, live in the preview and for good at finalisation (docs/rating.md).
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, func, select

from models import audit, outbox
from models.access import actor, load, open_period, require_admin
from models.errors import Refused
from models.limits import REASON, checked_text
from models.rating_preview import RatingPreview, preview
from models.store import Ctx
from models.tables import Cadre, Objection, Period, RatingGrade, RatingRun
from models.vocab import DISMISSED, FINAL, OPEN, PUBLICITY, UNLOCKED, UPHELD
from scoring import round_half_up

MAX_PUBLICITY_DAYS = 30
MAX_REASON = REASON.max_length  # an objection or an answer is a short statement, not a file


def publish(ctx: Ctx, actor_id: int, period_id: int, days: int) -> RatingRun:
    """Publish the grades as they stand for `days` days of 公示, counting today, and tell every
    rated cadre their provisional grade, their pool's quota, the last day to object and how."""
    who = actor(ctx, actor_id)
    period = load(ctx, Period, period_id, for_update=True)
    require_admin(who, "rating.publish", "period", period.id)
    open_period(ctx, period_id)
    if not 1 <= days <= MAX_PUBLICITY_DAYS:
        raise Refused("publicity_days_out_of_range", value=days, high=MAX_PUBLICITY_DAYS)
    run = run_of(ctx.session, period_id, for_update=True)
    if run is not None and run.state == PUBLICITY:
        raise Refused("rating_already_published", period=period.code,
                      until=run.publicity_ends_on.isoformat())
    before = audit.snapshot(run)
    ends_on = ctx.today + timedelta(days=days - 1)
    if run is None:
        run = RatingRun(period_id=period_id, state=PUBLICITY, round=1, publicity_days=days,
                        publicity_ends_on=ends_on, published_at=ctx.now, published_by=who.id)
        ctx.session.add(run)
    else:  # published again after an unlock: a new round of 公示
        run.state, run.round, run.publicity_days = PUBLICITY, run.round + 1, days
        run.publicity_ends_on, run.published_at, run.published_by = ends_on, ctx.now, who.id
        run.finalised_at = run.finalised_by = None
    rated = preview(ctx.session, ctx.rules, period)
    _store_grades(ctx, period_id, rated, published=True)
    audit.record(ctx, who.id, "rating.publish", run, before=before, period_id=period_id)
    for pool in rated.pools:  # the 未参评 are told nothing: they have no grade
        quota = {"period_id": period_id, "ratio": str(round_half_up(pool.ratio, 4)),
                 "difficulty": str(round_half_up(pool.difficulty, 2)),
                 "slots": pool.slots, "members": len(pool.members)}
        for member in pool.members:
            outbox.enqueue(ctx, outbox.Kind.RATING_PUBLISHED, quota,
                           recipient=load(ctx, Cadre, member.cadre_id),
                           dedupe_key=f"rating_published:{period_id}:{run.round}:"
                                      f"{member.cadre_id}")
    return run


def ensure_may_object(ctx: Ctx, actor_id: int, period_id: int) -> Cadre:
    """Refuses unless this cadre may object now; the bot asks before the cadre types a reason."""
    who = actor(ctx, actor_id)
    period = open_period(ctx, period_id)
    run = run_of(ctx.session, period_id)
    if run is None or run.state != PUBLICITY:
        raise Refused("rating_not_in_publicity", period=period.code)
    if ctx.today > run.publicity_ends_on:
        raise Refused("publicity_over", period=period.code, ended=run.publicity_ends_on.isoformat())
    if grade_of(ctx.session, period_id, who.id or 0) is None:
        raise Refused("not_rated", period=period.code)
    if objection_of(ctx.session, period_id, who.id or 0) is not None:
        raise Refused("objection_exists", period=period.code)
    return who


def lodge_objection(ctx: Ctx, actor_id: int, period_id: int, reason: str) -> Objection:
    """A rated cadre objects to their published grade, once a period, during the 公示."""
    who = ensure_may_object(ctx, actor_id, period_id)
    objection = Objection(period_id=period_id, cadre_id=who.id or 0, reason=_reason(reason),
                          lodged_at=ctx.now, state=OPEN)
    ctx.session.add(objection)
    audit.record(ctx, who.id, "objection.lodge", objection, period_id=period_id,
                 cadre_id=who.id, unit_id=who.unit_id)
    admins = ctx.session.exec(select(Cadre).where(col(Cadre.is_admin), col(Cadre.active))).all()
    for admin in admins:
        outbox.enqueue(ctx, outbox.Kind.OBJECTION_LODGED, {"objection_id": objection.id},
                       recipient=admin, dedupe_key=f"objection_lodged:{objection.id}:{admin.id}")
    return objection


def answer_objection(
    ctx: Ctx, actor_id: int, objection_id: int, upheld: bool, reason: str
) -> Objection:
    """An admin upholds or dismisses an objection, with the reason the cadre is told. Upheld:
    the office then corrects the score through the normal operations (docs/rating.md)."""
    who = actor(ctx, actor_id)
    objection = load(ctx, Objection, objection_id, for_update=True)
    require_admin(who, "objection.answer", "objection", objection.id)
    open_period(ctx, objection.period_id)
    if objection.state != OPEN:
        raise Refused("objection_answered", objection=objection.id, state=objection.state)
    if objection.cadre_id == who.id:
        raise Refused("own_objection", objection=objection.id)
    before = audit.snapshot(objection)
    objection.state = UPHELD if upheld else DISMISSED
    objection.answer = _reason(reason)
    objection.answered_by, objection.answered_at = who.id, ctx.now
    cadre = load(ctx, Cadre, objection.cadre_id)
    audit.record(ctx, who.id, f"objection.{objection.state}", objection, before=before,
                 period_id=objection.period_id, cadre_id=cadre.id, unit_id=cadre.unit_id)
    outbox.enqueue(ctx, outbox.Kind.OBJECTION_ANSWERED, {"objection_id": objection.id},
                   recipient=cadre, dedupe_key=f"objection_answered:{objection.id}")
    return objection


def finalise(ctx: Ctx, actor_id: int, period_id: int) -> RatingRun:
    """Store the final grades from the standings as they are now and lock the period. Refused
    while the 公示 runs or an objection waits for its answer; there is no early finalisation,
    as the publicity days are the cadres' time to object. Every rated cadre is told their
    final grade."""
    who = actor(ctx, actor_id)
    period = load(ctx, Period, period_id, for_update=True)
    require_admin(who, "rating.finalise", "period", period.id)
    open_period(ctx, period_id)
    run = run_of(ctx.session, period_id, for_update=True)
    if run is None:
        raise Refused("rating_not_published", period=period.code)
    if run.state == PUBLICITY and ctx.today <= run.publicity_ends_on:
        raise Refused("publicity_not_over", period=period.code,
                      until=run.publicity_ends_on.isoformat())
    waiting = len(open_objections(ctx.session, period_id))
    if waiting:
        raise Refused("objections_open", count=waiting)
    run_before, period_before = audit.snapshot(run), audit.snapshot(period)
    rated = preview(ctx.session, ctx.rules, period)
    _store_grades(ctx, period_id, rated, published=False)
    run.state, run.finalised_at, run.finalised_by = FINAL, ctx.now, who.id
    period.locked = True
    audit.record(ctx, who.id, "rating.finalise", run, before=run_before, period_id=period_id)
    audit.record(ctx, who.id, "period.lock", period, before=period_before, period_id=period_id)
    finalised = int(ctx.now.timestamp())  # finalised again after an unlock: told again
    for pool in rated.pools:
        for member in pool.members:
            outbox.enqueue(ctx, outbox.Kind.RATING_FINALISED, {"period_id": period_id},
                           recipient=load(ctx, Cadre, member.cadre_id),
                           dedupe_key=f"rating_finalised:{period_id}:{finalised}:"
                                      f"{member.cadre_id}")
    return run


def unlock(ctx: Ctx, actor_id: int, period_id: int, reason: str) -> Period:
    """Open a locked period for changes again, with the reason on record. The final grades
    stay as they were until the rating is finalised again (or published again)."""
    who = actor(ctx, actor_id)
    period = load(ctx, Period, period_id, for_update=True)
    require_admin(who, "period.unlock", "period", period.id)
    if not period.locked:
        raise Refused("period_not_locked", period=period.code)
    cleaned = _reason(reason)
    before = audit.snapshot(period)
    period.locked = False
    run = run_of(ctx.session, period_id, for_update=True)
    if run is not None:
        run.state = UNLOCKED
    audit.record(ctx, who.id, "period.unlock", period, before=before,
                 after={**(audit.snapshot(period) or {}), "reason": cleaned}, period_id=period_id)
    return period


def _reason(reason: str) -> str:
    return checked_text(REASON, reason)


def _store_grades(ctx: Ctx, period_id: int, rated: RatingPreview, *, published: bool) -> None:
    """Write the preview's grades as the published ones (a new 公示 starts over: the final
    ones are cleared, rows of cadres no longer rated go) or as the final ones."""
    rows = {g.cadre_id: g for g in ctx.session.exec(
        select(RatingGrade).where(RatingGrade.period_id == period_id)).all()}
    seen = set()
    for pool in rated.pools:
        for member in pool.members:
            seen.add(member.cadre_id)
            row = rows.get(member.cadre_id)
            if row is None:
                row = RatingGrade(period_id=period_id, cadre_id=member.cadre_id,
                                  unit_id=pool.unit_id)
                ctx.session.add(row)
            row.unit_id = pool.unit_id
            if published:
                row.published_total, row.published_rank = member.total, member.rank
                row.published_grade = member.grade
                row.final_total = row.final_rank = row.final_grade = None
            else:
                row.final_total, row.final_rank = member.total, member.rank
                row.final_grade = member.grade
    if published:
        for cadre_id, row in rows.items():
            if cadre_id not in seen:
                ctx.session.delete(row)


# -- reads ------------------------------------------------------------------------------------


def run_of(session: Session, period_id: int, *, for_update: bool = False) -> RatingRun | None:
    query = select(RatingRun).where(RatingRun.period_id == period_id)
    return session.exec(query.with_for_update() if for_update else query).first()


def grade_of(session: Session, period_id: int, cadre_id: int) -> RatingGrade | None:
    return session.exec(select(RatingGrade).where(
        RatingGrade.period_id == period_id, RatingGrade.cadre_id == cadre_id)).first()


def objection_of(session: Session, period_id: int, cadre_id: int) -> Objection | None:
    return session.exec(select(Objection).where(
        Objection.period_id == period_id, Objection.cadre_id == cadre_id)).first()


def objections(session: Session, period_id: int) -> list[Objection]:
    """The period's objections, open ones first, each group oldest first."""
    return list(session.exec(
        select(Objection).where(Objection.period_id == period_id)
        .order_by(col(Objection.state) != OPEN, col(Objection.lodged_at), col(Objection.id))
    ).all())


def open_objections(session: Session, period_id: int) -> list[Objection]:
    return [o for o in objections(session, period_id) if o.state == OPEN]


def count_objections(session: Session, period_id: int) -> dict[str, int]:
    rows = session.exec(select(Objection.state, func.count()).where(
        Objection.period_id == period_id).group_by(col(Objection.state))).all()
    return {state: int(count) for state, count in rows}
