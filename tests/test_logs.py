"""Logging as config.toml [logging] says: time and level on each line, to a file or standard
error; INFO kept; httpx (which logs URLs holding the bot token) held to warnings."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import LoggingSettings, load_settings
from bot.logs import configure

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        if handler not in handlers:
            handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.NOTSET)


def test_logs_go_to_the_configured_file_with_time_and_level(tmp_path: Path) -> None:
    configure(LoggingSettings(level="INFO", file="logs/kaohe.log"), tmp_path)
    logging.getLogger("bot.application").info("update %s delivered again; ignored", 42)
    logging.getLogger("bot.sender").debug("not at INFO")
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot123:SECRET/x")
    for handler in logging.getLogger().handlers:
        handler.flush()
    lines = (tmp_path / "logs" / "kaohe.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO bot\.application: "
                        r"update 42 delivered again; ignored", lines[0])


def test_standard_error_by_default_and_warnings_only_beside_the_terminal_chat(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    settings = load_settings(ROOT / "config.toml").logging
    assert (settings.level, settings.file) == ("INFO", "")
    configure(settings, tmp_path)
    logging.getLogger("kaohe.test").info("started")
    assert re.search(r" INFO kaohe\.test: started$", capsys.readouterr().err.strip())
    configure(settings, tmp_path, terminal_chat=True)
    logging.getLogger("kaohe.test").info("chatty")
    logging.getLogger("kaohe.test").warning("worth seeing")
    err = capsys.readouterr().err
    assert "chatty" not in err and " WARNING kaohe.test: worth seeing" in err
