"""store.run retries a transaction PostgreSQL aborted as a deadlock victim; other errors pass."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from models import org
from models.store import Ctx
from models.tables import Unit
from tests.concurrency.conftest import Database

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
