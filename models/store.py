"""The Store: the database, the scoring rules and the clock that every operation runs under.

`with store.transaction() as ctx:` opens one session and one transaction; an operation called
with that `ctx` commits with it or not at all. A `Refused` raised inside rolls everything back
and, when it asks to be audited, the refusal itself is written in a transaction of its own.

`store.run(operation)` is the same transaction for a callable, retried from the start when
PostgreSQL aborts it as a deadlock victim or for a serialisation failure (a few times, with a
short random pause): the operation reads everything again, so a retry is as good as a first
try. Writers from several processes (the bot, the command line, workers) go through `run`.

`with store.unit(owner) as unit:` is one transaction for a piece of work made of several steps
(a bot update: who is writing, the operation, the conversation state, "handled"), committed
once by `unit.commit()`. Each `unit.run(operation)` is a savepoint, so a refusal or an error
undoes that operation alone (and a refusal is audited in the unit), as `run` would;
`unit.check(look)` is a step that only reads (a door), run without a savepoint.
"""

import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, create_engine

from models.errors import Refused
from models.rules import Rules
from models.tables import AuditEntry

Clock = Callable[[], datetime]
T = TypeVar("T")

# PostgreSQL's SQLSTATEs for "this transaction lost a race; run it again": serialization_failure
# and deadlock_detected. Anything else (a broken constraint, a lost connection) is not retried.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
ATTEMPTS = 5


def is_retryable(error: BaseException) -> bool:
    """Did the database abort the transaction only because a concurrent one won a race?"""
    if not isinstance(error, DBAPIError):
        return False
    return getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Ctx:
    """What an operation needs: the open session, the rules, the time and the timezone."""

    session: Session
    rules: Rules
    now: datetime
    tz: ZoneInfo

    @property
    def today(self) -> date:
        """Today's date in the organisation's timezone."""
        return self.now.astimezone(self.tz).date()

    @property
    def locks_rows(self) -> bool:
        """Does locking a row mean anything here? On PostgreSQL, yes; on SQLite the
        transaction holds the database's one write lock from BEGIN IMMEDIATE, so no row read
        in it can change under it and a statement that only takes a lock can be left out."""
        return self.session.get_bind().dialect.name == "postgresql"


READ_ONLY = "kaohe_read_only"  # an execution option: this connection's transaction only reads


_INSERTED: ContextVar[set[str] | None] = ContextVar("kaohe_inserted", default=None)


@contextmanager
def noting_inserts() -> Iterator[set[str]]:
    """The tables that statements run in this block insert into, in this context and in the
    worker threads it starts (asyncio.to_thread copies the context): the bot wakes the outbox
    sender only when an update queued a message, and the job runner only for a job."""
    tables: set[str] = set()
    token = _INSERTED.set(tables)
    try:
        yield tables
    finally:
        _INSERTED.reset(token)


def _note_insert(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
    tables = _INSERTED.get()
    if tables is not None and statement.startswith("INSERT INTO "):
        tables.add(statement[12:].split(None, 1)[0].strip('"'))


def make_engine(url: str, *, echo: bool = False, busy_timeout: int = 15) -> Engine:
    """An engine for SQLite (WAL, busy timeout, foreign keys on) or PostgreSQL."""
    engine = _make_engine(url, echo=echo, busy_timeout=busy_timeout)
    event.listen(engine, "before_cursor_execute", _note_insert)
    return engine


def _make_engine(url: str, *, echo: bool, busy_timeout: int) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, connect_args={"timeout": busy_timeout, "check_same_thread": False}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_timeout * 1000}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        # pysqlite's own transaction handling defers BEGIN; take the write lock at BEGIN instead,
        # so two writers never both read old rows and then collide (SQLAlchemy's documented recipe).
        @event.listens_for(engine, "connect")
        def _no_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        # A look that changes nothing (`Store.reading`) begins DEFERRED: in WAL mode it reads
        # one moment without the write lock, so writers never wait behind a long read (a
        # city's dashboard, the rating's preview).
        turns = _writer_turns(database, busy_timeout) if database and database != ":memory:" \
            else None

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            reading = conn.get_execution_options().get(READ_ONLY, False)
            if turns is not None and not reading:
                turns.enter(conn.connection.dbapi_connection)
            conn.exec_driver_sql("BEGIN DEFERRED" if reading else "BEGIN IMMEDIATE")

        if turns is not None:
            turns.follow(engine)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


