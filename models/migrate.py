"""Applying Alembic migrations from code (the CLI's `kaohe db upgrade`, the bot at start, tests)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["configure_logger"] = False
    if engine is not None:
        config.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database's schema to `revision` (all pending migrations by default)."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def pending(engine: Engine) -> list[str]:
    """Revisions not yet applied to this database."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    heads = script.get_heads()
    if set(heads) == current:
        return []
    revisions = script.iterate_revisions(tuple(heads), tuple(current) or "base")
    return [rev.revision for rev in revisions]


def refresh_statistics(engine: Engine) -> None:
    """ANALYZE: give the query planner the tables' current shape. PostgreSQL's autovacuum does
    this by itself; SQLite never does, and without statistics it may pick a poor index (e.g.
    reports by state rather than by reporter). Cheap: about 0.1 s on 20,000 cadres."""
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
