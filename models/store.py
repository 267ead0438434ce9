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

import random
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


def make_engine(url: str, *, echo: bool = False, busy_timeout: int = 15) -> Engine:
    """An engine for SQLite (WAL, busy timeout, foreign keys on) or PostgreSQL."""
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
        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            reading = conn.get_execution_options().get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN DEFERRED" if reading else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


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
