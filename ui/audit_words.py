"""The audit log in words, in the reader's language and local time (for `kaohe audit` and the
bot's /audit): "通过汇报", not "report.approved"; "状态：待审批 → 已通过", not "state: submitted →
approved"; "审批人：镇领导", not "reviewer_id: 4"; "2026-06-15 10:00", not an ISO moment in UTC.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from models.audit_log import Names, changes, referred
from models.tables import AuditEntry
from ui.i18n import Translator, refusal_params
from ui.render import Punctuation, boost, difficulty

REFUSED = "refused."
SHOWN_CHANGES = 6  # a row added by an import lists every field: the first few tell what it is
LONGEST_VALUE = 40
# Numbers shown as everywhere else: a boost "+15%", a difficulty "1.05".
NUMBER_FORMATS = {"boost": boost, "difficulty": difficulty}
# Coded values the catalog has words for: (entity, field) -> key prefix ("" = any entity).
VOCABULARIES = {
    ("", "state"): "state", ("", "grade"): "grade", ("", "dimension"): "dimension",
    ("objection", "state"): "objection.state", ("rating_run", "state"): "rating.state",
    ("innovation_claim", "kind"): "innovation.kind",
    ("innovation_claim", "level"): "innovation.level",
}


class _KeepMissing(dict[str, Any]):
    """Format a refusal's sentence with what its audit row kept; a placeholder not kept stays."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class AuditWords:
    """Says what an audit entry records, for one reader: their language, their unit's zone."""

    def __init__(self, t: Translator, zone: tzinfo, names: Names) -> None:
        self.t, self.zone, self.names = t, zone, names
        self.p = Punctuation.of(t)

    def when(self, entry: AuditEntry) -> str:
        return entry.at.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def actor(self, entry: AuditEntry) -> str:
        if entry.actor_id is None:
            return self.t("cli.audit.system")
        return self.names.cadres.get(entry.actor_id) or self.t("cli.audit.system")

    def action(self, entry: AuditEntry) -> str:
        """What was done, as a verb phrase; a refusal says why it was refused."""
        if entry.action.startswith(REFUSED):
            return self.t("audit.refused", reason=self._refusal(entry))
        key = f"audit.action.{entry.action}"
        return self.t(key) if self.t.has(key) else entry.action

    def _refusal(self, entry: AuditEntry) -> str:
        key = "refused." + entry.action.removeprefix(REFUSED)
        if not self.t.has(key):
            return entry.action.removeprefix(REFUSED)
        kept: Mapping[str, Any] = entry.after or {}
        return string.Formatter().vformat(self.t(key), (),
                                          _KeepMissing(refusal_params(self.t, kept)))

    def target(self, entry: AuditEntry) -> str:
        """The row acted on: its kind in words, and its name where it has one."""
        key = f"audit.entity.{entry.entity}"
        kind = self.t(key) if self.t.has(key) else entry.entity
        name = self.names.of(entry.entity, entry.entity_id) if entry.entity in (
            "cadre", "unit", "task", "period") else None
        return f"{kind}{self.p.colon}{name}" if name else kind

    def change(self, entry: AuditEntry) -> str:
        """Each field that changed: its name in words, the value before → after (a new row: what
        it holds)."""
        if entry.action.startswith(REFUSED):
            return ""
        new_row = entry.before is None
        shown = [f"{self._field(name)}{self.p.colon}"
                 + ("" if new_row else f"{self._value(entry, name, old)} → ")
                 + self._value(entry, name, new)
                 for name, (old, new) in changes(entry).items()
                 if not (new_row and new is None)]
        more = " …" if len(shown) > SHOWN_CHANGES else ""
        return self.t("punct.list").join(shown[:SHOWN_CHANGES]) + more

    def _field(self, name: str) -> str:
        key = f"audit.field.{name}"
        return self.t(key) if self.t.has(key) else name

    def _value(self, entry: AuditEntry, field: str, value: Any) -> str:
        if value is None or value == "" or value == []:
            return "—"
        if isinstance(value, bool):
            return self.t("audit.yes" if value else "audit.no")
        kind = referred(entry.entity, field)
        if kind is not None:
            return self.names.of(kind, value) or str(value)
        vocabulary = VOCABULARIES.get((entry.entity, field)) or VOCABULARIES.get(("", field))
        if vocabulary and self.t.has(f"{vocabulary}.{value}"):
            return self.t(f"{vocabulary}.{value}")
        if field in NUMBER_FORMATS:
            return NUMBER_FORMATS[field](value)
        if field == "evidence" and isinstance(value, list):
            return str(len(value))  # how many files
        text = self._moment(value) if isinstance(value, str) else str(value)
        return text if len(text) <= LONGEST_VALUE else text[:LONGEST_VALUE - 1] + "…"

    def _moment(self, text: str) -> str:
        """A moment the row kept (ISO, in UTC) as the reader's clock shows it; other text as is."""
        if "T" not in text:
            return text
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
        if moment.tzinfo is None:
            return text
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")