class _WriterTurns:
    """This process's writers to one SQLite file, in turn. SQLite lets one transaction write at
    a time; a second BEGIN IMMEDIATE waits in SQLite's busy handler, which sleeps 1, 2, 5, 10,
    ... up to 100 ms between looks, so a writer behind a busy update loop (the outbox sender,
    the job runner) kept missing its turn and people's cards waited tens of milliseconds. A
    lock in the process hands the turn over the moment the holder's COMMIT or ROLLBACK is done;
    writers in other processes (the command line) still meet SQLite's busy handler, as before."""

    def __init__(self, timeout: float) -> None:
        self._lock = threading.Lock()
        self._thread: int | None = None  # the thread holding the turn
        self._connection: object = None  # the DBAPI connection whose transaction holds it
        self._timeout = timeout

    def enter(self, connection: object) -> None:
        me = threading.get_ident()
        if self._thread == me:
            return  # a second transaction in this thread: SQLite's own wait decides, as before
        # After the timeout, go on regardless: SQLite's lock is the one that counts.
        if self._lock.acquire(timeout=self._timeout):
            self._thread, self._connection = me, connection

    def leave(self, connection: object) -> None:
        # The dialect is handed the pool's proxy, the pool's events the DBAPI connection.
        connection = getattr(connection, "dbapi_connection", connection)
        if connection is not None and connection is self._connection:
            self._thread = self._connection = None
            self._lock.release()

    def follow(self, engine: Engine) -> None:
        """Let go when the holder's transaction has ended: after the dialect's COMMIT or
        ROLLBACK (SQLAlchemy's commit event comes before the COMMIT), or when its connection
        goes back to the pool or is dropped, so a turn is never held for ever."""
        dialect = engine.dialect
        for name in ("do_commit", "do_rollback"):
            original = getattr(dialect, name)

            def ended(dbapi_connection: Any, original: Any = original) -> None:
                try:
                    original(dbapi_connection)
                finally:
                    self.leave(dbapi_connection)

            setattr(dialect, name, ended)
        event.listen(engine.pool, "checkin", lambda dbapi, _record: self.leave(dbapi))
        event.listen(engine.pool, "invalidate", lambda dbapi, _record, _error: self.leave(dbapi))


_TURNS: dict[str, _WriterTurns] = {}
_TURNS_LOCK = threading.Lock()


def _writer_turns(database: str, timeout: float) -> _WriterTurns:
    """One _WriterTurns per database file in this process, however many engines open it."""
    with _TURNS_LOCK:
        return _TURNS.setdefault(str(Path(database).resolve()), _WriterTurns(timeout))


def _forget_turns() -> None:
    """A forked child (check's workers) starts with no turn held: the parent's are not its."""
    global _TURNS_LOCK
    _TURNS.clear()
    _TURNS_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_forget_turns)


class Store:
    def __init__(
        self,
        engine: Engine,
        rules: Rules,
        *,
        timezone: str = "Asia/Shanghai",
        clock: Clock = system_clock,
    ) -> None:
        self.engine = engine
        self.rules = rules
        self.tz = ZoneInfo(timezone)
        self.clock = clock
        self._sessions = sessionmaker(
            bind=engine, class_=Session, expire_on_commit=False, autoflush=True
        )

    def today(self) -> date:
        """Today's date in the organisation's timezone, by the store's clock."""
        return self.clock().astimezone(self.tz).date()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self._sessions()

    def snapshot(self) -> Session:
        """A read-only session whose queries all see one moment, however many there are and
        whatever commits meanwhile (PostgreSQL: REPEATABLE READ, READ ONLY). `kaohe check`
        reads facts and standings this way, so writers at work never look like differences.
        SQLite's sessions see one moment already: this one holds the database's write lock, as
        every transaction there does but `reading()`'s, so that check's forked workers, reading
        through connections of their own, see the same moment (nothing commits meanwhile)."""
        if self.dialect != "postgresql":
            return self._sessions()
        return self._sessions(bind=self.engine.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True))

    @contextmanager
    def transaction(self) -> Iterator[Ctx]:
        session = self._sessions()
        ctx = Ctx(session=session, rules=self.rules, now=self.clock(), tz=self.tz)
        try:
            yield ctx
            session.commit()
        except Refused as refusal:
            session.rollback()
            if refusal.audit or refusal.keep:
                self._audit_refusal(ctx.now, refusal)
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Ctx]:
        """A look that changes nothing (the dashboard's reads): nothing is committed, but a
        `Refused` that asks to be audited is recorded, as `transaction()` does. On SQLite it
        does not take the write lock (see `make_engine`)."""
        session = self._sessions(bind=self.engine.execution_options(**{READ_ONLY: True})) \
            if self.dialect == "sqlite" else self._sessions()
        ctx = Ctx(session=session, rules=self.rules, now=self.clock(), tz=self.tz)
        try:
            yield ctx
        except Refused as refusal:
            session.rollback()
            if refusal.audit:
                self._audit_refusal(ctx.now, refusal)
            raise
        finally:
            session.rollback()
            session.close()

    @contextmanager
    def unit(self, owner: object = None) -> Iterator["Unit"]:
        """A unit of work, current (`current_unit`) until the block ends; what it did and did
        not commit is rolled back then. `owner` says whose it is (the bot: the asyncio task
        handling the update), so that work spawned meanwhile can tell it is not theirs."""
        unit = Unit(self, owner)
        token = _CURRENT.set(unit)
        try:
            yield unit
        finally:
            _CURRENT.reset(token)
            unit.close()

    def run(self, operation: Callable[[Ctx], T], *, attempts: int = ATTEMPTS) -> T:
        """`operation(ctx)` in one transaction, committed; run again from the start (at most
        `attempts` times in all) when the database aborts it for a deadlock or a serialisation
        failure. Refusals and every other error pass through at once."""
        for attempt in range(1, attempts + 1):
            try:
                with self.transaction() as ctx:
                    return operation(ctx)
            except DBAPIError as error:
                if attempt == attempts or not is_retryable(error):
                    raise
            # Both sides of a deadlock may be retried: a random pause keeps them from meeting
            # again in step.
            time.sleep(random.uniform(0, 0.02 * 2 ** attempt))
        raise AssertionError("unreachable")

    def _audit_refusal(self, now: datetime, refusal: Refused) -> None:
        with self._sessions() as session:
            record_refusal(session, now, refusal)
            session.commit()


