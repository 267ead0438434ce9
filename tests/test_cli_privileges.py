"""`kaohe delegation list|revoke`, `kaohe supervision revoke`, `kaohe cadre deactivate` on both
databases, in Chinese (the default) and English; and `kaohe audit --json` keeps invite codes out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlmodel import select

from bot.cli import main
from models.admin import delegate_review
from models.invites import code_hash, issue_invite
from models.store import Store
from models.tables import Cadre, Delegation, Supervision
from tests.conftest import FakeClock
from tests.support.world import World, build_world


@pytest.fixture
def clock() -> FakeClock:
    """Today, as the command line sees it: delegations are dated from today."""
    return FakeClock(datetime.now(UTC))


@pytest.fixture
def world(store: Store) -> World:
    return build_world(store)


@pytest.fixture
def runner(store: Store, world: World, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("KAOHE_DATABASE__URL",
                       store.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def _delegation(store: Store, world: World) -> int:
    today = store.today()
    with store.transaction() as ctx:
        made = delegate_review(ctx, world.id.boss, world.id.deputy, today,
                               today + timedelta(days=6))
        ctx.session.flush()
        return made.id or 0


def test_list_and_revoke_a_delegation(runner: CliRunner, store: Store, world: World) -> None:
    number = _delegation(store, world)
    listed = runner.invoke(main, ["delegation", "list"])
    assert listed.exit_code == 0, listed.output
    assert "镇领导" in listed.output and "副镇长" in listed.output and "生效中" in listed.output
    need_admin = runner.invoke(main, ["delegation", "revoke", str(number)])
    assert need_admin.exit_code == 2 and "--by" in need_admin.output
    not_admin = runner.invoke(main, ["delegation", "revoke", str(number), "--by", "P001"])
    assert not_admin.exit_code == 2, not_admin.output
    revoked = runner.invoke(main, ["delegation", "revoke", str(number), "--by", "A001"])
    assert revoked.exit_code == 0, revoked.output
    assert f"已撤销委托 #{number}（镇领导 → 副镇长）" in revoked.output
    again = runner.invoke(main, ["--lang", "en", "delegation", "revoke", str(number),
                                 "--by", "A001"])
    assert again.exit_code == 2 and "already been revoked" in again.output
    assert "没有符合条件的委托" in runner.invoke(main, ["delegation", "list"]).output
    assert "已撤销" in runner.invoke(main, ["delegation", "list", "--all"]).output
    with store.session() as session:
        assert session.get(Delegation, number).revoked_by == world.id.admin  # type: ignore[union-attr]


def test_revoke_a_supervision(runner: CliRunner, store: Store, world: World) -> None:
    done = runner.invoke(main, ["supervision", "revoke", "B001", "yst", "--by", "A001"])
    assert done.exit_code == 0, done.output
    assert "已撤销 镇领导 对 榆树沟镇 的分管" in done.output
    with store.session() as session:
        assert session.get(Supervision, (world.id.boss, world.id.township)) is None
    again = runner.invoke(main, ["--lang", "en", "supervision", "revoke", "B001", "yst",
                                 "--by", "A001"])
    assert again.exit_code == 2 and "does not supervise" in again.output
    unknown = runner.invoke(main, ["supervision", "revoke", "B001", "nowhere", "--by", "A001"])
    assert unknown.exit_code == 2 and "nowhere" in unknown.output


def test_deactivate_a_cadre(runner: CliRunner, store: Store, world: World) -> None:
    done = runner.invoke(main, ["cadre", "deactivate", "P001", "--by", "A001"])
    assert done.exit_code == 0, done.output
    assert "已停用 艾丽（P001）" in done.output
    with store.session() as session:
        assert session.get(Cadre, world.id.alice).active is False  # type: ignore[union-attr]
    self_ = runner.invoke(main, ["cadre", "deactivate", "A001", "--by", "A001"])
    assert self_.exit_code == 2 and "不能停用自己" in self_.output


def test_audit_json_never_shows_an_invite_code(runner: CliRunner, store: Store,
                                              world: World) -> None:
    with store.transaction() as ctx:
        code = issue_invite(ctx, world.id.admin, world.id.alice).code
    result = runner.invoke(main, ["audit", "--json"])
    assert result.exit_code == 0, result.output
    issued = [e for e in map(json.loads, result.output.splitlines())
              if e["action"] == "invite.issue"]
    assert len(issued) == 1
    assert code not in result.output and code_hash(code) not in result.output
    with store.session() as session:
        assert session.exec(select(Cadre).where(Cadre.id == world.id.alice)).one()
