"""Concurrency tests: PostgreSQL only (SQLite has one writer at a time by design), real
processes. They skip, saying why, when no PostgreSQL answers."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from models.rules import Rules
from models.store import Store
from tests.concurrency.crew import fixed_clock
from tests.conftest import _truncate_postgres


@dataclass
class Database:
    store: Store  # for setting up and checking, in the test's own process
    url: str  # for the processes, each of which builds its own engine


@pytest.fixture(params=["postgresql"])
def database(request: pytest.FixtureRequest, rules: Rules) -> Database:
    engine: Engine = request.getfixturevalue("postgres_engine")  # skips when PostgreSQL is absent
    _truncate_postgres(engine)
    return Database(Store(engine, rules, timezone="Asia/Shanghai", clock=fixed_clock),
                    engine.url.render_as_string(hide_password=False))