def refusable(ctx: Ctx, operation: Callable[[Ctx], T]) -> T:
    """`operation(ctx)` in a savepoint of ctx's transaction: a `Refused` it raises undoes only
    its own changes (its audit row is kept) and passes on, so the caller may still commit what
    else the transaction did (a job's completion and the notice saying it was refused)."""
    savepoint = ctx.session.begin_nested()
    try:
        result = operation(ctx)
        ctx.session.flush()
        savepoint.commit()
        return result
    except Refused as refusal:
        _undo(ctx.session, savepoint)
        record_refusal(ctx.session, ctx.now, refusal)
        raise
    except BaseException:
        _undo(ctx.session, savepoint)
        raise


def _undo(session: Session, savepoint: Any) -> None:
    if savepoint.is_active:
        savepoint.rollback()
    # Locks taken inside the savepoint went with it (PostgreSQL): take them again if needed.
    session.info.pop("standings_locks", None)


def record_refusal(session: Session, now: datetime, refusal: Refused) -> None:
    """What a refusal keeps (its `keep` rows, its audit row) into `session`."""
    session.add_all(refusal.keep)
    if refusal.audit:
        session.add(AuditEntry(
            at=now,
            actor_id=refusal.actor_id,
            action="refused." + refusal.code,
            entity=refusal.entity or "",
            entity_id=refusal.entity_id,
            after={k: str(v) for k, v in refusal.params.items()},
        ))


class Unit:
    """One transaction shared by the steps of a piece of work (see the module doc). Used from
    one thread at a time: the bot's steps run one after another, each in a worker thread. The
    session opens at the first step; `commit` ends the transaction, and a later step opens the
    next one."""

    def __init__(self, store: Store, owner: object = None) -> None:
        self.store = store
        self.owner = owner
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self.store.session()
        return self._session

    def read(self, query: Callable[[Session], T]) -> T:
        return query(self.session)

    def run(self, operation: Callable[[Ctx], T], *, attempts: int = ATTEMPTS) -> T:
        """`operation(ctx)` in a savepoint of the unit's transaction: kept when it returns,
        undone when it raises (a refusal's audit row is kept); retried like `Store.run` when
        PostgreSQL aborts it for a deadlock or a serialisation failure."""
        session = self.session
        for attempt in range(1, attempts + 1):
            savepoint = session.begin_nested()
            ctx = Ctx(session=session, rules=self.store.rules, now=self.store.clock(),
                      tz=self.store.tz)
            try:
                result = operation(ctx)
                session.flush()
                savepoint.commit()
                return result
            except Refused as refusal:
                self._undo(savepoint)
                record_refusal(session, ctx.now, refusal)
                raise
            except DBAPIError as error:
                self._undo(savepoint)
                if attempt == attempts or not is_retryable(error):
                    raise
            except BaseException:
                self._undo(savepoint)
                raise
            time.sleep(random.uniform(0, 0.02 * 2 ** attempt))
        raise AssertionError("unreachable")

    def check(self, look: Callable[[Ctx], T]) -> T:
        """`look(ctx)`, which only reads (a door deciding whether a press may go on), in the
        unit's transaction without a savepoint of its own: there is nothing of it to undo. A
        refusal is recorded in the unit, as `run` records it."""
        session = self.session
        ctx = Ctx(session=session, rules=self.store.rules, now=self.store.clock(),
                  tz=self.store.tz)
        try:
            return look(ctx)
        except Refused as refusal:
            record_refusal(session, ctx.now, refusal)
            raise

    def _undo(self, savepoint: Any) -> None:
        _undo(self.session, savepoint)

    def commit(self) -> None:
        """Commit what the unit did so far; the next step starts a new transaction."""
        session, self._session = self._session, None
        if session is None:
            return
        try:
            session.commit()
        finally:
            session.close()

    def close(self) -> None:
        """Roll back whatever was not committed."""
        session, self._session = self._session, None
        if session is not None:
            session.close()


_CURRENT: ContextVar[Unit | None] = ContextVar("kaohe_unit", default=None)


def current_unit() -> Unit | None:
    """The unit of work of the block this code runs in (`Store.unit`), if any."""
    return _CURRENT.get()
