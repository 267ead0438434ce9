"""What the workbooks written by ui/workbooks.py hold, read from the database.

- `roster_rows` and `task_rows`: the organisation and a period's duty lists in the import
  format of models/excel_format.py (Chinese labels, percentages), so a written file imports
  back unchanged;
- `results`: a period's standings with each assessee's per-task breakdown, the annual grade
  the scoring core would give now in the cadre's rating pool (models/rating_preview.py), the
  pools themselves, and how the print is to be marked (预览稿, 公示稿, or nothing once final).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from models.excel_format import FLAG_LABELS, vocabularies
from models.facts import AssesseeRef, FactsLoader
from models.ranks import CADRE, UNIT, RankBook, kind_of
from models.rating import run_of
from models.rating_pools import NOT_RATED, PoolQuota
from models.rating_preview import RatingPreview, preview_from
from models.rules import Rules
from models.shown import ShownScore, shown
from models.tables import Cadre, Cooperation, Period, Standing, Supervision, Task, Unit
from models.vocab import FINAL, PUBLICITY
from scoring import score_assessee

Row = dict[str, Any]  # column key -> value, as models/excel_format.py names the columns


def _flag(value: bool) -> str:
    return FLAG_LABELS["yes" if value else "no"]


def _percent(fraction: Decimal | None) -> Decimal | None:
    return None if fraction is None else (fraction * 100).normalize() + 0


def roster_rows(session: Session, rules: Rules) -> dict[str, list[Row]]:
    """Units, cadres, supervisors and periods, by sheet key, in the order they were made."""
    vocab = vocabularies(rules)
    units = session.exec(select(Unit).order_by(col(Unit.id))).all()
    code_of = {u.id: u.code for u in units}
    cadres = session.exec(select(Cadre).order_by(col(Cadre.id))).all()
    cadre_code = {c.id: c.code for c in cadres}
    periods = session.exec(select(Period).order_by(col(Period.id))).all()
    period_code = {p.id: p.code for p in periods}
    links = session.exec(select(Supervision).order_by(
        col(Supervision.cadre_id), col(Supervision.unit_id))).all()
    unit_category = {u.id: u.post_category for u in units}
    return {
        "units": [{
            "unit_code": u.code, "unit_name": u.name, "unit_kind": vocab["unit_kind"][u.kind],
            "parent_unit": code_of.get(u.parent_id),
            "post_category": vocab["post_category"][u.post_category], "timezone": u.timezone,
            "rating_pool": None if u.rating_pool is None else _flag(u.rating_pool),
        } for u in units],
        "cadres": [{
            "cadre_code": c.code, "cadre_name": c.name, "cadre_unit": code_of[c.unit_id],
            # Blank when it is the unit's: the cadre then follows their unit's category.
            "cadre_post": None if c.post_category == unit_category[c.unit_id]
            else vocab["post_category"][c.post_category],
            "profile": vocab["profile"][c.profile], "is_admin": _flag(c.is_admin),
            "locale": c.locale,
        } for c in cadres],
        "supervision": [{"supervisor": cadre_code[s.cadre_id],
                         "supervised_unit": code_of[s.unit_id]} for s in links],
        "periods": [{
            "period_code": p.code, "period_name": p.name,
            "period_kind": vocab["period_kind"][p.kind], "starts_on": p.starts_on,
            "ends_on": p.ends_on, "parent_period": period_code.get(p.parent_id),
            "active": _flag(p.is_active),
        } for p in periods],
    }


def task_rows(session: Session, rules: Rules, period: Period) -> dict[str, list[Row]]:
    """A period's duty items and their co-operating units, by sheet key."""
    vocab = vocabularies(rules)
    tasks = session.exec(select(Task).where(Task.period_id == period.id)
                         .order_by(col(Task.id))).all()
    task_code = {t.id: t.code for t in tasks}
    units = {u.id: u.code for u in session.exec(select(Unit)).all()}
    cadres = {c.id: c.code for c in session.exec(select(Cadre)).all()}
    cooperations = session.exec(select(Cooperation).where(
        col(Cooperation.task_id).in_(list(task_code))).order_by(col(Cooperation.id))).all()
    shared: dict[int, Decimal] = defaultdict(Decimal)
    for c in cooperations:
        shared[c.task_id] += c.share

    def difficulty(task: Task) -> Decimal | None:
        """Only when set apart from its source level's coefficient."""
        if task.source is not None and rules.default_difficulty(task.source) == task.difficulty:
            return None
        return task.difficulty.normalize() + 0

    return {
        "tasks": [{
            "task_period": period.code, "task_code": t.code,
            "assessee_cadre": cadres.get(t.cadre_id), "assessee_unit": units.get(t.unit_id),
            "title": t.title, "dimension": vocab["dimension"][t.dimension],
            "category": vocab["category"].get(t.category, t.category),
            "weight": t.weight.normalize() + 0,
            "source": None if t.source is None else vocab["source"].get(t.source, t.source),
            "difficulty": difficulty(t), "boost": _percent(t.boost),
            "target": None if t.target is None else t.target.normalize() + 0,
            "measure": t.measure, "deadline": t.deadline,
            "recurrence": vocab["recurrence"][t.recurrence],
            "parent_task": task_code.get(t.parent_id), "lead_unit": units.get(t.lead_unit_id),
            "lead_share": _percent(1 - shared[t.id or 0]) if t.id in shared else None,
        } for t in tasks],
        "cooperations": [{
            "coop_period": period.code, "coop_task": task_code[c.task_id],
            "coop_unit": units[c.unit_id], "share": _percent(c.share),
        } for c in cooperations],
    }


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskLine:
    code: str
    title: str
    dimension: str
    weight: Decimal  # its share of the 100 points, after any boost
    progress: Decimal
    grade: str | None  # the reviewer's A-D
    difficulty: Decimal
    boost: Decimal | None
    points: Decimal  # the lines' points sum to the row's base (models/shown.py)


