"""The 优秀 line read from the stored standings (`pool_lines`, what 我的得分, the digests and the
dashboard show) is the line the rating draws from exact facts (`pools_of`), ties at the
boundary included, and it follows every approval at once (nothing is cached). On SQLite and
PostgreSQL; the world is tests/rating/support.py's (评定办: R2 and R3 tie on 92.00 at the
second and last slot, R2's higher base puts it inside).
"""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session, select

from models.insight import excellence_line as my_line
from models.rating_pools import excellence_line, pool_lines, pools_of
from models.reports import approve_report, submit_report
from models.store import Store
from models.tables import Period, Unit
from scoring.ranking import EXCELLENT
from tests.rating.support import RatingUnit
from tests.support.world import World


def _both(session: Session, store: Store, period: Period) -> list[tuple[object, object]]:
    """For every unit: what the rating gives, and what the stored standings give."""
    unit_ids = [u.id or 0 for u in session.exec(select(Unit)).all()]
    rated = pools_of(session, store.rules, period, unit_ids)
    read = pool_lines(session, store.rules, period, unit_ids)
    return [((r.name, r.difficulty, r.ratio, r.slots, r.excellent_min, excellence_line(r),
              {m.cadre_id: m.total for m in r.members},
              {m.cadre_id for m in r.members if m.grade == EXCELLENT}),
             (p.name, p.difficulty, p.ratio, p.slots, p.excellent_min, p.line, dict(p.totals),
              set(p.excellent)))
            for unit_id in unit_ids for r, p in [(rated[unit_id], read[unit_id])]]


def test_the_line_from_standings_is_the_ratings_line(store: Store, world: World,
                                                     rated: RatingUnit) -> None:
    with store.session() as session:
        period = session.get(Period, world.year.id)
        assert period is not None
        pairs = _both(session, store, period)
        assert all(rating == read for rating, read in pairs)
        pool = pool_lines(session, store.rules, period, [rated.unit.id or 0])[rated.unit.id or 0]
    # The tie on 92.00 is decided by the exact base, as in the rating: R2 in, R3 out.
    r2, r3 = (rated.people[code].id or 0 for code in ("R2", "R3"))
    assert (pool.slots, pool.line, pool.totals[r2], pool.totals[r3]) == (
        2, Decimal("92.00"), Decimal("92.00"), Decimal("92.00"))
    assert r2 in pool.excellent and r3 not in pool.excellent


def test_an_approval_that_moves_the_line_moves_it_at_once(store: Store, world: World,
                                                         rated: RatingUnit) -> None:
    r4, r5 = rated.people["R4"], rated.people["R5"]
    with store.session() as session:
        before = my_line(session, store.rules, world.year, r5)
    assert (before.line, before.to_line) == (Decimal("92.00"), Decimal("42.00"))

    # R4 (80.00) finishes the task at 100 % A: the two places go to R4 and R1 (95.00).
    with store.transaction() as ctx:
        report = submit_report(ctx, r4.id or 0, rated.tasks["R4"].id or 0,
                               progress=Decimal(100))
        approve_report(ctx, world.id.admin or 0, report.id or 0, "A")

    with store.session() as session:
        after = my_line(session, store.rules, world.year, r5)
        mine = my_line(session, store.rules, world.year, r4)
        period = session.get(Period, world.year.id)
        assert period is not None
        assert all(rating == read for rating, read in _both(session, store, period))
    assert (after.line, after.to_line) == (Decimal("95.00"), Decimal("45.00"))
    assert mine.inside and mine.to_line == Decimal("-5.00")
