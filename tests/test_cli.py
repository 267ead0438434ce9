"""The `kaohe` command line on a real SQLite file: demo, standings, check (clean and not)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from bot.cli import main
from models.store import make_engine


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'kaohe.db'}"
    monkeypatch.setenv("KAOHE_DATABASE__URL", url)
    return url


def test_demo_then_check_reports_no_difference_then_a_tampered_score(database: str) -> None:
    runner = CliRunner()
    built = runner.invoke(main, ["demo"])
    assert built.exit_code == 0, built.output
    cadres = re.search(r"演示数据已建立：\d+ 个单位，(\d+) 名干部", built.output)
    assert cadres is not None and int(cadres.group(1)) >= 60
    assert "干部得分排行" in built.output

    clean = runner.invoke(main, ["check"])
    assert clean.exit_code == 0, clean.output
    assert "完全一致" in clean.output

    # Someone edits a total behind the scoring core's back: check names it and fails.
    engine = make_engine(database)
    with engine.begin() as connection:
        connection.execute(text(
            "UPDATE standing SET total = total + 100 WHERE id = (SELECT MIN(id) FROM standing)"
        ))
    engine.dispose()
    tampered = runner.invoke(main, ["--lang", "en", "check"])
    assert tampered.exit_code == 1
    assert "total" in tampered.output

    again = runner.invoke(main, ["--lang", "en", "demo-data"])
    assert again.exit_code == 2
    assert "already holds an organisation" in again.output


def test_unknown_period_is_a_clear_message(database: str) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(main, ["--lang", "en", "check", "--period", "1999"])
    assert result.exit_code == 2
    assert "1999" in result.output


def test_a_worker_without_a_token_says_to_run_the_bot_embedded(
        database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAOHE_TELEGRAM__TOKEN", "")
    result = CliRunner().invoke(main, ["--lang", "en", "worker"])
    assert result.exit_code == 2
    assert "kaohe worker needs the Telegram token" in result.output
    assert "use kaohe run" in result.output


def test_a_worker_on_a_database_not_yet_migrated_is_refused(
        database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAOHE_TELEGRAM__TOKEN", "1:TEST")
    result = CliRunner().invoke(main, ["--lang", "en", "worker"])
    assert result.exit_code == 2
    assert "kaohe db upgrade" in result.output