@dataclass(frozen=True, slots=True)
class ResultRow:
    kind: str  # cadre or unit
    code: str
    name: str
    unit_id: int  # the unit it ranks in (a unit: its parent; the top unit: itself)
    unit_name: str
    post_category: str
    # As shown (models/shown.py): base + innovation + collaboration = total, the exact total
    # rounded half up; key is the sum of the key tasks' lines, a part of base.
    base: Decimal
    key: Decimal
    innovation: Decimal
    collaboration: Decimal
    total: Decimal
    rank_in_unit: int
    rank_in_post: int
    # A cadre's annual grade in their rating pool as it stands now, "not_rated" (未参评), or
    # None (a unit: units are not rated).
    grade: str | None
    pool: str | None  # the name of the cadre's rating pool
    tasks: tuple[TaskLine, ...]


# How a printed results workbook is marked on every page: before the 公示 (or after an unlock)
# it is a preview, during the 公示 the publicity copy; only the final one carries no mark.
PREVIEW_MARK, PUBLICITY_MARK = "preview", "publicity"


@dataclass(frozen=True, slots=True)
class Results:
    rows: list[ResultRow]
    pools: tuple[PoolQuota, ...]
    mark: str | None  # PREVIEW_MARK, PUBLICITY_MARK or None (final)


def results_mark(session: Session, period: Period) -> str | None:
    run = run_of(session, period.id or 0)
    if run is not None and run.state == FINAL:
        return None
    return PUBLICITY_MARK if run is not None and run.state == PUBLICITY else PREVIEW_MARK


def results(session: Session, rules: Rules, period: Period) -> Results:
    """Every assessee of the period, cadres then units, each by rank in their unit; the rating
    pools; and the mark the print carries."""
    units = {u.id: u for u in session.exec(select(Unit)).all()}
    cadres = {c.id: c for c in session.exec(select(Cadre)).all()}
    tasks = {t.id: t for t in session.exec(select(Task).where(
        Task.period_id == period.id)).all()}
    loaded = FactsLoader(session, rules, period).load(None)
    scores = {ref: score_assessee(facts.input) for ref, facts in loaded.items()}
    rating = preview_from(session, rules, period, loaded, scores)
    rows = []
    books = {kind: RankBook(session, period.id or 0, kind) for kind in (CADRE, UNIT)}
    for s in session.exec(select(Standing).where(Standing.period_id == period.id)).all():
        ranks = books[kind_of(s)].ranks(s.group_unit_id, s.post_category, s.total)
        owner: Cadre | Unit = cadres[s.cadre_id] if s.cadre_id is not None else \
            units[s.unit_id]
        group = units[s.group_unit_id if s.group_unit_id is not None else owner.id]
        grade, pool = _grade(rating, owner)
        ref = AssesseeRef("cadre" if isinstance(owner, Cadre) else "unit", owner.id or 0)
        facts = loaded.get(ref)
        figures = shown(facts, scores[ref]) if facts is not None else ShownScore(
            s.base, s.key_points, s.innovation, s.collaboration, s.total, (), Decimal(0))
        rows.append(ResultRow(
            ref.kind, owner.code, owner.name, group.id or 0, group.name, s.post_category,
            figures.base, figures.key, figures.innovation, figures.collaboration,
            figures.total, ranks.in_unit, ranks.in_post, grade, pool,
            tuple(TaskLine(tasks[line.task_id].code, tasks[line.task_id].title,
                           line.dimension, line.weight, line.progress, line.grade,
                           line.difficulty, line.boost, line.points)
                  for line in figures.tasks)))
    rows.sort(key=lambda r: (r.kind != "cadre", units[r.unit_id].path, r.rank_in_unit, r.code))
    return Results(rows, rating.pools, results_mark(session, period))


def _grade(rating: RatingPreview, owner: Cadre | Unit) -> tuple[str | None, str | None]:
    if not isinstance(owner, Cadre):
        return None, None
    rated = rating.grade_of(owner.id or 0)
    if rated is not None:
        return rated[1].grade, rated[0].name
    skipped = rating.not_rated(owner.id or 0)
    return (NOT_RATED, skipped[0].name) if skipped is not None else (None, None)

