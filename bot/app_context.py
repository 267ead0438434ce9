"""Composition root: settings -> engine -> rules -> store, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from bot.config import Settings, load_settings
from models.rules import Rules
from models.store import Clock, Store, make_engine, system_clock


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    rules: Rules
    store: Store

    @property
    def safe_database_url(self) -> str:
        return make_url(self.settings.database_url).render_as_string(hide_password=True)


def build_context(settings: Settings | None = None, clock: Clock = system_clock) -> AppContext:
    settings = settings or load_settings()
    engine = make_engine(
        settings.database_url,
        echo=settings.database.echo,
        busy_timeout=settings.database.sqlite_busy_timeout,
    )
    rules = settings.rules()
    store = Store(engine, rules, timezone=settings.time.timezone, clock=clock)
    return AppContext(settings=settings, engine=engine, rules=rules, store=store)
