"""The first admin of a fresh install: the office runs `kaohe admin invite STAFF_CODE`, the
person sends /start CODE, and the bot greets an administrator with the Admin menu."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlmodel import col, select

from bot.cli import main
from models.store import Store
from models.tables import AuditEntry, Cadre
from tests.bot.harness import BotHarness
from tests.support.world import World

ALICE_TG = 5001


@pytest.fixture
def no_admin(store: Store, world: World, monkeypatch: pytest.MonkeyPatch) -> Store:
    """The world as a roster import leaves it when nobody is marked admin, and the command line
    pointed at the same database."""
    with store.session() as session:
        for cadre in session.exec(select(Cadre).where(col(Cadre.is_admin))).all():
            cadre.is_admin = False
        session.commit()
    monkeypatch.setenv("KAOHE_DATABASE__URL",
                       store.engine.url.render_as_string(hide_password=False))
    return store


def _code(output: str) -> str:
    found = re.search(r"/start ([A-Z0-9]+)", output)
    assert found is not None, output
    return found.group(1)


def test_the_first_admin_is_made_and_bound_by_a_documented_command(no_admin: Store) -> None:
    result = CliRunner().invoke(main, ["admin", "invite", "P001"])
    assert result.exit_code == 0, result.output
    assert "已将 艾丽（P001）设为考核办管理员。" in result.output
    assert "艾丽 的邀请码：" in result.output and "有效期至" in result.output

    bot = BotHarness(no_admin)
    try:
        bot.sim.add_user(ALICE_TG, "艾丽")
        welcome = bot.say(ALICE_TG, f"/start {_code(result.output)}")[-1].text or ""
        assert "艾丽，您好" in welcome and "您是考核办管理员" in welcome
        assert "管理" in (bot.sim.reply_keyboard(ALICE_TG) or [])
    finally:
        bot.close()
    with no_admin.session() as session:
        actions = [e.action for e in session.exec(select(AuditEntry)).all()]
    assert "cadre.make_admin" in actions and "invite.issue" in actions


def test_once_there_is_an_admin_only_admins_get_codes_unless_the_office_says_so(
        no_admin: Store) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["admin", "invite", "P001"]).exit_code == 0
    refused = runner.invoke(main, ["admin", "invite", "P002"])
    assert refused.exit_code == 2
    assert "鲍勃 不是管理员" in refused.output and "--make-admin" in refused.output
    again = runner.invoke(main, ["admin", "invite", "P001", "--days", "3"])
    assert again.exit_code == 0 and "设为" not in again.output  # already an admin
    made = runner.invoke(main, ["--lang", "en", "admin", "invite", "P002", "--make-admin"])
    assert made.exit_code == 0, made.output
    assert "鲍勃 (P002) is now an administrator" in made.output
    unknown = runner.invoke(main, ["admin", "invite", "X999"])
    assert unknown.exit_code == 2 and "没有工号为 X999 的在职人员" in unknown.output
