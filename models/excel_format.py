"""The layout of the roster and duty-list workbooks: sheets, columns and the allowed values.

The workbooks are a file format, not interface text: their sheet names, column headers and the
labels of enumerated values are Chinese whatever the user's language, so a file filled in by
anyone imports anywhere (docs/excel.md lists them with their English meaning). What is said
*about* a column (cell notes, validation messages) is in locales/ and follows the user.

Enumerated cells accept the Chinese label or the stored code ("乡镇" or "township").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from models.rules import Rules
from models.vocab import DIMENSIONS, PERIOD_KINDS, RECURRENCES, UNIT_KINDS

# A row whose first cell starts with this is the template's example, and is never imported.
EXAMPLE_PREFIX: Final = "示例"

ROSTER, TASKS = "roster", "tasks"

# What a workbook may be, checked before it is parsed (ui/workbook_scan.py): a file past these is
# refused whole. A prefecture's roster (20,000 cadres) is about 1 MB, 10 MB unpacked, 25,000 rows.
MAX_FILE_BYTES: Final = 10 * 2**20  # the .xlsx as sent
MAX_UNPACKED_BYTES: Final = 50 * 2**20  # its parts unpacked: a zip bomb stops here
MAX_ROWS: Final = 50_000  # rows in all sheets together, counted as they are read
MAX_CELL_CHARS: Final = 5_000  # one cell; the longest column read (a title) takes 300
# What the file's XML may hold, counted as it streams by before openpyxl reads it: openpyxl
# keeps an object for every element of a row, of the styles, views, merges…, many times the
# XML's size, so a small file under the limits above could still take gigabytes.
MAX_CELLS: Final = 1_000_000  # all sheets, each row counted up to its last cell (50,000 x 20)
MAX_ELEMENTS: Final = 5_000_000  # XML elements in all parts together
MAX_ROW_ELEMENTS: Final = 50_000  # in one row, or one shared string
MAX_OTHER_ELEMENTS: Final = 100_000  # outside rows and shared strings: styles, views, merges…
PROBLEMS_LISTED: Final = 30  # a refusal lists this many problems, then says how many more

# Column kinds: how a cell is read and checked (models/importing.py).
TEXT, CODE, CHOICE, NUMBER, PERCENT, DATE, FLAG = (
    "text", "code", "choice", "number", "percent", "date", "flag")


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # the field it fills
    header: str  # the Chinese header in row 1
    kind: str
    required: bool = False
    choices: str | None = None  # for CHOICE: which vocabulary (see `vocabularies`)
    max_length: int | None = None
    width: int = 14  # in characters, for the written workbook

    @property
    def note_key(self) -> str:
        return f"excel.note.{self.key}"


@dataclass(frozen=True, slots=True)
class SheetFormat:
    key: str
    name: str  # the sheet's Chinese name
    columns: tuple[Column, ...]

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.columns)


UNITS = SheetFormat("units", "单位", (
    Column("unit_code", "单位编码", CODE, required=True, max_length=64),
    Column("unit_name", "单位名称", TEXT, required=True, max_length=200, width=24),
    Column("unit_kind", "单位类型", CHOICE, required=True, choices="unit_kind"),
    Column("parent_unit", "上级单位编码", CODE, max_length=64),
    Column("post_category", "岗位类别", CHOICE, required=True, choices="post_category"),
    Column("timezone", "时区", TEXT, max_length=64, width=16),
    Column("rating_pool", "评定池", FLAG, choices="flag", width=10),
))
CADRES = SheetFormat("cadres", "干部", (
    Column("cadre_code", "干部编码", CODE, required=True, max_length=64),
    Column("cadre_name", "姓名", TEXT, required=True, max_length=100, width=18),
    Column("cadre_unit", "所在单位编码", CODE, required=True, max_length=64),
    Column("cadre_post", "岗位类别", CHOICE, choices="post_category"),
    Column("profile", "个人系数档", CHOICE, choices="profile"),
    Column("is_admin", "管理员", FLAG, choices="flag", width=10),
    Column("locale", "语言", CHOICE, choices="locale", width=10),
))
SUPERVISION = SheetFormat("supervision", "分管关系", (
    Column("supervisor", "干部编码", CODE, required=True, max_length=64),
    Column("supervised_unit", "分管单位编码", CODE, required=True, max_length=64),
))
PERIODS = SheetFormat("periods", "考核周期", (
    Column("period_code", "周期编码", CODE, required=True, max_length=16),
    Column("period_name", "周期名称", TEXT, required=True, max_length=100, width=18),
    Column("period_kind", "周期类型", CHOICE, required=True, choices="period_kind"),
    Column("starts_on", "开始日期", DATE, required=True, width=12),
    Column("ends_on", "结束日期", DATE, required=True, width=12),
    Column("parent_period", "上级周期编码", CODE, max_length=16),
    Column("active", "当前周期", FLAG, choices="flag", width=10),
))
TASK_LIST = SheetFormat("tasks", "履职事项", (
    Column("task_period", "考核周期", CODE, required=True, max_length=16, width=10),
    Column("task_code", "事项编码", CODE, required=True, max_length=64, width=16),
    Column("assessee_cadre", "考核干部编码", CODE, max_length=64),
    Column("assessee_unit", "考核单位编码", CODE, max_length=64),
    Column("title", "事项名称", TEXT, required=True, max_length=300, width=30),
    Column("dimension", "维度", CHOICE, required=True, choices="dimension", width=10),
    Column("category", "指标类别", CHOICE, required=True, choices="category", width=12),
    Column("weight", "基础分值", NUMBER, required=True, width=10),
    Column("source", "任务来源", CHOICE, choices="source", width=18),
    Column("difficulty", "难易系数", NUMBER, width=10),
    Column("boost", "动态上调(%)", PERCENT, width=12),
    Column("target", "目标值", NUMBER, width=10),
    Column("measure", "计量单位", TEXT, max_length=16, width=10),
    Column("deadline", "截止日期", DATE, width=12),
    Column("recurrence", "频次", CHOICE, choices="recurrence", width=10),
    Column("parent_task", "上级事项编码", CODE, max_length=64, width=16),
    Column("lead_unit", "牵头单位编码", CODE, max_length=64),
    Column("lead_share", "牵头单位份额(%)", PERCENT, width=16),
))
COOPERATIONS = SheetFormat("cooperations", "协同单位", (
    Column("coop_period", "考核周期", CODE, required=True, max_length=16, width=10),
    Column("coop_task", "事项编码", CODE, required=True, max_length=64, width=16),
    Column("coop_unit", "协同单位编码", CODE, required=True, max_length=64),
    Column("share", "协同份额(%)", PERCENT, required=True, width=12),
))

WORKBOOKS: Final[dict[str, tuple[SheetFormat, ...]]] = {
    ROSTER: (UNITS, CADRES, SUPERVISION, PERIODS),
    TASKS: (TASK_LIST, COOPERATIONS),
}

# Labels of the fixed vocabularies (the configurable ones come from the rules).
UNIT_KIND_LABELS: Final = {"city": "市", "department": "部门", "township": "乡镇",
                           "street": "街道", "office": "内设机构"}
DIMENSION_LABELS: Final = {"basic": "基础履职", "key": "重点任务"}
CATEGORY_LABELS: Final = {"business": "业务示范类", "general": "综合基础类"}
SOURCE_LABELS: Final = {"region": "自治区工作要求", "prefecture": "自治州工作要求",
                        "city_report": "市政府工作报告", "unit_points": "单位职能工作要点"}
RECURRENCE_LABELS: Final = {"once": "一次性", "monthly": "每月", "quarterly": "每季度"}
PERIOD_KIND_LABELS: Final = {"year": "年度", "quarter": "季度"}
FLAG_LABELS: Final = {"yes": "是", "no": "否"}
LOCALE_LABELS: Final = {"zh_CN": "中文", "en": "English"}


def vocabularies(rules: Rules) -> dict[str, dict[str, str]]:
    """Each enumerated column's allowed values: stored code -> Chinese label, in order."""
    categories: dict[str, None] = {}
    for post in rules.post_categories.values():
        categories.update(dict.fromkeys(post.policy.category_weights))
    return {
        "unit_kind": {k: UNIT_KIND_LABELS[k] for k in UNIT_KINDS},
        "post_category": {k: p.label_zh for k, p in rules.post_categories.items()},
        "profile": {k: p.label_zh for k, p in rules.profiles.items()},
        "dimension": {k: DIMENSION_LABELS[k] for k in DIMENSIONS},
        "category": {k: CATEGORY_LABELS.get(k, k) for k in categories},
        "source": {k: SOURCE_LABELS.get(k, k) for k in rules.difficulty_sources},
        "recurrence": {k: RECURRENCE_LABELS[k] for k in RECURRENCES},
        "period_kind": {k: PERIOD_KIND_LABELS[k] for k in PERIOD_KINDS},
        "flag": dict(FLAG_LABELS),
        "locale": dict(LOCALE_LABELS),
    }


def detect(sheet_names: list[str]) -> str | None:
    """Which workbook this is, from its sheet names: roster, tasks, or None (neither, or both)."""
    found = {kind for kind, sheets in WORKBOOKS.items()
             if any(s.name in sheet_names for s in sheets)}
    return found.pop() if len(found) == 1 else None
