"""store.run retries a transaction PostgreSQL aborted as a deadlock victim, other errors pass;
store.snapshot reads one moment."""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from models import org
from models.reports import approve_report, submit_report
from models.standings import check, refresh_all
from models.store import Ctx
from models.tables import Unit
from tests.concurrency.conftest import Database
from tests.support.world import build_world

pytestmark = pytest.mark.concurrency


def test_a_deadlock_victim_is_run_again_and_both_succeed(database: Database) -> None:
    store = database.store
    with store.transaction() as ctx:
        first = org.add_unit(ctx, None, code="a", name="甲", kind="city", post_category="general")
        second = org.add_unit(ctx, None, code="b", name="乙", kind="city",
                              post_category="general")
        ctx.session.flush()
        ids = (first.id or 0, second.id or 0)
    barrier = threading.Barrier(2, timeout=30)
    attempts: Counter[str] = Counter()
    done: list[str] = []

    def lock_in_turn(name: str, order: tuple[int, int]) -> None:
        def operation(ctx: Ctx) -> None:
            attempts[name] += 1
            for step, unit_id in enumerate(order):
                ctx.session.exec(select(Unit).where(Unit.id == unit_id).with_for_update()).one()
                if step == 0 and attempts[name] == 1:
                    barrier.wait()  # each holds one row and wants the other's: a deadlock
        store.run(operation)
        done.append(name)

    threads = [threading.Thread(target=lock_in_turn, args=("one", ids)),
               threading.Thread(target=lock_in_turn, args=("two", ids[::-1]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(done) == ["one", "two"]
    assert sorted(attempts.values()) == [1, 2]  # PostgreSQL aborted one of them, once


def test_other_errors_are_not_retried(database: Database) -> None:
    store = database.store
    calls = []

    def duplicate(ctx: Ctx) -> None:
        calls.append(1)
        for _ in range(2):
            org.add_unit(ctx, None, code="same", name="同", kind="city", post_category="general")
            ctx.session.flush()

    with pytest.raises(IntegrityError):
        store.run(duplicate)
    assert len(calls) == 1


def test_check_reads_one_moment_while_writers_commit(database: Database) -> None:
    """`kaohe check` reads a chunk's stored standings, then its facts; an approval committed
    between the two must not show as a difference (it did with a plain READ COMMITTED
    session)."""
    store = database.store
    world = build_world(store)
    with store.transaction() as ctx:
        refresh_all(ctx, world.year)
        report = submit_report(ctx, world.alice.id or 0, world.alice_plain.id or 0,
                               progress=Decimal(80)).id or 0
    approved: list[int] = []

    def approve_once_standings_are_read(_conn: object, _cursor: object, statement: str,
                                        *_rest: object) -> None:
        if "FROM standing " in statement and not approved:  # the facts are read next
            with store.transaction() as ctx:
                approve_report(ctx, world.boss.id or 0, report, "A")
            approved.append(report)

    with store.snapshot() as session:
        # check reads raw rows (models/recompute.py): the hook is on its own connection.
        event.listen(session.connection(), "after_cursor_execute",
                     approve_once_standings_are_read)
        assert check(session, store.rules, world.year) == []
    assert approved
    with store.session() as session:
        assert check(session, store.rules, world.year) == []
