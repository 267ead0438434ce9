"""Invite codes on both databases: only a hash is stored, neither is audited, failed
redemptions are audited and limited per Telegram account; the migration hashes open codes."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from alembic import command
from sqlalchemy import Engine, text
from sqlmodel import col, select

from models.invites import MAX_FAILURES, code_hash, issue_invite, redeem_invite
from models.migrate import alembic_config, upgrade
from models.store import Store
from models.tables import AuditEntry, Cadre
from tests.conftest import FakeClock
from tests.support.snapshot import refused_without_change
from tests.support.world import World, build_world

COUNTED = ("audit_entry", "invite_failure")  # what a failed redemption writes


@pytest.fixture
def world(store: Store) -> World:
    return build_world(store)


def _issue(store: Store, world: World, cadre: Cadre) -> str:
    with store.transaction() as ctx:
        return issue_invite(ctx, world.id.admin, cadre.id or 0).code


def _redeem(store: Store, code: str, telegram_id: int) -> Callable[[], object]:
    def run() -> object:
        with store.transaction() as ctx:
            return redeem_invite(ctx, code, telegram_id)
    return run


def _everything(engine: Engine) -> str:
    """Every row of every table, as text."""
    with engine.connect() as connection:
        names = [row[0] for row in connection.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'table'" if engine.dialect.name == "sqlite"
            else "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))]
        return "\n".join(str(row) for name in names
                         for row in connection.execute(text(f'SELECT * FROM "{name}"')))


def test_the_code_is_stored_nowhere_and_audited_nowhere(store: Store, world: World) -> None:
    code = _issue(store, world, world.alice)
    _redeem(store, code, 7001)()
    stored = _everything(store.engine)
    assert code not in stored and code.lower() not in stored
    with store.session() as session:
        entries = session.exec(select(AuditEntry).where(
            col(AuditEntry.action).startswith("invite."))).all()
        audited = json.dumps([[e.before, e.after] for e in entries], ensure_ascii=False)
    assert [e.action for e in entries] == ["invite.issue", "invite.redeem"]
    for secret in (code, code_hash(code), "code_hash"):  # neither the code nor its hash
        assert secret not in audited


def test_failed_redemptions_are_audited_and_limited_per_account(
    store: Store, world: World, clock: FakeClock,
) -> None:
    code = _issue(store, world, world.alice)
    for attempt in range(MAX_FAILURES):
        refused_without_change(store.engine, "invite_unknown", _redeem(store, f"WRONG{attempt}",
                                                                       7001), skip=COUNTED)
    with store.session() as session:
        failures = session.exec(select(AuditEntry).where(
            AuditEntry.action == "refused.invite_unknown")).all()
    assert len(failures) == MAX_FAILURES
    assert all(entry.after == {"telegram_user_id": "7001"} for entry in failures)
    # The sixth try within the hour is refused before the code is looked at, right or not.
    blocked = refused_without_change(store.engine, "invite_attempts_exceeded",
                                     _redeem(store, code, 7001), skip=COUNTED)
    assert blocked.params["minutes"] == 60
    # Another account is not held back by this one's failures.
    refused_without_change(store.engine, "invite_unknown", _redeem(store, "WRONG", 7002),
                           skip=COUNTED)
    clock.advance(minutes=45)
    assert refused_without_change(store.engine, "invite_attempts_exceeded",
                                  _redeem(store, code, 7001), skip=COUNTED).params["minutes"] == 15
    clock.advance(minutes=16)  # the first failures have left the window
    _redeem(store, code, 7001)()
    with store.session() as session:
        assert session.get(Cadre, world.id.alice).telegram_user_id == 7001  # type: ignore[union-attr]


def test_the_migration_hashes_open_codes_and_scrubs_them_from_the_log(
    store: Store, world: World,
) -> None:
    engine = store.engine
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0007")  # just before the hashing migration
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO invite_code (id, code, cadre_id, created_by, created_at, expires_at) "
                "VALUES (1, 'ABCDE23456', :cadre, :admin, '2026-06-14 00:00:00', "
                "'2026-06-28 00:00:00')"), {"cadre": world.id.alice, "admin": world.id.admin})
            connection.execute(text(
                "INSERT INTO audit_entry (at, actor_id, action, entity, entity_id, cadre_id, "
                "after) VALUES ('2026-06-14 00:00:00', :admin, 'invite.issue', 'invite_code', "
                "1, :cadre, "
                """'{"id": 1, "code": "ABCDE23456", "cadre_id": 1}')"""),
                {"cadre": world.id.alice, "admin": world.id.admin})
    finally:
        upgrade(engine)
    assert "ABCDE23456" not in _everything(engine)
    cadre = _redeem(store, "abcde23456", 7001)()  # the code handed out before still works
    assert isinstance(cadre, Cadre) and cadre.id == world.id.alice
    with store.transaction() as ctx:  # and new invites get new ids
        assert issue_invite(ctx, world.id.admin, world.id.bob).invite.id == 2
    with store.session() as session:
        issued = session.exec(select(AuditEntry).where(AuditEntry.action == "invite.issue")
                              .order_by(AuditEntry.id)).first()  # type: ignore[arg-type]
        assert issued is not None and issued.after == {"id": 1, "cadre_id": 1}
