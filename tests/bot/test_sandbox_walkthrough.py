"""The README's walkthrough ("Two commands"), typed into the sandbox on the demo organisation as
a new user would: by day, and at 23:30 Beijing time, inside quiet hours."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app_context import AppContext
from bot.config import load_settings
from bot.demo_data import build_demo
from models.store import Store
from sandbox.simulator import TelegramSimulator
from sandbox.terminal import Terminal
from tests.conftest import FakeClock

README = Path(__file__).resolve().parents[2] / "README.md"
BY_DAY = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
LATE = datetime(2026, 6, 15, 15, 30, tzinfo=UTC)  # 23:30 in Beijing: quiet hours
# Late in the year the demo's first task is fully approved: the walkthrough still submits.
DECEMBER = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


def _readme_script() -> list[str]:
    """The walkthrough as the README prints it: `@6`, `*1` (汇报进度), `#1`, …"""
    text = README.read_text(encoding="utf-8")
    walkthrough = text.split("Try: ", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"`([^`]+)`", walkthrough)


def test_the_readme_walkthrough_is_what_the_script_types() -> None:
    assert _readme_script() == ["@6", "*1", "#1", "30", "#1", "#1", "#1", "@3", "#1", "@6", "*3"]


@pytest.mark.parametrize("moment", [pytest.param(BY_DAY, id="10:00"),
                                    pytest.param(LATE, id="23:30"),
                                    pytest.param(DECEMBER, id="december")])
def test_the_readme_walkthrough_works(store: Store, clock: FakeClock, tmp_path: Path,
                                      moment: datetime) -> None:
    clock.now = moment
    build_demo(store)
    kaohe = AppContext(settings=load_settings(), engine=store.engine, rules=store.rules,
                       store=store)
    printed: list[str] = []
    terminal = Terminal(kaohe, out=printed.append, simulator=TelegramSimulator(rate_limits=False),
                        folder=tmp_path / "sandbox")
    script = [*_readme_script(), "!quit"]

    def read_line(prompt: str) -> str:
        line = script.pop(0)
        printed.append(prompt + line)
        return line

    asyncio.run(terminal.run(read_line))
    shown = "\n".join(printed)
    cadre, supervisor = terminal.people[5].name, terminal.people[2].name
    assert "已提交，等待分管领导审批" in shown
    # The supervisor's card arrives at once, and #1 on it grades A 优 ...
    at_supervisor = shown.split(f"{supervisor}> #1")[0].rsplit(f"{cadre}> #1", 1)[-1]
    assert "待审批汇报" in at_supervisor and "#1 A 优" in at_supervisor
    after_grading = shown.split(f"{supervisor}> #1", 1)[1]
    assert "💬 已通过：A 优" in after_grading
    # ... and the cadre, back in their chat, sees the decision and then the score.
    assert "已审批通过（A 优）" in after_grading
    assert f"{cadre} · 2026年度 得分" in shown.rsplit(f"{cadre}> *3", 1)[-1]
