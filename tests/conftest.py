"""Test fixtures shared by every layer.

Database tests take the `store` fixture and run twice: on a fresh SQLite file, and on a real
PostgreSQL when one answers (KAOHE_TEST_POSTGRES_URL, default the local `test` database); the
schema always comes from the Alembic migrations. The terminal summary says how many database
tests passed on each.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bot.config import load_settings
from models.migrate import upgrade
from models.rules import Rules
from models.store import Store, make_engine

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("KAOHE_SHARED_DIR", ROOT.parent / "shared"))
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# Tests must not pick up a developer's own KAOHE_* settings.
for _name in list(os.environ):
    if _name.startswith("KAOHE_") and not _name.startswith(("KAOHE_TEST_", "KAOHE_SHARED_DIR")):
        del os.environ[_name]


class FakeClock:
    """A clock the test moves by hand; it never sleeps."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def at(clock: FakeClock, text: str) -> None:
    """Set the clock to a local Shanghai time, e.g. "2026-09-25 09:31"."""
    clock.now = datetime.fromisoformat(text).replace(
        tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


@pytest.fixture
def clock() -> FakeClock:
    # 2026-06-15 10:00 in Asia/Shanghai.
    return FakeClock(datetime(2026, 6, 15, 2, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
def rules() -> Rules:
    return load_settings(ROOT / "config.toml").rules()


# -- databases ---------------------------------------------------------------------------


def _postgres_admin_url() -> str:
    return os.environ.get("KAOHE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _postgres_reason() -> str | None:
    """None when PostgreSQL answers, else why its tests skip."""
    url = _postgres_admin_url()
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means: skip, and say why
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"PostgreSQL not reachable at {make_url(url).render_as_string()}: {first_line}"
    return None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    """A database of its own on the PostgreSQL server, migrated once, dropped at the end."""
    reason = _postgres_reason()
    if reason is not None:
        pytest.skip(reason)
    admin_url = make_url(_postgres_admin_url())
    name = f"kaohe_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(admin_url.set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate_postgres(engine: Engine) -> None:
    with engine.begin() as connection:
        tables = [
            row[0] for row in connection.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            ))
        ]
        quoted = ", ".join(f'"{t}"' for t in tables)
        connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database: a fresh SQLite file, or the emptied PostgreSQL test database."""
    if request.param == "sqlite":
        path = tmp_path / "kaohe.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        sqlite_engine = make_engine(f"sqlite:///{path}")
        yield sqlite_engine
        sqlite_engine.dispose()
    else:
        pg_engine: Engine = request.getfixturevalue("postgres_engine")
        _truncate_postgres(pg_engine)
        yield pg_engine


@pytest.fixture
def store(engine: Engine, rules: Rules, clock: FakeClock) -> Store:
    return Store(engine, rules, timezone="Asia/Shanghai", clock=clock)


# -- reporting: how many database tests ran on each database -------------------------------

_db_outcomes: Counter[tuple[str, str]] = Counter()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for backend in ("sqlite", "postgresql"):
        if f"[{backend}" in report.nodeid or f"-{backend}]" in report.nodeid or (
            f"-{backend}-" in report.nodeid
        ):
            if report.when == "call":
                _db_outcomes[(backend, report.outcome)] += 1
            elif report.when == "setup" and report.outcome != "passed":
                _db_outcomes[(backend, "skipped" if report.skipped else "error")] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _db_outcomes:
        return
    terminalreporter.section("database tests")
    for backend in ("sqlite", "postgresql"):
        counts = {k[1]: v for k, v in _db_outcomes.items() if k[0] == backend}
        line = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "none"
        terminalreporter.write_line(f"{backend}: {line}")
