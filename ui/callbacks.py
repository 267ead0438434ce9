"""Every kind of inline button the bot makes: its callback data, its fields and who may press it.

A kind is a frozen dataclass with a `template` ("rv:{report}:{grade}"): the fields between braces
are its dataclass fields, typed `int` (a row id or page, 0 … 2^63-1) or `str` (a short word; a
`Literal[...]` annotation lists the only words allowed). `door` (models/doors.py) says who may
press it and `subject` which field names the row the door is about; `named` names a field that
holds the only cadre who may press it; `in_groups` allows it in group chats.

Buttons are made from the same classes (`ReviewGrade(report=5, grade="A").button(label)`), and
handlers/dispatch.py registers each handler for a kind, so a button and its handler cannot
drift apart. Data longer than Telegram's 64 bytes cannot be built.

Where to find things: a kind here → its handler registered with `Kind.handler(...)` in
handlers/<feature>.py → its card in ui/cards.py, ui/digests.py or ui/rating_cards.py.
"""

from __future__ import annotations

import re
import string
import typing
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal, Self

from telegram import InlineKeyboardButton

from models.doors import Door
from models.tables import ID_MAX

CALLBACK_DATA_LIMIT = 64  # bytes, Telegram's limit
WORD = r"[A-Za-z0-9_]{1,32}"


class BadCallback(ValueError):
    """Data that has the shape of a kind but not a valid value (an id beyond any row)."""


