"""Writers in one process take turns on a SQLite file through a lock of the process
(models/store.py `_WriterTurns`), handed over the moment a transaction ends, instead of
sleeping in SQLite's busy handler. The turn must never be kept: after a commit, a rollback,
a failure, a connection given back or dropped, the next writer goes at once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from models.migrate import upgrade
from models.store import READ_ONLY, make_engine

WAIT = 5.0  # seconds: far more than a free turn takes, far less than the busy timeout (15 s)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    made = make_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    upgrade(made)
    with made.begin() as connection:
        connection.execute(text("CREATE TABLE tally (n INTEGER)"))
    return made


def _writer_in_another_thread(engine: Engine) -> threading.Event:
    """A writer started in another thread; the event is set once it has committed."""
    done = threading.Event()

    def write() -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO tally VALUES (1)"))
        done.set()

    threading.Thread(target=write, daemon=True).start()
    return done


def _writes_from_another_thread(engine: Engine) -> bool:
    """Did a writer in another thread get its turn (and commit) within WAIT?"""
    return _writer_in_another_thread(engine).wait(WAIT)


def test_a_writer_waits_for_the_turn_and_gets_it_when_the_holder_commits(
        engine: Engine) -> None:
    holder = engine.connect()
    transaction = holder.begin()
    holder.execute(text("INSERT INTO tally VALUES (0)"))
    done = _writer_in_another_thread(engine)
    assert not done.wait(0.3)  # the holder's transaction is open: the other writer waits
    transaction.commit()
    assert done.wait(WAIT)
    holder.close()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM tally")).scalar() == 2


@pytest.mark.parametrize("ending", ["rollback", "error", "close", "invalidate"])
def test_the_turn_is_let_go_however_the_transaction_ends(engine: Engine, ending: str) -> None:
    connection = engine.connect()
    transaction = connection.begin()
    connection.execute(text("INSERT INTO tally VALUES (0)"))
    if ending == "rollback":
        transaction.rollback()
    elif ending == "error":
        with pytest.raises(OperationalError):
            connection.execute(text("INSERT INTO no_such_table VALUES (0)"))
        transaction.rollback()
    elif ending == "close":
        connection.close()  # given back to the pool mid-transaction
    else:
        connection.invalidate()  # dropped, as after a lost connection
    assert _writes_from_another_thread(engine)
    connection.close()


def test_a_read_takes_no_turn(engine: Engine) -> None:
    reader = engine.connect().execution_options(**{READ_ONLY: True})
    reader.begin()
    reader.execute(text("SELECT count(*) FROM tally"))
    assert _writes_from_another_thread(engine)
    reader.close()
