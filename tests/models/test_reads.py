"""A look that changes nothing (`store.reading()`: the dashboard, the rating's preview job) never
makes a writer wait for it: on SQLite it begins DEFERRED, not IMMEDIATE (in WAL mode a reader
holds no lock a writer needs) and reads one moment."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from models.reports import submit_report
from models.store import Store
from models.tables import Report
from tests.support.world import World, build_world

pytestmark = pytest.mark.db


@pytest.fixture
def world(store: Store) -> World:
    return build_world(store)


def _count(session: Session) -> int:
    return len(session.exec(select(Report.id)).all())


def test_a_writer_commits_while_a_read_is_open_and_the_read_sees_one_moment(
        store: Store, world: World) -> None:
    written = threading.Event()
    failed: list[BaseException] = []

    def write() -> None:
        try:
            with store.transaction() as ctx:
                submit_report(ctx, world.alice.id or 0, world.alice_plain.id or 0,
                              progress=Decimal(40))
            written.set()
        except BaseException as exc:  # "database is locked" once the busy timeout ran out
            failed.append(exc)

    with store.reading() as ctx:
        session = ctx.session
        before = _count(session)
        writer = threading.Thread(target=write)
        writer.start()
        # The writer does not wait for this read to end: with the write lock held here (every
        # SQLite transaction began IMMEDIATE) it would wait out its busy timeout and fail.
        assert written.wait(timeout=10), failed
        if store.dialect == "sqlite":  # PostgreSQL reads at READ COMMITTED here
            assert _count(session) == before  # still the moment the read began
        writer.join()
    with store.session() as session:
        assert _count(session) == before + 1
