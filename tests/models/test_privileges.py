"""Privileges over time, on both databases: nobody decides on their own facts; delegations are
bounded, revocable and count only while the supervisor still holds the right; supervisions end
when revoked or when the supervisor moves; a deactivated cadre's rights end with them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import col, select

from models import org
from models.admin import delegate_review, set_boost, set_difficulty
from models.errors import Refused
from models.innovation import approve_claim, claim_innovation
from models.privileges import (
    deactivate_cadre,
    delegations,
    revoke_delegation,
    revoke_supervision,
)
from models.ranks import ranked
from models.reports import approve_report, pending_for, submit_report
from models.standings import check, refresh_all
from models.store import Store
from models.tables import AuditEntry, Cadre, Standing, Supervision, Unit
from tests.conftest import FakeClock
from tests.support.snapshot import audit_actions, refused_without_change
from tests.support.world import World, build_world

TODAY = date(2026, 6, 15)  # the clock fixture's day in Asia/Shanghai


@pytest.fixture
def world(store: Store) -> World:
    return build_world(store)


def _refused(store: Store, code: str, action: Callable[[], object]) -> Refused:
    return refused_without_change(store.engine, code, action)


def _do(store: Store, operation: Callable[..., object], *args: object, **kw: object) -> object:
    with store.transaction() as ctx:
        return operation(ctx, *args, **kw)


def _attempt(store: Store, operation: Callable[..., object], *args: object,
             **kw: object) -> Callable[[], object]:
    return lambda: _do(store, operation, *args, **kw)


def _second_admin(store: Store, world: World) -> int:
    with store.transaction() as ctx:
        other = org.add_cadre(ctx, None, code="A002", name="第二管理员", unit=world.city,
                              is_admin=True)
        ctx.session.flush()
        return other.id or 0


def _submit(store: Store, who: int, task: int, progress: Decimal) -> int:
    with store.transaction() as ctx:
        report = submit_report(ctx, who, task, progress=progress)
        ctx.session.flush()
        return report.id or 0


def _last_refusal(store: Store) -> AuditEntry:
    with store.session() as session:
        entry = session.exec(select(AuditEntry).where(
            col(AuditEntry.action).startswith("refused.")).order_by(
                col(AuditEntry.id).desc())).first()
        assert entry is not None
        return entry


# -- nobody decides on their own facts ------------------------------------------------------


def test_an_admin_may_not_approve_their_own_innovation_claim(store: Store, world: World) -> None:
    with store.transaction() as ctx:
        claim = claim_innovation(ctx, world.id.admin, "commendation", "region", "自己获表彰")
        ctx.session.flush()
        claim_id = claim.id
    _refused(store, "own_claim", _attempt(store, approve_claim, world.id.admin, claim_id))
    refusal = _last_refusal(store)
    assert (refusal.action, refusal.actor_id, refusal.entity_id) == (
        "refused.own_claim", world.id.admin, claim_id)
    _do(store, approve_claim, _second_admin(store, world), claim_id)  # another admin may
    with store.session() as session:
        standing = session.exec(select(Standing).where(Standing.cadre_id == world.id.admin)).one()
        assert standing.innovation > 0


def test_an_admin_may_not_review_a_report_on_their_own_task(store: Store, world: World) -> None:
    with store.transaction() as ctx:
        period = ctx.session.get(type(world.year), world.id.year)
        admin = ctx.session.get(Cadre, world.id.admin)
        task = org.add_task(ctx, None, period=period, code="AT1", title="考核办自身任务",  # type: ignore[arg-type]
                            dimension="basic", category="business", weight=Decimal(10),
                            cadre=admin, source="city_report")
        ctx.session.flush()
        task_id = task.id or 0
    report = _submit(store, world.id.admin, task_id, progress=Decimal(90))
    _refused(store, "own_report", _attempt(store, approve_report, world.id.admin, report, "A"))
    assert _last_refusal(store).action == "refused.own_report"  # audited, as any attempt
    with store.transaction() as ctx:
        assert report not in [r.id for r in pending_for(ctx, world.id.admin)]
    _do(store, approve_report, _second_admin(store, world), report, "A")


def test_an_admin_may_not_boost_or_rate_the_difficulty_of_what_counts_for_them(
    store: Store, world: World,
) -> None:
    other = _second_admin(store, world)
    with store.transaction() as ctx:
        period = ctx.session.get(type(world.year), world.id.year)
        admin = ctx.session.get(Cadre, world.id.admin)
        own = org.add_task(ctx, None, period=period, code="AT2", title="考核办重点任务",  # type: ignore[arg-type]
                           dimension="key", category="business", weight=Decimal(10),
                           cadre=admin, source="region")
        unit_task = org.add_task(ctx, None, period=period, code="AU1", title="考核办单位任务",  # type: ignore[arg-type]
                                 dimension="key", category="business", weight=Decimal(10),
                                 unit=world.office_admin, source="region")
        ctx.session.flush()
        refresh_all(ctx, period)  # type: ignore[arg-type]
        own_id, unit_id = own.id, unit_task.id
    for task_id in (own_id, unit_id):
        _refused(store, "own_task",
                 _attempt(store, set_boost, world.id.admin, task_id, Decimal("0.15")))
        _refused(store, "own_task",
                 _attempt(store, set_difficulty, world.id.admin, task_id, Decimal("1.1")))
    assert _last_refusal(store).action == "refused.own_task"
    _do(store, set_boost, other, own_id, Decimal("0.15"))
    _do(store, set_difficulty, world.id.admin, world.id.carol_task, Decimal("1.1"))  # not theirs
    with store.session() as session:
        assert check(session, store.rules, world.year) == []


# -- delegations: bounded, revocable, checked when used --------------------------------------


def test_delegation_dates_are_bounded(store: Store, world: World) -> None:
    boss, deputy = world.id.boss, world.id.deputy
    _refused(store, "delegation_backdated", _attempt(
        store, delegate_review, boss, deputy, TODAY - timedelta(days=1), TODAY))
    _refused(store, "delegation_too_long", _attempt(
        store, delegate_review, boss, deputy, TODAY, date(2152, 6, 15)))  # 126 years
    _refused(store, "delegation_too_long", _attempt(
        store, delegate_review, boss, deputy, TODAY, TODAY + timedelta(days=90)))  # 91 days
    _refused(store, "delegation_too_long", _attempt(
        store, delegate_review, boss, deputy, TODAY, TODAY + timedelta(days=7), max_days=7))
    _do(store, delegate_review, boss, deputy, TODAY, TODAY + timedelta(days=89))  # 90 days


def _delegated_report(store: Store, world: World) -> tuple[int, int]:
    """The boss delegates to the deputy for a week; alice submits. (delegation, report)"""
    with store.transaction() as ctx:
        delegation = delegate_review(ctx, world.id.boss, world.id.deputy, TODAY,
                                     TODAY + timedelta(days=6))
        ctx.session.flush()
        delegation_id = delegation.id or 0
    report = _submit(store, world.id.alice, world.id.alice_plain, progress=Decimal(80))
    with store.transaction() as ctx:
        assert [r.id for r in pending_for(ctx, world.id.deputy)] == [report]
    return delegation_id, report


def _delegate_has_lost_it(store: Store, world: World, report: int) -> None:
    _refused(store, "forbidden", _attempt(store, approve_report, world.id.deputy, report, "A"))
    with store.transaction() as ctx:
        assert pending_for(ctx, world.id.deputy) == []


def test_a_deactivated_supervisors_delegate_may_not_approve(store: Store, world: World) -> None:
    _delegation, report = _delegated_report(store, world)
    _do(store, deactivate_cadre, world.id.admin, world.id.boss)
    _delegate_has_lost_it(store, world, report)
    _do(store, approve_report, world.id.mayor, report, "A")  # the supervisor above still may


def test_a_revoked_delegation_stops_counting(store: Store, world: World) -> None:
    delegation, report = _delegated_report(store, world)
    _refused(store, "forbidden", _attempt(store, revoke_delegation, world.id.alice, delegation))
    _do(store, revoke_delegation, world.id.boss, delegation)
    _delegate_has_lost_it(store, world, report)
    _refused(store, "delegation_revoked",
             _attempt(store, revoke_delegation, world.id.admin, delegation))
    assert "delegation.revoke" in audit_actions(store.engine)
    with store.session() as session:
        assert delegations(session, TODAY, supervisor_id=world.id.boss) == []
        listed = delegations(session, TODAY, ended_too=True)
        assert [(d.id, d.delegate, d.state(TODAY)) for d in listed] == [
            (delegation, "副镇长", "revoked")]


def test_an_admin_may_revoke_a_delegation(store: Store, world: World) -> None:
    delegation, report = _delegated_report(store, world)
    _do(store, revoke_delegation, world.id.admin, delegation)
    _delegate_has_lost_it(store, world, report)


def test_a_supervisor_moved_to_another_unit_no_longer_supervises_the_old_one(
    store: Store, world: World,
) -> None:
    _delegation, report = _delegated_report(store, world)
    with store.transaction() as ctx:
        boss = ctx.session.get(Cadre, world.id.boss)
        bureau = ctx.session.get(type(world.bureau), world.id.bureau)
        assert boss is not None and bureau is not None
        org.update_cadre(ctx, None, boss, name=boss.name, unit=bureau, post_category=None,
                         profile=boss.profile, is_admin=False, locale=None)
    _refused(store, "forbidden", _attempt(store, approve_report, world.id.boss, report, "A"))
    _delegate_has_lost_it(store, world, report)
    with store.session() as session:
        assert session.exec(select(Supervision).where(
            Supervision.cadre_id == world.id.boss)).all() == []
        ended = session.exec(select(AuditEntry).where(
            AuditEntry.action == "supervision.end")).one()
        assert (ended.cadre_id, ended.unit_id, ended.after) == (
            world.id.boss, world.id.township, {"why": "moved"})


def test_an_admin_revokes_a_supervision(store: Store, world: World) -> None:
    _delegation, report = _delegated_report(store, world)
    _refused(store, "forbidden", _attempt(
        store, revoke_supervision, world.id.mayor, world.id.boss, world.id.township))
    _do(store, revoke_supervision, world.id.admin, world.id.boss, world.id.township)
    _refused(store, "forbidden", _attempt(store, approve_report, world.id.boss, report, "A"))
    _delegate_has_lost_it(store, world, report)
    _refused(store, "not_supervising", _attempt(
        store, revoke_supervision, world.id.admin, world.id.boss, world.id.township))


def test_deactivating_a_cadre_ends_their_rights_and_their_place_in_the_ranks(
    store: Store, world: World, clock: FakeClock,
) -> None:
    with store.transaction() as ctx:
        refresh_all(ctx, world.year)
    for who, task in ((world.id.alice, world.id.alice_plain), (world.id.bob, world.id.bob_task)):
        _do(store, approve_report, world.id.boss, _submit(store, who, task,
                                                          progress=Decimal(60)), "A")
    _refused(store, "forbidden", _attempt(store, deactivate_cadre, world.id.boss, world.id.alice))
    _refused(store, "deactivate_self",
             _attempt(store, deactivate_cadre, world.id.admin, world.id.admin))
    _do(store, deactivate_cadre, world.id.admin, world.id.alice)
    with store.session() as session:
        assert session.exec(select(Standing).where(Standing.cadre_id == world.id.alice)).all() \
            == []
        assert check(session, store.rules, world.year) == []
        bob = session.exec(select(Standing).where(Standing.cadre_id == world.id.bob)).one()
        assert ranked(session, bob).rank_in_unit == 1
    _refused(store, "unknown_actor", _attempt(
        store, submit_report, world.id.alice, world.id.alice_key, actual=Decimal(3)))
    _refused(store, "cadre_inactive",
             _attempt(store, deactivate_cadre, world.id.admin, world.id.alice))
    # A later change to one of her tasks does not bring her standing back.
    _do(store, set_boost, world.id.admin, world.id.alice_key, Decimal("0.15"))
    with store.session() as session:
        assert check(session, store.rules, world.year) == []


def test_a_roster_that_moves_a_supervisor_ends_what_they_supervised(store: Store) -> None:
    from tests.excel.support import fill_template
    from tests.excel.test_round_trip import ROSTER
    from ui import excel_jobs

    excel_jobs.import_file(store, fill_template(store, "roster", ROSTER))  # B001 supervises xz
    people = [ROSTER["干部"][0], ("B001", "刘志刚", "khb", None, None, None, None),
              *ROSTER["干部"][2:]]
    # Moved to 考核办; the file's 分管关系 now names what he supervises there.
    excel_jobs.import_file(store, fill_template(store, "roster", {
        **ROSTER, "干部": people, "分管关系": [("B001", "khb")]}))
    with store.session() as session:
        units = {u.id: u.code for u in session.exec(select(Unit)).all()}
        boss = session.exec(select(Cadre).where(Cadre.code == "B001")).one()
        held = session.exec(select(Supervision).where(Supervision.cadre_id == boss.id)).all()
        ended = session.exec(select(AuditEntry).where(
            AuditEntry.action == "supervision.end")).all()
    assert [units[link.unit_id] for link in held] == ["khb"]
    assert [(units[e.unit_id or 0], e.after) for e in ended] == [("xz", {"why": "moved"})]
