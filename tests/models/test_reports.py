"""Reports through their life cycle on SQLite and PostgreSQL: scores, ranks, audit, outbox,
refusals."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import col, select

from models.errors import Forbidden, Refused
from models.ranks import RankedStanding, ranked
from models.reports import (
    approve_report,
    pending_for,
    reject_report,
    return_report,
    save_draft,
    submit_report,
)
from models.store import Store
from models.tables import OutboxMessage, Report, Standing
from tests.support.snapshot import audit_actions, refused_without_change, snapshot
from tests.support.world import World, build_world


@pytest.fixture
def world(store: Store) -> World:
    return build_world(store)


def _submit(store: Store, who: int, task: int, **kw: Any) -> int:
    with store.transaction() as ctx:
        report = submit_report(ctx, who, task, **kw)
        ctx.session.flush()
        assert report.id is not None
        return report.id


def _approve(store: Store, who: int, report: int, grade: str) -> None:
    with store.transaction() as ctx:
        approve_report(ctx, who, report, grade)


def _standing(store: Store, cadre_id: int) -> RankedStanding:
    with store.session() as session:
        row = session.exec(select(Standing).where(Standing.cadre_id == cadre_id)).one()
        return ranked(session, row)


def _refused_without_change(store: Store, action: Callable[[], object], code: str) -> Refused:
    return refused_without_change(store.engine, code, action)


def test_approval_updates_score_and_rank_before_commit_returns(store: Store, world: World) -> None:
    # Alice (core post, 60/40): T1 business basic gets 60 of the 100 weight.
    report = _submit(store, world.id.alice, world.id.alice_plain, progress=Decimal("80"))
    _approve(store, world.id.boss, report, "A")
    mine = _standing(store, world.id.alice)
    assert (mine.base, mine.total, mine.key_points) == (
        Decimal("48.00"), Decimal("48.00"), Decimal(0))
    assert mine.breakdown[str(world.id.alice_plain)]["weight"] == "60.00"
    assert mine.rank_in_unit == 1

    # T2: key, region 1.2, numeric target 12 场: 6 done is 50 %, grade B -> 30 x 45 % x 1.2.
    report = _submit(store, world.id.alice, world.id.alice_key, actual=Decimal(6))
    _approve(store, world.id.boss, report, "B")
    mine = _standing(store, world.id.alice)
    assert (mine.base, mine.key_points, mine.total) == (
        Decimal("64.20"), Decimal("16.20"), Decimal("64.20"))

    # T3 is monthly: one month of twelve done at 100 % is 1/12 of the task: 10 x 8.33 % x 0.9.
    report = _submit(store, world.id.alice, world.id.alice_monthly, progress=Decimal(100))
    _approve(store, world.id.boss, report, "A")
    mine = _standing(store, world.id.alice)
    assert mine.total == Decimal("64.95")
    with store.session() as session:
        stored = session.get(Report, report)
        assert stored is not None and stored.occurrence == "2026-06"  # the clock's month


def test_ranks_follow_every_approval(store: Store, world: World) -> None:
    bob_report = _submit(store, world.id.bob, world.id.bob_task, progress=Decimal(50))
    _approve(store, world.id.boss, bob_report, "A")  # bob: 100 x 50 % x 1.1 = 55
    alice_report = _submit(store, world.id.alice, world.id.alice_plain, progress=Decimal(80))
    _approve(store, world.id.boss, alice_report, "A")  # alice: 48
    assert (_standing(store, world.id.bob).rank_in_unit,
            _standing(store, world.id.alice).rank_in_unit) == (1, 2)
    second = _submit(store, world.id.alice, world.id.alice_key, actual=Decimal(12))
    _approve(store, world.id.boss, second, "A")  # +36 -> 84
    assert (_standing(store, world.id.alice).rank_in_unit,
            _standing(store, world.id.bob).rank_in_unit) == (1, 2)


def test_submission_audits_and_notifies_the_supervisor(store: Store, world: World) -> None:
    with store.transaction() as ctx:
        ctx.session.get(type(world.boss), world.id.boss).telegram_user_id = 5001  # type: ignore[union-attr]
    report = _submit(store, world.id.alice, world.id.alice_plain, progress=Decimal(30),
                     note="  已完成三项 ", evidence=[{"file_id": "F1", "kind": "photo"}])
    with store.session() as session:
        saved = session.get(Report, report)
        assert saved is not None
        assert (saved.state, saved.note, saved.evidence) == (
            "submitted", "已完成三项", [{"file_id": "F1", "kind": "photo"}])
        queued = session.exec(select(OutboxMessage)).all()
    assert [(m.kind, m.chat_id, m.payload) for m in queued] == [
        ("review_request", 5001, {"report_id": report})]
    assert audit_actions(store.engine)[-1] == "report.submit"


def test_cadre_is_told_the_outcome_with_new_score(store: Store, world: World) -> None:
    with store.transaction() as ctx:
        ctx.session.get(type(world.alice), world.id.alice).telegram_user_id = 6001  # type: ignore[union-attr]
    report = _submit(store, world.id.alice, world.id.alice_plain, progress=Decimal(100))
    _approve(store, world.id.boss, report, "B")
    with store.session() as session:
        told = session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "report_decided")
        ).one()
    assert told.chat_id == 6001
    assert told.payload == {"report_id": report, "state": "approved", "total": "54.00",
                            "rank_in_unit": 1, "rank_in_post": 1}


@pytest.mark.parametrize("progress, code", [
    (Decimal(150), "progress_out_of_range"),
    (Decimal(-1), "progress_out_of_range"),
    (Decimal("33.333"), "too_precise"),
    (Decimal("80." + "0" * 40 + "1"), "too_precise"),  # past 28 digits: not rounded to 80
    (Decimal("NaN"), "progress_out_of_range"),
])
def test_bad_progress_is_refused_and_changes_nothing(
    store: Store, world: World, progress: Decimal, code: str
) -> None:
    _refused_without_change(
        store,
        lambda: _submit(store, world.id.alice, world.id.alice_plain, progress=progress),
        code,
    )


def test_trailing_zeros_are_not_decimal_places(store: Store, world: World) -> None:
    """80.000 is 80: two places allowed, none used (it was refused as too precise)."""
    report = _submit(store, world.id.alice, world.id.alice_plain, progress=Decimal("80.000"))
    with store.session() as session:
        assert session.get(Report, report).progress == Decimal(80)  # type: ignore[union-attr]


def test_numeric_task_needs_a_count(store: Store, world: World) -> None:
    _refused_without_change(
        store, lambda: _submit(store, world.id.alice, world.id.alice_key, progress=Decimal(50)),
        "actual_required")


def test_reporting_on_someone_elses_task_is_refused_and_audited(store: Store, world: World) -> None:
    before = snapshot(store.engine)
    with pytest.raises(Forbidden):
        _submit(store, world.id.bob, world.id.alice_plain, progress=Decimal(10))
    assert snapshot(store.engine) == before
    assert audit_actions(store.engine)[-1] == "refused.forbidden"


def test_one_submission_waits_at_a_time(store: Store, world: World) -> None:
    _submit(store, world.id.alice, world.id.alice_plain, progress=Decimal(10))
    _refused_without_change(
        store, lambda: _submit(store, world.id.alice, world.id.alice_plain, progress=Decimal(20)),
        "already_waiting")


def test_only_supervisors_of_the_unit_or_above_may_decide(store: Store, world: World) -> None:
    report = _submit(store, world.id.alice, world.id.alice_plain, progress=Decimal(80))
    # The veterans' bureau chief supervises another branch of the tree.
    refusal = _refused_without_change(store, lambda: _approve(store, world.id.chief, report, "A"),
                                      "forbidden")
    assert refusal.audit
    assert audit_actions(store.engine)[-1] == "refused.forbidden"
    # The mayor supervises the city, an ancestor of the office: allowed.
    _approve(store, world.id.mayor, report, "A")
    assert _standing(store, world.id.alice).total == Decimal("48.00")


def test_admin_may_decide(store: Store, world: World) -> None:
    report = _submit(store, world.id.alice, world.id.alice_plain, progress=Decimal(80))
    _approve(store, world.id.admin, report, "C")
    assert _standing(store, world.id.alice).total == Decimal("36.00")


def test_second_decision_is_refused_naming_who_decided(store: Store, world: World) -> None:
    report = _submit(store, world.id.alice, world.id.alice_plain, progress=Decimal(80))
    _approve(store, world.id.boss, report, "A")
    refusal = _refused_without_change(store, lambda: _approve(store, world.id.mayor, report, "B"),
                                      "already_decided")
    assert refusal.params["by"] == world.boss.name
    assert _standing(store, world.id.alice).total == Decimal("48.00")


def test_nobody_reviews_their_own_report(store: Store, world: World) -> None:
    with store.transaction() as ctx:
        from models import org

        task = org.add_task(ctx, None, period=world.year, code="BT", title="镇领导任务",
                            dimension="basic", category="business", weight=Decimal(1),
                            cadre=world.boss, source="city_report")
        ctx.session.flush()
        task_id = task.id
    assert task_id is not None
    report = _submit(store, world.id.boss, task_id, progress=Decimal(100))
    with store.transaction() as ctx:
        ctx.session.get(type(world.boss), world.id.boss).is_admin = True  # type: ignore[union-attr]
    _refused_without_change(store, lambda: _approve(store, world.id.boss, report, "A"),
                            "own_report")


def test_unknown_grade_is_refused(store: Store, world: World) -> None:
    report = _submit(store, world.id.alice, world.id.alice_plain, progress=Decimal(80))
    _refused_without_change(store, lambda: _approve(store, world.id.boss, report, "E"),
                            "unknown_grade")


def test_return_and_reject_need_a_reason_and_leave_the_score(store: Store, world: World) -> None:
    first = _submit(store, world.id.alice, world.id.alice_plain, progress=Decimal(80))

    def no_reason() -> None:
        with store.transaction() as ctx:
            return_report(ctx, world.id.boss, first, "   ")

    _refused_without_change(store, no_reason, "reason_required")
    with store.transaction() as ctx:
        return_report(ctx, world.id.boss, first, "请补充照片")
    second = _submit(store, world.id.alice, world.id.alice_plain, progress=Decimal(85))
    with store.transaction() as ctx:
        reject_report(ctx, world.id.boss, second, "数据与台账不符")
    with store.session() as session:
        states = [(r.state, r.reason) for r in session.exec(
            select(Report).order_by(col(Report.id))).all()]
        standing = session.exec(select(Standing).where(Standing.cadre_id == world.id.alice)).first()
    assert states == [("returned", "请补充照片"), ("rejected", "数据与台账不符")]
    assert standing is None  # nothing approved, nothing scored yet


def test_delegate_reviews_only_on_the_delegated_dates(store: Store, world: World,
                                                      clock: Any) -> None:
    from models.admin import delegate_review

    with store.transaction() as ctx:
        delegate_review(ctx, world.id.boss, world.id.carol, date(2026, 6, 15), date(2026, 6, 20))
    report = _submit(store, world.id.alice, world.id.alice_plain, progress=Decimal(80))
    with store.transaction() as ctx:
        assert [r.id for r in pending_for(ctx, world.id.carol)] == [report]
    clock.advance(days=10)  # 2026-06-25: the delegation is over
    _refused_without_change(store, lambda: _approve(store, world.id.carol, report, "A"),
                            "forbidden")
    clock.advance(days=-10)
    _approve(store, world.id.carol, report, "A")


def test_locked_period_refuses_changes(store: Store, world: World) -> None:
    report = _submit(store, world.id.alice, world.id.alice_plain, progress=Decimal(80))
    with store.transaction() as ctx:
        ctx.session.get(type(world.year), world.id.year).locked = True  # type: ignore[union-attr]
    _refused_without_change(store, lambda: _approve(store, world.id.boss, report, "A"),
                            "period_locked")


def test_two_supervisors_tapping_at_once_leave_exactly_one_decision(
    store: Store, world: World
) -> None:
    report = _submit(store, world.id.alice, world.id.alice_plain, progress=Decimal(80))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def tap(who: int, grade: str) -> None:
        barrier.wait()
        try:
            _approve(store, who, report, grade)
            outcomes.append("approved:" + grade)
        except Refused as refusal:
            outcomes.append(refusal.code)

    threads = [threading.Thread(target=tap, args=(world.id.boss, "A")),
               threading.Thread(target=tap, args=(world.id.mayor, "D"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o.split(":")[0] for o in outcomes) == ["already_decided", "approved"]
    winner = next(o for o in outcomes if o.startswith("approved")).split(":")[1]
    with store.session() as session:
        saved = session.get(Report, report)
        assert saved is not None and saved.grade == winner
    assert audit_actions(store.engine).count("report.approved") == 1
    expected = {"A": Decimal("48.00"), "D": Decimal("24.00")}[winner]
    assert _standing(store, world.id.alice).total == expected


def test_a_draft_is_kept_updated_in_place_and_becomes_the_submission(
    store: Store, world: World
) -> None:
    with store.transaction() as ctx:
        first = save_draft(ctx, world.id.alice, world.id.alice_plain, note="写了一半")
        ctx.session.flush()
        draft_id = first.id
    with store.transaction() as ctx:
        again = save_draft(ctx, world.id.alice, world.id.alice_plain, progress=Decimal(40))
        assert again.id == draft_id  # one draft per task and occurrence, updated
    with store.session() as session:
        assert pending_for_ids(store, world.id.boss) == []  # a draft is nobody's to review
        assert session.get(Report, draft_id).state == "draft"  # type: ignore[union-attr]

    report = _submit(store, world.id.alice, world.id.alice_plain, progress=Decimal(60))
    assert report == draft_id
    with store.session() as session:
        row = session.get(Report, report)
        assert row is not None and (row.state, row.progress) == ("submitted", Decimal(60))
        assert len(session.exec(select(Report)).all()) == 1
    assert pending_for_ids(store, world.id.boss) == [report]
    assert audit_actions(store.engine)[-3:] == ["report.draft", "report.draft", "report.submit"]


def test_a_bad_draft_amount_or_someone_elses_task_is_refused(store: Store, world: World) -> None:
    def bad_amount() -> None:
        with store.transaction() as ctx:
            save_draft(ctx, world.id.alice, world.id.alice_plain, progress=Decimal(150))

    def not_mine() -> None:
        with store.transaction() as ctx:
            save_draft(ctx, world.id.bob, world.id.alice_plain, progress=Decimal(10))

    _refused_without_change(store, bad_amount, "progress_out_of_range")
    before = snapshot(store.engine)
    with pytest.raises(Forbidden):
        not_mine()
    assert snapshot(store.engine) == before
    assert audit_actions(store.engine)[-1] == "refused.forbidden"


def pending_for_ids(store: Store, reviewer: int) -> list[int]:
    with store.transaction() as ctx:
        return [r.id or 0 for r in pending_for(ctx, reviewer)]
