"""Once the rating is final the period is locked: every operation that changes its facts is
refused with "period_locked" and changes nothing, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from sqlmodel import select

from models import org, rating
from models.admin import set_boost, set_difficulty
from models.cooperation import confirm_cooperation
from models.innovation import approve_claim, claim_innovation, reject_claim
from models.reports import (
    approve_report,
    reject_report,
    return_report,
    save_draft,
    submit_report,
)
from models.store import Ctx, Store
from models.tables import Cooperation, Objection, Period
from tests.conftest import FakeClock
from tests.rating.support import RatingUnit
from tests.support.snapshot import refused_without_change
from tests.support.world import World


def test_every_change_to_a_locked_period_is_refused_and_changes_nothing(
    store: Store, world: World, rated: RatingUnit, clock: FakeClock
) -> None:
    admin, alice, bob = world.id.admin or 0, world.id.alice or 0, world.id.bob or 0
    # Things still waiting when the rating is finalised: a report, a claim, a co-operation.
    with store.transaction() as ctx:
        report = submit_report(ctx, alice, world.id.alice_plain or 0, progress=Decimal(50))
        claim = claim_innovation(ctx, bob, "reform", "city", "改革成效")
        cooperation = ctx.session.exec(select(Cooperation)).one()
        rating.publish(ctx, admin, world.id.year or 0, 1)
    with store.transaction() as ctx:
        objection = rating.lodge_objection(ctx, bob, world.id.year or 0, "请复核")
        rating.answer_objection(ctx, admin, objection.id or 0, False, "复核无误")
    clock.advance(days=1)
    with store.transaction() as ctx:
        rating.finalise(ctx, admin, world.id.year or 0)

    def year(ctx: Ctx) -> Period:
        found = ctx.session.get(Period, world.id.year)
        assert found is not None
        return found

    year_id = world.id.year or 0
    attempts: dict[str, Callable[[Ctx], object]] = {
        "save a draft": lambda ctx: save_draft(ctx, alice, world.id.alice_key or 0,
                                               actual=Decimal(3)),
        "submit a report": lambda ctx: submit_report(ctx, bob, world.id.bob_task or 0,
                                                     progress=Decimal(100)),
        "approve a report": lambda ctx: approve_report(ctx, admin, report.id or 0, "A"),
        "return a report": lambda ctx: return_report(ctx, admin, report.id or 0, "补充材料"),
        "reject a report": lambda ctx: reject_report(ctx, admin, report.id or 0, "不符"),
        "claim innovation": lambda ctx: claim_innovation(ctx, alice, "reform", "city", "新"),
        "approve a claim": lambda ctx: approve_claim(ctx, admin, claim.id or 0),
        "reject a claim": lambda ctx: reject_claim(ctx, admin, claim.id or 0, "不符"),
        "confirm a co-operation": lambda ctx: confirm_cooperation(ctx, world.id.chief or 0,
                                                                  cooperation.id or 0),
        "boost a key task": lambda ctx: set_boost(ctx, admin, world.id.alice_key or 0,
                                                  Decimal("0.15")),
        "set a difficulty": lambda ctx: set_difficulty(ctx, admin, world.id.alice_plain or 0,
                                                       Decimal("1.2")),
        "add a task": lambda ctx: org.add_task(
            ctx, None, period=year(ctx), code="NEW", title="新事项", dimension="basic",
            category="business", weight=Decimal(5), cadre=world.alice, source="city_report"),
        "add a co-operation": lambda ctx: org.add_cooperation(
            ctx, None, world.unit_task, world.office, Decimal("0.3")),
        "publish again": lambda ctx: rating.publish(ctx, admin, year_id, 5),
        "object": lambda ctx: rating.lodge_objection(ctx, alice, year_id, "晚到的异议"),
        "answer an objection": lambda ctx: rating.answer_objection(
            ctx, admin, objection.id or 0, True, "改判"),
        "finalise again": lambda ctx: rating.finalise(ctx, admin, year_id),
    }

    def attempt(operation: Callable[[Ctx], object]) -> None:
        with store.transaction() as ctx:
            operation(ctx)

    refusals = {}
    for name, operation in attempts.items():
        refusal = refused_without_change(store.engine, "period_locked",
                                         lambda op=operation: attempt(op))  # type: ignore[misc]
        refusals[name] = refusal.params["period"]
    assert refusals == {name: "2026" for name in attempts}
    with store.session() as session:
        assert session.get(Objection, objection.id).state == "dismissed"  # type: ignore[union-attr]
