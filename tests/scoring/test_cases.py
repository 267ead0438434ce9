"""Every case of ../shared/scoring/cases.json, via the library and via `python -m scoring`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from scoring.cases import run_case

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("KAOHE_SHARED_DIR", ROOT.parent / "shared"))
CASES_FILE = SHARED / "scoring" / "cases.json"


def _cases() -> list[dict[str, Any]]:
    if not CASES_FILE.exists():
        pytest.fail(f"the scoring contract's cases are missing: {CASES_FILE}")
    cases: list[dict[str, Any]] = json.loads(CASES_FILE.read_text(encoding="utf-8"),
                                             parse_float=Decimal)
    return cases


CASES = _cases()


def _as_json(value: object) -> Any:
    """The result as the entry point prints it, read back (numbers as Decimal)."""
    text = json.dumps(value, default=lambda d: float(d))
    return json.loads(text, parse_float=Decimal)


def _check(result: dict[str, Any], expected: dict[str, Any]) -> None:
    if "error" in expected:
        assert "error" in result, f"expected a refusal, got {result}"
        assert result["error"], "a refusal must say why"
    else:
        assert result == expected


def test_the_contract_has_cases() -> None:
    assert len(CASES) >= 34
    assert any(c["input"].get("kind") == "unit" for c in CASES)
    assert any("error" in c["expected"] for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    _check(_as_json(run_case(case["input"])), _as_json(case["expected"]))


@pytest.mark.parametrize(
    "case", [c for c in CASES if "error" in c["expected"]],
    ids=[c["name"] for c in CASES if "error" in c["expected"]],
)
def test_refusal_names_the_item_and_field(case: dict[str, Any]) -> None:
    # Our wording matches the contract's examples, which name the item and the field.
    assert run_case(case["input"])["error"] == case["expected"]["error"]


def test_entry_point_answers_every_case_in_order() -> None:
    # Decimals were read from the file; write them back as JSON numbers, not strings.
    stdin = json.dumps([c["input"] for c in CASES], default=lambda d: float(d))
    done = subprocess.run(
        [sys.executable, "-m", "scoring"], input=stdin, capture_output=True, text=True,
        cwd=ROOT, check=True, timeout=60,
    )
    results = json.loads(done.stdout, parse_float=Decimal)
    assert len(results) == len(CASES)
    for case, result in zip(CASES, results, strict=True):
        _check(result, _as_json(case["expected"]))


def test_entry_point_takes_a_single_case() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scoring"], input=json.dumps({"tasks": []}),
        capture_output=True, text=True, cwd=ROOT, check=True, timeout=60,
    )
    assert json.loads(done.stdout)["total"] == 0


def test_entry_point_refuses_broken_json() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scoring"], input="{not json", capture_output=True, text=True,
        cwd=ROOT, timeout=60,
    )
    assert done.returncode == 2
    assert "not JSON" in json.loads(done.stdout)["error"]
