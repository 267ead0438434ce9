"""The command line speaks Chinese by default, English with --lang en: its --help, click's usage
errors, and the office's mistakes (a folder that does not exist, a negative limit) as clear
messages rather than tracebacks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner

from bot.cli import main
from bot.cli_i18n import help_keys
from ui.i18n import LOCALES, po_path


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("KAOHE_DATABASE__URL", f"sqlite:///{tmp_path / 'kaohe.db'}")
    return CliRunner()


def test_help_is_chinese_by_default_and_english_on_request(runner: CliRunner) -> None:
    shown = runner.invoke(main, ["--help"])
    assert shown.exit_code == 0
    assert shown.output.startswith("用法： kaohe [OPTIONS] COMMAND [ARGS]...")
    assert "选项：" in shown.output and "命令：" in shown.output
    assert "显示本帮助并退出。" in shown.output
    assert re.search(r"standings +打印某一考核期的得分排行", shown.output)
    assert "Show this message" not in shown.output and "Usage" not in shown.output

    rate = runner.invoke(main, ["rate", "--help"]).output
    assert "年度评定：预览、公示、异议、定稿、解锁。" in rate
    assert "公示天数，含当天，1 至 30" in rate

    english = runner.invoke(main, ["--lang", "en", "rate", "--help"]).output
    assert english.startswith("Usage: kaohe rate [OPTIONS]")
    assert "The annual rating: preview, publish" in english
    assert "Show this message and exit." in english and "年度评定" not in english
    # Back to Chinese in the same process: nothing stays in the last language.
    assert "显示本帮助并退出。" in runner.invoke(main, ["admin", "invite", "--help"]).output


def test_usage_errors_are_chinese_by_default(runner: CliRunner) -> None:
    typo = runner.invoke(main, ["stand"])
    assert typo.exit_code == 2
    assert "错误：没有命令 'stand'。" in typo.output and "'standings'" in typo.output
    assert "输入“kaohe --help”查看帮助。" in typo.output

    negative = runner.invoke(main, ["standings", "--limit", "-5"])
    assert negative.exit_code == 2
    assert "错误：'--limit' 的值无效：-5 不在允许的范围 x>=1 内。" in negative.output
    missing = runner.invoke(main, ["template", "roster"])
    assert missing.exit_code == 2 and "缺少参数 'FILE'" in missing.output

    english = runner.invoke(main, ["--lang", "en", "standings", "--limit", "-5"])
    assert english.exit_code == 2
    assert "Error: Invalid value for '--limit': -5 is not in the range x>=1." in english.output


def test_every_command_and_option_has_its_help_in_both_catalogs() -> None:
    needed = set(help_keys(main))
    for locale in LOCALES:
        with po_path(locale).open("rb") as handle:
            have = {m.id for m in read_po(handle) if m.id and m.string}
        assert sorted(needed - have) == [], locale


@pytest.mark.parametrize("command", [["template", "roster"], ["export"], ["export", "roster"]])
def test_a_workbook_into_a_missing_folder_is_a_clear_message(
        runner: CliRunner, tmp_path: Path, command: list[str]) -> None:
    target = tmp_path / "没有的文件夹" / "out.xlsx"
    result = runner.invoke(main, [*command, str(target)])
    assert result.exit_code == 2, result.output
    assert f"文件夹 {target.parent} 不存在，未写入 out.xlsx。" in result.output.replace("\n", "")
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert not target.parent.exists()


def test_a_command_on_an_empty_database_says_what_to_run(runner: CliRunner) -> None:
    result = runner.invoke(main, ["standings"])
    assert result.exit_code == 2
    assert "请先运行 kaohe db upgrade" in result.output
