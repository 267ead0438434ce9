"""Innovation claims, co-operation, admin changes, invites, recurrence, decomposition, check."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from models import org
from models.admin import activate_period, set_boost, set_difficulty
from models.cooperation import confirm_cooperation
from models.errors import Refused
from models.innovation import approve_claim, claim_innovation, reject_claim
from models.invites import issue_invite, redeem_invite
from models.reports import approve_report, submit_report
from models.standings import check, refresh_all
from models.store import Store
from models.tables import Cadre, Cooperation, Standing, Task
from tests.support.snapshot import audit_actions, refused_without_change
from tests.support.world import World, build_world


@pytest.fixture
def world(store: Store) -> World:
    return build_world(store)


def _report_and_approve(store: Store, who: int, task: int, reviewer: int, grade: str, *,
                        progress: Decimal | None = None, actual: Decimal | None = None) -> None:
    with store.transaction() as ctx:
        report = submit_report(ctx, who, task, progress=progress, actual=actual)
        ctx.session.flush()
        report_id = report.id
    assert report_id is not None
    with store.transaction() as ctx:
        approve_report(ctx, reviewer, report_id, grade)


def _total(store: Store, *, cadre: int | None = None, unit: int | None = None) -> Standing:
    with store.session() as session:
        query = select(Standing).where(
            Standing.cadre_id == cadre if cadre is not None else Standing.unit_id == unit)
        return session.exec(query).one()


def _refused(store: Store, code: str, action: Callable[[], object]) -> Refused:
    return refused_without_change(store.engine, code, action)


# -- innovation -------------------------------------------------------------------------


def test_innovation_claim_is_capped_and_scaled_by_profile(store: Store, world: World) -> None:
    claims = []
    for kind, level in (("commendation", "region"), ("reform", "national"), ("experience", "city")):
        with store.transaction() as ctx:
            claim = claim_innovation(ctx, world.id.bob, kind, level, "获自治区表彰")
            ctx.session.flush()
            assert claim.id is not None
            claims.append(claim.id)
    with store.transaction() as ctx:
        approve_claim(ctx, world.id.admin, claims[0])  # 4 points x 1.25 (growth) = 5
    assert _total(store, cadre=world.id.bob).innovation == Decimal("5.00")
    with store.transaction() as ctx:
        approve_claim(ctx, world.id.admin, claims[1])  # 4 + 5 = 9 x 1.25 = 11.25 -> cap 10
    assert _total(store, cadre=world.id.bob).innovation == Decimal("10.00")
    with store.transaction() as ctx:
        reject_claim(ctx, world.id.admin, claims[2], "证明材料不足")
    assert _total(store, cadre=world.id.bob).total == Decimal("10.00")


def test_innovation_refusals(store: Store, world: World) -> None:
    def unknown() -> None:
        with store.transaction() as ctx:
            claim_innovation(ctx, world.id.bob, "prize", "city", "x")

    _refused(store, "unknown_innovation", unknown)
    with store.transaction() as ctx:
        claim = claim_innovation(ctx, world.id.bob, "reform", "city", "改革")
        ctx.session.flush()
        claim_id = claim.id

    def by_supervisor() -> None:
        with store.transaction() as ctx:
            approve_claim(ctx, world.id.boss, claim_id or 0)

    _refused(store, "forbidden", by_supervisor)


# -- co-operation ("1+N") ------------------------------------------------------------------


def test_confirmed_cooperation_credits_the_cooperating_unit(store: Store, world: World) -> None:
    with store.session() as session:
        cooperation = session.exec(select(Cooperation)).one()

    def by_outsider() -> None:
        with store.transaction() as ctx:
            confirm_cooperation(ctx, world.id.boss, cooperation.id or 0)

    _refused(store, "forbidden", by_outsider)
    with store.transaction() as ctx:
        confirm_cooperation(ctx, world.id.chief, cooperation.id or 0)
    # share 0.5 on a region task (1.2): 0.1 + 0.2 x 0.5 x (1.2 - 0.8) / 0.4 = 0.2
    township = _total(store, unit=world.id.township)
    assert (township.collaboration, township.total) == (Decimal("0.20"), Decimal("0.20"))

    def twice() -> None:
        with store.transaction() as ctx:
            confirm_cooperation(ctx, world.id.chief, cooperation.id or 0)

    _refused(store, "already_confirmed", twice)


# -- decomposed unit task ------------------------------------------------------------------


def test_unit_task_progress_comes_from_its_parts(store: Store, world: World) -> None:
    with store.transaction() as ctx:
        parent = ctx.session.get(Task, world.id.unit_task)
        chief = ctx.session.get(Cadre, world.id.chief)
        carol = ctx.session.get(Cadre, world.id.carol)
        assert parent and chief and carol
        parts = [
            org.add_task(ctx, None, period=world.year, code=f"U1-{c.code}", title="宣讲分解",
                         dimension="key", category="business", weight=Decimal(5), cadre=c,
                         source="region", parent=parent)
            for c in (chief, carol)
        ]
        ctx.session.flush()
        part_ids = [p.id or 0 for p in parts]
    _report_and_approve(store, world.id.carol, part_ids[1], world.id.chief, "A",
                        progress=Decimal(100))
    # One part of two done at 100 % A: the bureau's task is half done; its only task, x 1.2.
    assert _total(store, unit=world.id.bureau).total == Decimal("60.00")


# -- admin changes ---------------------------------------------------------------------------


def test_boost_and_difficulty_recompute_and_are_admin_only(store: Store, world: World) -> None:
    _report_and_approve(store, world.id.alice, world.id.alice_plain, world.id.boss, "A",
                        progress=Decimal(100))
    _report_and_approve(store, world.id.alice, world.id.alice_key, world.id.boss, "A",
                        actual=Decimal(12))
    assert _total(store, cadre=world.id.alice).total == Decimal("96.00")  # 60 + 30 x 1.2

    def by_supervisor() -> None:
        with store.transaction() as ctx:
            set_boost(ctx, world.id.boss, world.id.alice_key, Decimal("0.15"))

    _refused(store, "forbidden", by_supervisor)

    def on_basic_task() -> None:
        with store.transaction() as ctx:
            set_boost(ctx, world.id.admin, world.id.alice_plain, Decimal("0.15"))

    _refused(store, "boost_key_only", on_basic_task)

    def too_much() -> None:
        with store.transaction() as ctx:
            set_boost(ctx, world.id.admin, world.id.alice_key, Decimal("0.25"))

    _refused(store, "boost_out_of_range", too_much)
    with store.transaction() as ctx:
        set_boost(ctx, world.id.admin, world.id.alice_key, Decimal("0.20"))
    # Key task 30 -> 36; the 6 come from the basic donors in proportion: T1 60 -> 54.857…,
    # T3 10 -> 9.142…; total 54.857… + 36 x 1.2 = 98.057…
    boosted = _total(store, cadre=world.id.alice)
    assert boosted.breakdown[str(world.id.alice_key)]["weight"] == "36.00"
    assert boosted.breakdown[str(world.id.alice_plain)]["weight"] == "54.86"
    assert boosted.total == Decimal("98.06")

    def too_hard() -> None:
        with store.transaction() as ctx:
            set_difficulty(ctx, world.id.admin, world.id.alice_plain, Decimal("1.3"))

    _refused(store, "difficulty_out_of_range", too_hard)
    with store.transaction() as ctx:
        set_difficulty(ctx, world.id.admin, world.id.alice_plain, Decimal("1.1"))
    assert _total(store, cadre=world.id.alice).total == Decimal("103.54")  # 54.857… x 1.1 + 43.2
    assert audit_actions(store.engine)[-1] == "task.difficulty"


def test_activating_a_period_is_admin_only(store: Store, world: World) -> None:
    with store.transaction() as ctx:
        q1 = org.add_period(ctx, None, code="2026Q1", name="2026年第一季度", kind="quarter",
                            starts_on=world.year.starts_on,
                            ends_on=world.year.starts_on + timedelta(days=89), parent=world.year)
        ctx.session.flush()
        q1_id = q1.id or 0

    def by_cadre() -> None:
        with store.transaction() as ctx:
            activate_period(ctx, world.id.alice, q1_id)

    _refused(store, "forbidden", by_cadre)
    with store.transaction() as ctx:
        activate_period(ctx, world.id.admin, q1_id)
        ctx.session.flush()
        assert ctx.session.get(type(world.year), world.id.year).is_active is False  # type: ignore[union-attr]


# -- invites --------------------------------------------------------------------------------


def test_invite_binds_once_and_expires(store: Store, world: World, clock) -> None:  # type: ignore[no-untyped-def]
    with store.transaction() as ctx:
        invite = issue_invite(ctx, world.id.admin, world.id.alice, ttl_days=14)
        other = issue_invite(ctx, world.id.admin, world.id.bob, ttl_days=1)
        codes = (invite.code, other.code)

    def redeem(code: str, telegram_id: int):  # type: ignore[no-untyped-def]
        def run() -> None:
            with store.transaction() as ctx:
                redeem_invite(ctx, code, telegram_id)
        return run

    # A failed redemption changes nothing but the audit log and the account's failure count.
    counted = ("audit_entry", "invite_failure")
    refused_without_change(store.engine, "invite_unknown", redeem("NOSUCHCODE", 7001),
                           skip=counted)
    redeem(codes[0].lower(), 7001)()  # typed in lower case on a phone: still accepted
    with store.session() as session:
        assert session.get(Cadre, world.id.alice).telegram_user_id == 7001  # type: ignore[union-attr]
    refused_without_change(store.engine, "invite_used", redeem(codes[0], 7002), skip=counted)
    _refused(store, "telegram_already_bound", redeem(codes[1], 7001))
    clock.advance(days=2)
    refused_without_change(store.engine, "invite_expired", redeem(codes[1], 7003),
                           skip=counted)

    def by_cadre() -> None:
        with store.transaction() as ctx:
            issue_invite(ctx, world.id.alice, world.id.bob)

    _refused(store, "forbidden", by_cadre)


# -- check -----------------------------------------------------------------------------------


def test_check_is_clean_after_operations_and_finds_tampering(store: Store, world: World) -> None:
    _report_and_approve(store, world.id.alice, world.id.alice_plain, world.id.boss, "B",
                        progress=Decimal("77.77"))
    with store.transaction() as ctx:
        refresh_all(ctx, world.year)
    with store.session() as session:
        assert check(session, store.rules, world.year) == []
    with store.transaction() as ctx:
        row = ctx.session.exec(select(Standing).where(Standing.cadre_id == world.id.bob)).one()
        row.total = Decimal("99.99")
    with store.session() as session:
        differences = check(session, store.rules, world.year)
    assert [(d.assessee, d.field, d.stored, d.computed) for d in differences] == [
        (f"cadre:{world.id.bob}", "total", "99.99", "0.00")]
