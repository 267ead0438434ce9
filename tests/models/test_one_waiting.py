"""One submission per task occurrence waits for review, and an invite code binds one account:
under writers at once on both databases, in the database itself (a partial unique index), and
after migration 0008, which returns the duplicates made before the index existed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from alembic import command
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models import invites, org
from models.errors import Refused
from models.migrate import alembic_config, upgrade
from models.reports import submit_report
from models.store import Store
from models.tables import Report
from models.vocab import RETURNED, SUBMITTED
from tests.support.world import build_world

AT = datetime(2026, 6, 1, tzinfo=UTC)


def _report(task_id: int, reporter_id: int, state: str, occurrence: str = "") -> Report:
    return Report(task_id=task_id, occurrence=occurrence, reporter_id=reporter_id, state=state,
                  created_at=AT, submitted_at=AT)


def test_the_database_refuses_a_second_waiting_submission(store: Store) -> None:
    world = build_world(store)
    task, alice = world.alice_monthly.id or 0, world.alice.id or 0
    with store.session() as session:
        session.add_all([_report(task, alice, SUBMITTED, "2026-05"),
                         _report(task, alice, RETURNED, "2026-05"),  # decided ones may be many
                         _report(task, alice, SUBMITTED, "2026-06")])
        session.commit()
        session.add(_report(task, alice, SUBMITTED, "2026-05"))
        with pytest.raises(IntegrityError, match=r"report_one_waiting|UNIQUE"):
            session.commit()


def test_migration_0008_returns_all_but_the_first_waiting_duplicate(
        engine: Engine, store: Store) -> None:
    world = build_world(store)
    task, alice = world.alice_monthly.id or 0, world.alice.id or 0
    config = alembic_config(engine)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0007")
        with Session(engine) as session:  # what two submissions at once could leave behind
            rows = [_report(task, alice, SUBMITTED, "2026-05") for _ in range(3)]
            rows.append(_report(task, alice, SUBMITTED, "2026-06"))
            session.add_all(rows)
            session.commit()
    finally:
        upgrade(engine)
    with Session(engine) as session:
        found = [(r.occurrence, r.state, r.reason is not None, r.decided_at is not None)
                 for r in session.exec(select(Report).order_by(col(Report.id))).all()]
    assert found == [("2026-05", SUBMITTED, False, False),
                     ("2026-05", RETURNED, True, True), ("2026-05", RETURNED, True, True),
                     ("2026-06", SUBMITTED, False, False)]


def _at_once(*actions: Callable[[], object]) -> list[str]:
    """Run the actions in threads started together; "ok" or the refusal's code for each."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[str] = []

    def go(action: Callable[[], object]) -> None:
        barrier.wait()
        try:
            action()
            outcomes.append("ok")
        except Refused as refusal:
            outcomes.append(refusal.code)

    threads = [threading.Thread(target=go, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def test_two_members_submitting_the_unit_task_at_once(store: Store) -> None:
    """Two threads (each its own connection) on each database; tests/concurrency does this
    with processes on PostgreSQL."""
    world = build_world(store)
    with store.transaction() as ctx:
        task = org.add_task(ctx, None, period=world.year, code="U2", title="网格化巡查",
                            dimension="basic", category="general", weight=Decimal(5),
                            unit=world.office, source="unit_points", recurrence="monthly",
                            deadline=date(2026, 1, 25))
        ctx.session.flush()
        task_id = task.id or 0

    def submit(who: int, month: str) -> Callable[[], object]:
        return lambda: store.run(lambda ctx: submit_report(
            ctx, who, task_id, progress=Decimal(50), occurrence=month))

    for month in ("2026-04", "2026-05", "2026-06"):
        outcomes = _at_once(submit(world.alice.id or 0, month), submit(world.bob.id or 0, month))
        assert outcomes == ["already_waiting", "ok"]
    with store.session() as session:
        waiting = session.exec(select(Report.occurrence).where(
            Report.task_id == task_id, Report.state == SUBMITTED)).all()
    assert sorted(waiting) == ["2026-04", "2026-05", "2026-06"]


def test_two_people_redeeming_one_invite_code_at_once(store: Store) -> None:
    world = build_world(store)
    with store.transaction() as ctx:
        code = invites.issue_invite(ctx, world.admin.id or 0, world.carol.id or 0).code

    def redeem(telegram_id: int) -> Callable[[], object]:
        return lambda: store.run(lambda ctx: invites.redeem_invite(ctx, code, telegram_id))

    outcomes = _at_once(redeem(555_001), redeem(555_002))
    assert outcomes == ["invite_used", "ok"]
