"""A daily copy of every total and rank, so people can see how they moved since last week."""

from sqlmodel import col, select

from models.ranks import CADRE, UNIT, RankBook, kind_of
from models.store import Ctx
from models.tables import Period, Standing, StandingHistory


def record_day(ctx: Ctx, period: Period) -> int:
    """Copy today's standings of the period into the history (once a day); returns rows added."""
    today = ctx.today
    taken = ctx.session.exec(select(StandingHistory.id).where(
        StandingHistory.period_id == period.id, StandingHistory.taken_on == today
    )).first()
    if taken is not None:
        return 0
    rows = ctx.session.exec(select(Standing).where(Standing.period_id == period.id)
                            .order_by(col(Standing.id))).all()
    books = {kind: RankBook(ctx.session, period.id or 0, kind) for kind in (CADRE, UNIT)}
    for standing in rows:
        ranks = books[kind_of(standing)].ranks(standing.group_unit_id, standing.post_category,
                                               standing.total)
        ctx.session.add(StandingHistory(
            period_id=period.id or 0, cadre_id=standing.cadre_id, unit_id=standing.unit_id,
            taken_on=today, total=standing.total, rank_in_unit=ranks.in_unit,
            rank_in_post=ranks.in_post,
        ))
    return len(rows)
