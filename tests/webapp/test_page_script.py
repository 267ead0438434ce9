"""The page's script under node, with a small DOM (page_harness.js): what a viewer sees when a
request fails where the browser test (Debian's chromium) does not look."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ui.i18n import Translator
from webapp import present
from webapp.api import STATIC

HERE = Path(__file__).resolve().parent
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def run_page(tmp_path: Path, answers: dict[str, list[dict[str, Any]]],
             steps: list[str]) -> dict[str, Any]:
    script = tmp_path / "answers.json"
    script.write_text(json.dumps(answers, ensure_ascii=False), encoding="utf-8")
    done = subprocess.run([NODE or "node", str(HERE / "page_harness.js"), str(script),
                           json.dumps(steps), str(STATIC / "app.js")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _late(unit: str, following: int | None) -> dict[str, Any]:
    return {"status": 200, "body": {"units": [{"unit": {"id": 1, "name": unit}, "people": [
        {"cadre_id": 7, "name": "艾丽", "tasks": ["月报"]}]}], "next": following}}


def test_a_failed_load_more_of_late_says_so_and_can_be_retried(tmp_path: Path) -> None:
    """加载更多 on 未按期汇报: the next page failing left the button disabled and said
    nothing. Now the failure's sentence is shown, as for every other failure, and the button
    is pressed again to retry; once it works the sentence goes."""
    t = Translator("zh_CN")
    failure = {"status": 500, "body": {"error": "internal", "message": t("webapp.error")}}
    answers = {
        "/api/me": [{"status": 200, "body": {
            "cadre_id": 3, "name": "镇领导", "unit_id": 1, "role": "supervisor",
            "locale": "zh_CN", "strings": present.strings(t)}}],
        "/api/overview": [{"status": 200, "body": {"period": {"name": "2026"}, "units": []}}],
        "/api/late": [_late("党政办", 100)],
        "/api/late?start=100": [failure, _late("财政所", None)],
    }
    page = run_page(tmp_path, answers, ["tab:late", "more", "more"])
    listed, failed, retried = page["reports"]
    assert listed["more"] == [{"disabled": False, "last": True}] and listed["errors"] == []
    assert failed["errors"] == ["加载失败，请稍后重试。"]
    assert failed["more"] == [{"disabled": False, "last": True}]
    assert page["unhandled"] == []
    assert failed["headings"] == ["党政办 · 1"]
    assert retried["errors"] == [] and retried["more"] == []
    assert retried["headings"] == ["党政办 · 1", "财政所 · 1"]
    assert page["unhandled"] == []


def test_a_load_more_that_cannot_reach_the_server_says_so_too(tmp_path: Path) -> None:
    """fetch itself failing (no network): a sentence, and the button again."""
    t = Translator("en")
    answers = {
        "/api/me": [{"status": 200, "body": {
            "cadre_id": 3, "name": "Boss", "unit_id": 1, "role": "supervisor",
            "locale": "en", "strings": present.strings(t)}}],
        "/api/overview": [{"status": 200, "body": {"period": {"name": "2026"}, "units": []}}],
        "/api/late": [_late("Office", 100)],
    }
    page = run_page(tmp_path, answers, ["tab:late", "more"])
    failed = page["reports"][1]
    assert len(failed["errors"]) == 1  # the browser's own words (TypeError), as on every page
    assert failed["more"] == [{"disabled": False, "last": True}]
    assert page["unhandled"] == []
