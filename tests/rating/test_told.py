"""Who is told what: the 未参评 get no 公示 notice (nothing that says 不称职) and may not object;
every rated cadre is told the final grade when the office finalises, again after an unlock.
On SQLite and PostgreSQL."""

from __future__ import annotations

from sqlmodel import col, select

from models import rating
from models.store import Store
from models.tables import Cadre, OutboxMessage, RatingGrade
from tests.conftest import FakeClock
from tests.rating.support import RatingUnit
from tests.support.snapshot import refused_without_change
from tests.support.world import World


def _bind(store: Store, *cadres: Cadre) -> None:
    with store.transaction() as ctx:
        for number, cadre in enumerate(cadres, start=1):
            row = ctx.session.get(Cadre, cadre.id)
            assert row is not None
            row.telegram_user_id = 9000 + number


def _queued(store: Store, kind: str) -> list[int]:
    with store.session() as session:
        return sorted(m.recipient_id or 0 for m in session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == kind)).all())


def test_the_not_rated_get_no_notice_and_no_grade_and_cannot_object(
    store: Store, world: World, rated: RatingUnit
) -> None:
    _bind(store, world.mayor, rated.people["R1"])
    with store.transaction() as ctx:
        rating.publish(ctx, world.admin.id or 0, world.year.id or 0, 5)
    assert _queued(store, "rating_published") == [rated.people["R1"].id]
    with store.session() as session:
        graded = session.exec(select(RatingGrade.cadre_id)).all()
    assert world.mayor.id not in graded and rated.people["R1"].id in graded

    def object_() -> None:
        with store.transaction() as ctx:
            rating.lodge_objection(ctx, world.mayor.id or 0, world.year.id or 0, "为何不称职")

    refused_without_change(store.engine, "not_rated", object_)


def test_finalising_tells_every_rated_cadre_the_final_grade(
    store: Store, world: World, rated: RatingUnit, clock: FakeClock
) -> None:
    _bind(store, world.mayor, rated.people["R1"], rated.people["R5"])
    with store.transaction() as ctx:
        rating.publish(ctx, world.admin.id or 0, world.year.id or 0, 1)
    clock.advance(days=1)
    with store.transaction() as ctx:
        rating.finalise(ctx, world.admin.id or 0, world.year.id or 0)
    told = sorted([rated.people["R1"].id or 0, rated.people["R5"].id or 0])
    assert _queued(store, "rating_finalised") == told

    # Unlocked and finalised again: told again (the grade may have moved).
    with store.transaction() as ctx:
        rating.unlock(ctx, world.admin.id or 0, world.year.id or 0, "更正")
    clock.advance(hours=1)
    with store.transaction() as ctx:
        rating.finalise(ctx, world.admin.id or 0, world.year.id or 0)
    assert _queued(store, "rating_finalised") == sorted(told * 2)
    with store.session() as session:
        assert session.exec(select(OutboxMessage).where(
            col(OutboxMessage.recipient_id) == world.mayor.id)).all() == []
