"""Every action the code writes to the audit log, and every field of a row it audits, has words
in both languages (ui/audit_words.py shows them, never the codes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import SQLModel

import models.tables  # noqa: F401  (registers the tables)
from ui.i18n import LOCALES, Translator

ROOT = Path(__file__).resolve().parent.parent
# Actions written with a state in them: f"report.{state}" and the like.
DECIDED = {"report": ("approved", "returned", "rejected"),
           "innovation": ("approved", "rejected"), "objection": ("upheld", "dismissed")}


def _actions() -> set[str]:
    found = {f"{kind}.{state}" for kind, states in DECIDED.items() for state in states}
    for path in (ROOT / "models").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'(?:audit\.record|_apply)\(\s*ctx,\s*[\w.]+,\s*"([a-z_.]+)"',
                                text))
    return found


def test_the_scan_finds_the_actions() -> None:
    actions = _actions()
    assert {"report.submit", "task.update", "period.activate", "report.approved"} <= actions
    assert len(actions) >= 40


@pytest.mark.parametrize("locale", LOCALES)
def test_every_audited_action_has_words(locale: str) -> None:
    t = Translator(locale)
    assert sorted(a for a in _actions() if not t.has(f"audit.action.{a}")) == []


@pytest.mark.parametrize("locale", LOCALES)
def test_every_field_of_an_audited_row_has_words(locale: str) -> None:
    t = Translator(locale)
    audited = ("unit", "cadre", "supervision", "delegation", "period", "task", "cooperation",
               "report", "innovation_claim", "invite_code", "rating_run", "objection")
    missing = sorted(f"{table}.{column.name}" for table in audited
                     for column in SQLModel.metadata.tables[table].columns
                     if column.name != "id" and not t.has(f"audit.field.{column.name}"))
    assert missing == []
    assert sorted(e for e in audited if not t.has(f"audit.entity.{e}")) == []
