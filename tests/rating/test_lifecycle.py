"""Publish for 公示, objections (one per cadre, only during publicity), an upheld one corrected
through an audited operation, a dismissed one, finalise (the period locks), unlock (audited)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import col, select

from models import org, rating
from models.admin import set_difficulty
from models.errors import Forbidden
from models.standings import check
from models.store import Store
from models.tables import AuditEntry, Objection, OutboxMessage, Period, RatingGrade, RatingRun
from tests.conftest import FakeClock
from tests.rating.support import RatingUnit
from tests.support.snapshot import audit_actions, refused_without_change
from tests.support.world import World


def _do(store: Store, operation: Callable[..., object], *args: object) -> object:
    with store.transaction() as ctx:
        return operation(ctx, *args)


def _publish(store: Store, world: World, days: int = 5) -> RatingRun:
    run = _do(store, rating.publish, world.id.admin, world.id.year, days)
    assert isinstance(run, RatingRun)
    return run


def _grades(store: Store, world: World) -> dict[str, tuple[object, ...]]:
    from models.tables import Cadre

    with store.session() as session:
        rows = session.exec(select(RatingGrade, Cadre).join(
            Cadre, col(Cadre.id) == RatingGrade.cadre_id).where(
            RatingGrade.period_id == world.id.year)).all()
    return {c.code: (g.published_grade, g.final_grade, g.final_total) for g, c in rows}


def _check_clean(store: Store, world: World) -> None:
    with store.session() as session:
        period = session.get(Period, world.id.year)
        assert period is not None
        assert check(session, store.rules, period) == []


def test_publish_stores_the_grades_and_tells_every_rated_cadre(
    store: Store, world: World, rated: RatingUnit
) -> None:
    run = _publish(store, world, days=5)
    assert (run.state, run.round, run.publicity_ends_on) == ("publicity", 1, date(2026, 6, 19))
    grades = _grades(store, world)
    assert [grades[c][0] for c in ("R1", "R2", "R3", "R4", "R5")] == [
        "excellent", "excellent", "competent", "competent", "incompetent"]
    assert all(final is None for _p, final, _t in grades.values())
    assert audit_actions(store.engine)[-1] == "rating.publish"
    # Only cadres with a Telegram account get a message; in this test nobody is bound yet.
    with store.session() as session:
        assert session.exec(select(OutboxMessage)).all() == []
    refused_without_change(store.engine, "rating_already_published",
                           lambda: _publish(store, world))
    _check_clean(store, world)


def test_only_admins_publish_and_days_are_bounded(
    store: Store, world: World, rated: RatingUnit
) -> None:
    with pytest.raises(Forbidden):
        _do(store, rating.publish, world.id.boss, world.id.year, 5)
    assert audit_actions(store.engine)[-1] == "refused.forbidden"
    for days in (0, 31):
        refused_without_change(store.engine, "publicity_days_out_of_range",
                               lambda d=days: _publish(store, world, d))  # type: ignore[misc]


def test_objections_one_per_cadre_only_during_publicity_with_a_reason(
    store: Store, world: World, rated: RatingUnit, clock: FakeClock
) -> None:
    r3 = rated.people["R3"].id
    refused_without_change(store.engine, "rating_not_in_publicity", lambda: _do(
        store, rating.lodge_objection, r3, world.id.year, "分数有误"))
    _publish(store, world, days=2)  # today and tomorrow
    refused_without_change(store.engine, "reason_required", lambda: _do(
        store, rating.lodge_objection, r3, world.id.year, "  "))
    refused_without_change(store.engine, "reason_too_long", lambda: _do(
        store, rating.lodge_objection, r3, world.id.year, "长" * 501))
    objection = _do(store, rating.lodge_objection, r3, world.id.year, " 任务来源应为自治区级 ")
    assert isinstance(objection, Objection) and objection.reason == "任务来源应为自治区级"
    refused_without_change(store.engine, "objection_exists", lambda: _do(
        store, rating.lodge_objection, r3, world.id.year, "再提一次"))
    clock.advance(days=2)  # the day after the last day of 公示
    refused_without_change(store.engine, "publicity_over", lambda: _do(
        store, rating.lodge_objection, rated.people["R4"].id, world.id.year, "晚了"))


def test_upheld_objection_changes_the_score_through_an_audited_operation(
    store: Store, world: World, rated: RatingUnit, clock: FakeClock
) -> None:
    _publish(store, world)
    r3, r4 = rated.people["R3"].id, rated.people["R4"].id
    upheld = _do(store, rating.lodge_objection, r3, world.id.year, "任务难度应按1.0计")
    dismissed = _do(store, rating.lodge_objection, r4, world.id.year, "我应评为优秀")
    assert isinstance(upheld, Objection) and isinstance(dismissed, Objection)

    # The admin may not answer without a reason, nor twice; a cadre may not answer at all.
    refused_without_change(store.engine, "reason_required", lambda: _do(
        store, rating.answer_objection, world.id.admin, upheld.id, True, ""))
    with pytest.raises(Forbidden):
        _do(store, rating.answer_objection, r4, upheld.id, True, "我同意")

    _do(store, rating.answer_objection, world.id.admin, upheld.id, True, "经核实，难度系数应为1.0")
    # Upheld: the office corrects the score through the normal audited operation.
    _do(store, set_difficulty, world.id.admin, rated.tasks["R3"].id, Decimal("1.0"))
    _do(store, rating.answer_objection, world.id.admin, dismissed.id, False, "总分80分，未达优秀线")
    refused_without_change(store.engine, "objection_answered", lambda: _do(
        store, rating.answer_objection, world.id.admin, dismissed.id, True, "改主意"))
    assert audit_actions(store.engine)[-3:] == [
        "objection.upheld", "task.difficulty", "objection.dismissed"]

    refused_without_change(store.engine, "publicity_not_over", lambda: _do(
        store, rating.finalise, world.id.admin, world.id.year))
    clock.advance(days=5)
    _do(store, rating.finalise, world.id.admin, world.id.year)
    grades = _grades(store, world)
    # R3's corrected 102.00 takes the first slot; R2 keeps its published total but no slot now.
    assert grades["R3"] == ("competent", "excellent", Decimal("102.00"))
    assert grades["R2"] == ("excellent", "competent", Decimal("92.00"))
    assert grades["R4"] == ("competent", "competent", Decimal("80.00"))
    with store.session() as session:
        period = session.get(Period, world.id.year)
        assert period is not None and period.locked
    _check_clean(store, world)


def test_finalise_waits_for_every_answer(
    store: Store, world: World, rated: RatingUnit, clock: FakeClock
) -> None:
    refused_without_change(store.engine, "rating_not_published", lambda: _do(
        store, rating.finalise, world.id.admin, world.id.year))
    _publish(store, world, days=1)
    _do(store, rating.lodge_objection, rated.people["R5"].id, world.id.year, "漏算了一项")
    clock.advance(days=1)
    refused_without_change(store.engine, "objections_open", lambda: _do(
        store, rating.finalise, world.id.admin, world.id.year))


def test_own_objection_is_answered_by_another_admin(
    store: Store, world: World, rated: RatingUnit
) -> None:
    with store.transaction() as ctx:  # the admin has a task, so is rated
        org.add_task(ctx, None, period=world.year, code="A-T", title="考核办工作",
                     dimension="basic", category="business", weight=Decimal(10),
                     cadre=world.admin, source="city_report")
    _publish(store, world)
    mine = _do(store, rating.lodge_objection, world.id.admin, world.id.year, "自己的异议")
    assert isinstance(mine, Objection)
    refused_without_change(store.engine, "own_objection", lambda: _do(
        store, rating.answer_objection, world.id.admin, mine.id, False, "驳回"))


def test_unlock_is_admin_only_audited_with_the_reason_and_reopens_changes(
    store: Store, world: World, rated: RatingUnit, clock: FakeClock
) -> None:
    _publish(store, world, days=1)
    clock.advance(days=1)
    _do(store, rating.finalise, world.id.admin, world.id.year)
    with pytest.raises(Forbidden):
        _do(store, rating.unlock, world.id.boss, world.id.year, "想改分")
    refused_without_change(store.engine, "reason_required", lambda: _do(
        store, rating.unlock, world.id.admin, world.id.year, ""))

    _do(store, rating.unlock, world.id.admin, world.id.year, "上级通报更正R4任务来源")
    with store.session() as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "period.unlock")).one()
        run = rating.run_of(session, world.id.year or 0)
    assert entry.actor_id == world.id.admin and entry.after is not None
    assert entry.after["reason"] == "上级通报更正R4任务来源" and entry.after["locked"] is False
    assert entry.before is not None and entry.before["locked"] is True
    assert run is not None and run.state == "unlocked"
    refused_without_change(store.engine, "period_not_locked", lambda: _do(
        store, rating.unlock, world.id.admin, world.id.year, "再解锁"))

    # Changes are taken again; finalising again needs no new 公示 and locks once more.
    _do(store, set_difficulty, world.id.admin, rated.tasks["R4"].id, Decimal("1.2"))
    _do(store, rating.finalise, world.id.admin, world.id.year)
    assert _grades(store, world)["R4"] == ("competent", "excellent", Decimal("96.00"))
    _check_clean(store, world)