class Callback:
    template: ClassVar[str]
    door: ClassVar[Door] = Door.ANYONE
    subject: ClassVar[str | None] = None
    entity: ClassVar[str] = ""
    named: ClassVar[str | None] = None
    in_groups: ClassVar[bool] = False
    KINDS: ClassVar[list[type[Callback]]] = []
    _shape: ClassVar[re.Pattern[str]]
    _types: ClassVar[dict[str, Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Callback.KINDS.append(cls)

    @classmethod
    def _compiled(cls) -> re.Pattern[str]:
        if "_shape" not in cls.__dict__:
            hints = typing.get_type_hints(cls)
            cls._types = {f.name: hints[f.name] for f in fields(cls)}  # type: ignore[arg-type]
            pattern = ""
            for literal, name, _, _ in string.Formatter().parse(cls.template):
                pattern += re.escape(literal)
                if name:
                    pattern += f"(?P<{name}>{_field_pattern(cls._types[name])})"
            cls._shape = re.compile(pattern)
        return cls._shape

    @classmethod
    def matches(cls, data: object) -> bool:
        """Has this kind's shape (ids may still be out of range: `parse` refuses those)."""
        return isinstance(data, str) and cls._compiled().fullmatch(data) is not None

    @classmethod
    def parse(cls, data: str) -> Self:
        found = cls._compiled().fullmatch(data)
        if found is None:
            raise BadCallback(data)
        values: dict[str, Any] = {}
        for name, kind in cls._types.items():
            text = found.group(name)
            if kind is int:
                number = int(text)
                if number > ID_MAX:
                    raise BadCallback(data)
                values[name] = number
            else:
                values[name] = text
        return cls(**values)

    @property
    def data(self) -> str:
        values = {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]
        data = self.template.format(**values)
        if len(data.encode()) > CALLBACK_DATA_LIMIT or not self.matches(data):
            raise ValueError(f"not valid callback data: {data!r}")
        return data

    def button(self, label: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(label, callback_data=self.data)

    @property
    def subject_id(self) -> int | None:
        return None if self.subject is None else int(getattr(self, self.subject))

    @property
    def named_id(self) -> int | None:
        return None if self.named is None else int(getattr(self, self.named))


def _field_pattern(kind: Any) -> str:
    if kind is int:
        # ASCII digits only (\d takes "１" or "١" for 1: data no button of ours makes), and
        # longer than any id: a forged one is refused, not taken for another.
        return r"[0-9]{1,25}"
    if typing.get_origin(kind) is Literal:
        return "|".join(re.escape(str(choice)) for choice in typing.get_args(kind))
    return WORD


def kind_of(data: object) -> type[Callback] | None:
    """The kind whose shape this data has, if any."""
    for kind in Callback.KINDS:
        if kind.matches(data):
            return kind
    return None


# -- reporting progress (handlers/report.py) --------------------------------------------------


@dataclass(frozen=True)
class ReportTask(Callback):
    """Report on this task (the task picker, and the button under a reminder)."""

    template = "rep:t:{task}"
    door = Door.TASK_REPORTER
    subject, entity = "task", "task"
    task: int


@dataclass(frozen=True)
class ReportPage(Callback):
    template = "rep:p:{page}"
    page: int


@dataclass(frozen=True)
class ReportStep(Callback):
    """Skip, done (with the evidence), submit, cancel; `sure`: yes, use the amount although it
    lowers the approved one or passes the target; `clear`: remove the attachments added."""

    template = "rep:{step}"
    step: Literal["skip", "done", "ok", "x", "sure", "clear"]


@dataclass(frozen=True)
class ReportEdit(Callback):
    """Before submitting: change the amount (a), the evidence (f) or the note (n)."""

    template = "rep:e:{part}"
    part: Literal["a", "f", "n"]


# -- reviewing (handlers/review.py) -----------------------------------------------------------


@dataclass(frozen=True)
class ReviewGrade(Callback):
    """Approve the report with a grade."""

    template = "rv:{report}:{grade}"
    door = Door.REPORT_REVIEWER
    subject, entity = "report", "report"
    report: int
    grade: Literal["A", "B", "C", "D"]


@dataclass(frozen=True)
class ReviewReason(Callback):
    """Return (ret) or reject (rej) the report: asks for the reason."""

    template = "rv:{report}:{action}"
    door = Door.REPORT_REVIEWER
    subject, entity = "report", "report"
    report: int
    action: Literal["ret", "rej"]


@dataclass(frozen=True)
class ReviewOpen(Callback):
    """Show the review card of a waiting report (from the 待审批 list)."""

    template = "rv:o:{report}"
    door = Door.REPORT_REVIEWER
    subject, entity = "report", "report"
    report: int


@dataclass(frozen=True)
class ReviewPage(Callback):
    """A page of the 待审批 list."""

    template = "rv:p:{page}"
    door = Door.REVIEWER
    page: int


@dataclass(frozen=True)
class ReviewCancel(Callback):
    template = "rvx"


# -- innovation claims (handlers/claim.py) ----------------------------------------------------


@dataclass(frozen=True)
class ClaimKind(Callback):
    template = "cl:k:{kind}"
    kind: str


@dataclass(frozen=True)
class ClaimLevel(Callback):
    template = "cl:l:{level}"
    level: str


@dataclass(frozen=True)
class ClaimStep(Callback):
    """Evidence done, submit, cancel."""

    template = "cl:{step}"
    step: Literal["done", "ok", "x"]


@dataclass(frozen=True)
class ClaimDecision(Callback):
    """The office approves (ok) or rejects (no) an innovation claim."""

    template = "ic:{claim}:{decision}"
    door = Door.CLAIM_REVIEWER
    subject, entity = "claim", "innovation_claim"
    claim: int
    decision: Literal["ok", "no"]


# -- the office's menu (handlers/admin.py, handlers/excel.py, handlers/rating.py) -------------

AdminActionName = Literal["boost", "difficulty", "invite", "period", "claims", "digest_preview",
                          "digest_now", "blocked", "privileges", "rating", "audit", "xlsx",
                          "xlsx_in", "x"]


@dataclass(frozen=True)
class AdminAction(Callback):
    template = "adm:{action}"
    door = Door.ADMIN
    action: AdminActionName


@dataclass(frozen=True)
class AdminPeriod(Callback):
    """Make this period the active one."""

    template = "adm:p:{period}"
    door = Door.ADMIN
    subject, entity = "period", "period"
    period: int


@dataclass(frozen=True)
class AdminPeriodConfirm(Callback):
    """Yes, make this period the active one (ok), or leave things as they are (no): the
    question says what a switch changes."""

    template = "adm:p:{step}:{period}"
    door = Door.ADMIN
    subject, entity = "period", "period"
    step: Literal["ok", "no"]
    period: int


@dataclass(frozen=True)
class InviteBound(Callback):
    """The cadre is bound to a Telegram account already: issue a code all the same (go), or
    not (stop)."""

    template = "adm:i:{step}:{cadre}"
    door = Door.ADMIN
    subject, entity = "cadre", "cadre"
    step: Literal["go", "stop"]
    cadre: int


# An office dialog that names a person or a task offers a unit first, then the unit's people
# or tasks (handlers/picker.py); `purpose` says which dialog, so a button of one is never
# taken by another.
OfficePick = Literal["boost", "difficulty", "invite", "privileges"]


@dataclass(frozen=True)
class PickUnits(Callback):
    """A page of the units to choose from."""

    template = "pk:{purpose}:l:{page}"
    door = Door.ADMIN
    purpose: OfficePick
    page: int


@dataclass(frozen=True)
class PickUnit(Callback):
    """A unit's people or tasks (a page of them)."""

    template = "pk:{purpose}:u:{unit}:{page}"
    door = Door.ADMIN
    subject, entity = "unit", "unit"
    purpose: OfficePick
    unit: int
    page: int


@dataclass(frozen=True)
class PickCadre(Callback):
    template = "pk:{purpose}:c:{cadre}"
    door = Door.ADMIN
    subject, entity = "cadre", "cadre"
    purpose: OfficePick
    cadre: int


@dataclass(frozen=True)
class PickTask(Callback):
    template = "pk:{purpose}:t:{task}"
    door = Door.ADMIN
    subject, entity = "task", "task"
    purpose: OfficePick
    task: int


@dataclass(frozen=True)
class RatingAction(Callback):
    """Unlock, publish, finalise (asks first), or list the objections of a period's rating."""

    template = "rt:{action}:{period}"
    door = Door.ADMIN
    subject, entity = "period", "period"
    action: Literal["unl", "pub", "fin", "obj"]
    period: int


@dataclass(frozen=True)
class RatingConfirm(Callback):
    template = "rt:ok:{action}:{period}"
    door = Door.ADMIN
    subject, entity = "period", "period"
    action: Literal["pub", "fin"]
    period: int


@dataclass(frozen=True)
class ObjectionNew(Callback):
    """A rated cadre objects to their published grade (the 公示 notice's button)."""

    template = "obj:new:{period}"
    door = Door.RATED
    subject, entity = "period", "period"
    period: int


@dataclass(frozen=True)
class ObjectionStep(Callback):
    template = "obj:{step}"
    step: Literal["ok", "x"]


@dataclass(frozen=True)
class ObjectionAnswer(Callback):
    """The office upholds (up) or dismisses (dis) an objection."""

    template = "obj:{decision}:{objection}"
    door = Door.OBJECTION_ANSWERER
    subject, entity = "objection", "objection"
    decision: Literal["up", "dis"]
    objection: int


# -- taking rights back (handlers/privileges.py) ----------------------------------------------


@dataclass(frozen=True)
class DelegationRevoke(Callback):
    """Revoke a delegation (the /delegations list): its supervisor, or an admin."""

    template = "pv:d:{delegation}"
    door = Door.DELEGATION_REVOKER
    subject, entity = "delegation", "delegation"
    delegation: int


@dataclass(frozen=True)
class SupervisionRevoke(Callback):
    """The office ends a cadre's supervision of a unit (管理 → 人员权限)."""

    template = "pv:s:{cadre}:{unit}"
    door = Door.ADMIN
    subject, entity = "cadre", "cadre"
    cadre: int
    unit: int


@dataclass(frozen=True)
class CadreDeactivate(Callback):
    """The office deactivates a cadre: asks first (ask), then does it (yes), or not (no)."""

    template = "pv:x:{step}:{cadre}"
    door = Door.ADMIN
    subject, entity = "cadre", "cadre"
    step: Literal["ask", "yes", "no"]
    cadre: int


# -- choosing a delegate (handlers/review.py /delegate): the picker's kinds for supervisors ---


@dataclass(frozen=True)
class DelegateUnits(Callback):
    template = "dg:l:{page}"
    door = Door.REVIEWER
    page: int


@dataclass(frozen=True)
class DelegateUnit(Callback):
    template = "dg:u:{unit}:{page}"
    door = Door.REVIEWER
    subject, entity = "unit", "unit"
    unit: int
    page: int


@dataclass(frozen=True)
class DelegateCadre(Callback):
    template = "dg:c:{cadre}"
    door = Door.REVIEWER
    subject, entity = "cadre", "cadre"
    cadre: int


# -- looking at things (handlers/mine.py, handlers/start.py) ----------------------------------


@dataclass(frozen=True)
class TasksPage(Callback):
    template = "tasks:p:{page}"
    page: int


@dataclass(frozen=True)
class RankUnit(Callback):
    """The standings of a unit: one's own, or one overseen."""

    template = "rank:u:{unit}"
    door = Door.UNIT_VIEWER
    subject, entity = "unit", "unit"
    unit: int


@dataclass(frozen=True)
class RankUnits(Callback):
    """A page of the units one oversees."""

    template = "rank:l:{page}"
    door = Door.REVIEWER
    page: int


@dataclass(frozen=True)
class RankMissing(Callback):
    """Who in an overseen unit has not reported on what is due."""

    template = "rank:m:{unit}"
    door = Door.UNIT_OVERSEER
    subject, entity = "unit", "unit"
    unit: int


@dataclass(frozen=True)
class Language(Callback):
    template = "lang:{locale}"
    locale: Literal["zh_CN", "en"]


# -- what if, and warnings (handlers/whatif.py, handlers/warn.py; docs/insight.md) -----------


@dataclass(frozen=True)
class WhatifTask(Callback):
    """Project this task: the 推演 button under 我的任务, the /whatif list, 再推演一次."""

    template = "wi:t:{task}"
    door = Door.TASK_OWNER
    subject, entity = "task", "task"
    task: int


@dataclass(frozen=True)
class WhatifPage(Callback):
    template = "wi:p:{page}"
    page: int


@dataclass(frozen=True)
class WhatifProgress(Callback):
    """A quick progress while a projection waits for one (any other is typed)."""

    template = "wi:v:{percent}"
    percent: Literal["100", "80", "60"]


@dataclass(frozen=True)
class WhatifGrade(Callback):
    template = "wi:g:{grade}"
    grade: Literal["A", "B", "C", "D"]


@dataclass(frozen=True)
class WhatifCancel(Callback):
    template = "wi:x"


@dataclass(frozen=True)
class WarnPage(Callback):
    """A page of /warn: the red and yellow tasks under the units one oversees."""

    template = "wn:p:{page}"
    door = Door.REVIEWER
    page: int


@dataclass(frozen=True)
class WarnRemind(Callback):
    """提醒: remind the task's cadre now (models/warnings.remind checks the same again)."""

    template = "wn:r:{task}"
    door = Door.TASK_REVIEWER
    subject, entity = "task", "task"
    task: int


# -- group chats (handlers/groups.py) ---------------------------------------------------------


@dataclass(frozen=True)
class GroupBind(Callback):
    """/bindgroup with several units: the unit to link; only the cadre who asked may choose."""

    template = "grp:{unit}:{cadre}"
    door = Door.GROUP_BINDER
    subject, entity = "unit", "unit"
    named = "cadre"
    in_groups = True
    unit: int
    cadre: int
