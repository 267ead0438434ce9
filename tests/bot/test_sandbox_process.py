"""`kaohe run` without a token, as `make demo` starts it, fed through a pipe: run, quit, run
again — the bot answers at once with its menu; what the program prints is Chinese and the log
goes to a file, not across the prompt."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from models.store import Store
from tests.support.world import World

ROOT = Path(__file__).resolve().parents[2]


def _kaohe_run(store: Store, folder: Path, *lines: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAOHE_")}
    env.update(KAOHE_DATABASE__URL=store.engine.url.render_as_string(hide_password=False),
               KAOHE_SANDBOX__FOLDER=str(folder),
               KAOHE_WEBAPP__PORT="0")  # any free port: a `make demo` running beside holds 8088
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"], input="".join(f"{line}\n" for line in lines),
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)


def test_run_quit_run_again_and_the_menu_answers_at_once(
        store: Store, world: World, tmp_path: Path) -> None:
    folder = tmp_path / "sandbox"
    first = _kaohe_run(store, folder, "!quit")
    assert first.returncode == 0, first.stderr
    assert "考核办管理员，您好！" in first.stdout
    assert first.stderr == ""

    second = _kaohe_run(store, folder, "*3", "!quit")
    assert second.returncode == 0, second.stderr
    assert "已接着上次的沙盒继续" in second.stdout
    assert "考核办管理员，您好！" in second.stdout  # /start at launch is answered
    # Piped input is not echoed: what follows the first prompt is the answer to *3.
    assert "考核办管理员 · 2026年度 得分" in second.stdout.split("考核办管理员> ")[1]
    assert second.stderr == ""
    assert (folder / "telegram.json").exists() and (folder / "kaohe.log").exists()
    # Nothing English from the program itself (the people's names and the help's commands
    # such as !quit aside).
    said = re.sub(r"https?://\S+", "", second.stdout.replace(str(tmp_path), ""))  # links aside
    words = set(re.findall(r"[A-Za-z]{4,}", said))
    assert words <= {"Telegram", "photo", "quit", "chat", "help", "start", "sandbox", "kaohe"}, \
        words


def test_a_calendar_warning_goes_to_the_sandbox_log(tmp_path: Path) -> None:
    """chinese-calendar has no data for next year yet: the fallback is logged, to the file."""
    code = ("from datetime import date; from pathlib import Path;"
            "from sandbox.terminal import _log_to_file;"
            "from models.workdays import WorkCalendar;"
            f"_log_to_file(Path({str(tmp_path)!r}));"
            "WorkCalendar().is_workday(date(2099, 3, 3))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and done.stdout == ""
    assert "chinese-calendar has no data for 2099" in (tmp_path / "kaohe.log").read_text()
