"""`check`'s fast path for one chunk of cadres: confirm that every stored standing is right.

The full recompute spent most of its time in per-task Python: a TaskFacts, a TaskInput and a
TaskScore per task, and a breakdown of formatted figures per cadre. Here each task stays a
tuple from its row to its breakdown, and `scoring.lean` scores it (the same exact rationals
as the core, tests/scoring/test_lean.py). The answer is only ever "all of the chunk is as
stored" (with what the rank check needs) or None: any difference, anything unusual (a task
split into parts, input the core would refuse, a standing missing or left over) and the caller
checks the chunk the exact way (models/standings.py `_check_chunk`), which reports what it finds
as it always has. So this path can make `check` faster but can never change what it reports.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from typing import Any, NamedTuple

from sqlmodel import Session

from models import raw, recompute
from models.facts import AssesseeRef, _keys
from models.rules import Rules
from models.tables import Period
from models.vocab import APPROVED
from scoring import Rational, round2_text
from scoring.lean import HUNDRED, ZERO, Folded, LeanScore, LeanTask, fold, score_lean

_OWN = "t.period_id = :period AND t.cadre_id >= :low AND t.cadre_id < :high"
@cache
def _cents_table() -> list[str]:
    """"0.00" … "999.99": 7 MB, made when a check first needs it, not in every process that
    imports this module (the bot, whose memory goal is 150 MB)."""
    return [f"{whole}.{cents:02d}" for whole in range(1000) for cents in range(100)]


class Confirmed(NamedTuple):
    """A cadre whose stored standing matched, with the figures worked out for it."""

    ref: AssesseeRef
    group_unit_id: int | None
    post_category: str
    total: Rational
    base: Rational
    key: Rational


def _cents(value: Rational) -> int:
    """round2(value) in hundredths, as stored."""
    numerator, denominator = value.numerator, value.denominator
    magnitude = int((200 * abs(numerator) + denominator) // (2 * denominator))
    return -magnitude if numerator < 0 else magnitude


def _shown(value: Rational) -> str:
    """round2_text(value), most values read from a table."""
    numerator, denominator = value.numerator, value.denominator
    if numerator >= 0:
        magnitude = (200 * numerator + denominator) // (2 * denominator)
        if magnitude < 100_000:
            return _cents_table()[magnitude]
    return round2_text(value)


@lru_cache(maxsize=4096)
def _coefficient(value: int) -> str:
    """A stored 3-place coefficient as the breakdown shows it (standings._normal)."""
    return str(recompute._scaled(value, 3).normalize())


@lru_cache(maxsize=65536)
def _exact(value: int, places: int) -> Rational:
    """A stored scaled integer as an exact rational (the same value as via its Decimal)."""
    return Rational(value, 10**places)


def _reports_of(session: Session, task_ids: list[int]) -> str:
    """The statement for the approved reports of the chunk's tasks (ids given).

    When the chunk's tasks are every id from the first to the last (tasks are created a
    cadre's list at a time, so a chunk's usually are), the range alone names them: read
    through the index on task_id, with no join to the chunk's 40,000 tasks (on PostgreSQL
    a hash join that took 40 ms of the server's CPU a chunk, against 21 ms so; EXPLAIN
    ANALYZE). Otherwise the join, and on PostgreSQL the range beside it: it changes nothing
    found, but the planner, seeing the range, reads the reports through the index on task_id
    (without it, a scan of every report: 330 ms a chunk); a wide range leaves it the plan it
    had. SQLite, which cannot tell a narrow range of bound values from a wide one, looks each
    task's reports up."""
    columns = "SELECT r.task_id, r.occurrence, r.progress, r.actual, r.grade FROM report r"
    order = "ORDER BY r.task_id, r.decided_at, r.id"
    within = "r.task_id >= :first_task AND r.task_id <= :last_task"
    if max(task_ids) - min(task_ids) + 1 == len(task_ids):  # ids are unique
        return f"{columns} WHERE {within} AND r.state = '{APPROVED}' {order}"
    also = f"AND {within}" if session.get_bind().dialect.name == "postgresql" else ""
    return (f"{columns} JOIN task t ON t.id = r.task_id WHERE {_OWN} "
            f"AND r.state = '{APPROVED}' {also} {order}")


class _Chunk:
    """The chunk's facts as rows grouped per cadre and per task."""

    def __init__(self, session: Session, period: Period, low: int, high: int) -> None:
        params = {"period": period.id, "low": low, "high": high}
        # Parts are few: read from their own (partial) index, each checked for its parent's
        # chunk (asked as "parent_id IN (the chunk's tasks)", PostgreSQL scanned every task).
        self.has_parts = bool(raw.rows(session, (
            "SELECT 1 FROM task c JOIN task t ON t.id = c.parent_id "
            f"WHERE c.parent_id IS NOT NULL AND {_OWN} LIMIT 1"), params))
        self.cadres = raw.rows(session, (
            "SELECT id, post_category, unit_id, profile FROM cadre "
            "WHERE active AND id >= :low AND id < :high ORDER BY id"), params)
        self.tasks: dict[int, list[Any]] = {}
        task_ids = []
        rows = raw.rows(session, (
            "SELECT t.cadre_id, t.id, t.category, t.dimension, t.weight, t.difficulty, "
            "t.boost, t.recurrence, t.deadline, t.target FROM task t WHERE " + _OWN), params)
        # In (cadre, id) order: sorted here, since they come nearly in order (a pass over them),
        # and PostgreSQL's sort of 40,000 rows cost the server more than all else of the query.
        # Ids are unique: no comparison reaches a column that may be None.
        rows.sort()
        for row in rows:
            self.tasks.setdefault(row[0], []).append(row)
            task_ids.append(row[1])
        # Per task, the approved report that counts per occurrence: the one decided last.
        self.reports: dict[int, dict[str, Any]] = {}
        if task_ids:
            within = {"first_task": min(task_ids), "last_task": max(task_ids)}
            for row in raw.rows(session, _reports_of(session, task_ids), params | within):
                self.reports.setdefault(row[0], {})[row[1]] = row
        self.claims: dict[int, list[Rational]] = {}
        for cadre_id, points in raw.rows(session, (
                "SELECT cadre_id, points FROM innovation_claim WHERE period_id = :period "
                f"AND state = '{APPROVED}' AND cadre_id >= :low AND cadre_id < :high "
                "ORDER BY id"), params):
            self.claims.setdefault(cadre_id, []).append(_exact(points, 3))
        # Occurrence keys per (recurrence, deadline): a few hundred distinct among 40,000 tasks.
        self.keys: dict[tuple[str, Any], tuple[str, ...]] = {}
        self.starts, self.ends = period.starts_on, period.ends_on

    def keys_of(self, recurrence: str, deadline: Any) -> tuple[str, ...]:
        keys = self.keys.get((recurrence, deadline))
        if keys is None:
            keys = self.keys[(recurrence, deadline)] = _keys(
                recurrence, recompute._date(deadline), self.starts, self.ends)
        return keys


def confirmed(session: Session, rules: Rules, period: Period, chunk: recompute.Chunk,
              stored: dict[AssesseeRef, recompute.StoredRow]) -> list[Confirmed] | None:
    """Every cadre of the chunk in order, if each stored standing is exactly what its facts
    give now and no other is stored; else None (module doc)."""
    if chunk is None:
        return None  # the assessed units: few, and they have "1+N" credit
    facts = _Chunk(session, period, *chunk)
    if facts.has_parts:
        return None
    folded: dict[tuple[str, str], Folded] = {}
    found: list[Confirmed] = []
    for cadre_id, post_category, unit_id, profile in facts.cadres:
        ref = AssesseeRef.cadre(cadre_id)
        row = stored.get(ref)
        if row is None or row.post_category != post_category or row.group_unit_id != unit_id:
            return None
        how = folded.get((post_category, profile))
        if how is None:
            how = folded[(post_category, profile)] = fold(rules.policy(post_category),
                                                          rules.profile(profile))
        result = _confirm(how, facts, facts.tasks.get(cadre_id, []),
                          facts.claims.get(cadre_id, []), row)
        if result is None:
            return None
        found.append(Confirmed(ref, unit_id, post_category, *result))
    if len(found) != len(stored):
        return None  # a standing of no active cadre
    return found


def _confirm(how: Folded, facts: _Chunk, rows: list[Any], claims: list[Rational],
             row: recompute.StoredRow) -> tuple[Rational, Rational, Rational] | None:
    """(total, base, key) of one cadre if its stored figures and breakdown are right."""
    exact, reports, known, table = _exact, facts.reports, facts.keys, _cents_table()
    tasks: list[LeanTask] = []
    progress_texts: list[str] = []
    for (_, task_id, category, dimension, weight, difficulty, boost, recurrence, deadline,
         target) in rows:
        keys = known.get((recurrence, deadline))
        if keys is None:
            keys = facts.keys_of(recurrence, deadline)
        own = reports.get(task_id)
        report = None
        if own is None and keys:  # nothing approved: 0, once or in every piece
            progress, grade, shown_progress = ZERO, None, table[0]
        elif recurrence == "once" and target is None and keys:  # most tasks: inline
            report = own.get(keys[0]) if own else None
            if report is None:
                progress, grade, shown_progress = ZERO, None, table[0]
            else:  # progress as stored, in hundredths: its text needs no rounding
                hundredths = report[2] or 0
                progress, grade = exact(hundredths, 2), report[4]
                shown_progress = (table[hundredths] if 0 <= hundredths < 100_000
                                  else round2_text(progress))
        else:
            found = _effective(how, own, keys, recurrence, target)
            if found is None:
                return None
            progress, grade = found
            shown_progress = _shown(progress)
        progress_texts.append(shown_progress)
        tasks.append((category, dimension, exact(weight, 2), exact(difficulty, 3), progress,
                      grade, None if boost is None else exact(boost, 3)))
    score = score_lean(how, tasks, claims)
    if score is None:
        return None
    figures = row.figures
    if (figures["total"] != _cents(score.total) or figures["base"] != _cents(score.base)
            or figures["key_points"] != _cents(score.key)
            or figures["innovation"] != _cents(score.innovation)
            or figures["collaboration"] != _cents(score.collaboration)
            or figures["difficulty"] != _cents(score.difficulty)):
        return None
    # Written through SQLAlchemy's JSON type (json.dumps) in this order, the stored text is
    # the expected breakdown's text: compared as text, it is neither decoded nor built as a
    # dict. Text that differs (another order, or no text) is compared decoded.
    entries = (rows, tasks, score, progress_texts)
    stored = row.stored_breakdown
    if isinstance(stored, str) and stored == _breakdown_text(*entries):
        return score.total, score.base, score.key
    if _breakdown(*entries) != ({} if row.breakdown is None else row.breakdown):
        return None
    return score.total, score.base, score.key


def _breakdown(rows: list[Any], tasks: list[LeanTask], score: LeanScore,
               progress_texts: list[str]) -> dict[str, dict[str, str | None]]:
    """The breakdown that standings.breakdown_of gives for these tasks."""
    shown, coefficient = _shown, _coefficient
    # Ungraded, the quality is the progress itself: the same text.
    return {str(task_id): {
        "weight": shown(share), "points": shown(points), "progress": progress_text,
        "grade": task[5], "quality": progress_text if task[5] is None else shown(quality),
        "difficulty": coefficient(difficulty),
        "boost": None if boost is None else coefficient(boost),
    } for (_, task_id, _, _, _, difficulty, boost, *_), task, share, points, quality, progress_text
        in zip(rows, tasks, score.shares, score.points, score.qualities, progress_texts,
               strict=True)}


def _breakdown_text(rows: list[Any], tasks: list[LeanTask], score: LeanScore,
                    progress_texts: list[str]) -> str:
    """json.dumps(_breakdown(...)), written directly: building the dicts and encoding them was
    a third of the fast path's Python. The figures' texts are numerals (nothing to
    escape); the rest goes through json.dumps once per distinct value."""
    shown, grade_text, tail = _shown, _json, _tail
    return "{" + ", ".join([
        f'"{row[1]}": {{"weight": "{shown(share)}", "points": "{shown(points)}", '
        f'"progress": "{progress_text}", "grade": {grade_text(grade)}, '
        f'"quality": "{progress_text if grade is None else shown(quality)}"{tail(row[5], row[6])}'
        for row, (_, _, _, _, _, grade, _), share, points, quality, progress_text
        in zip(rows, tasks, score.shares, score.points, score.qualities, progress_texts,
               strict=True)]) + "}"


@lru_cache(maxsize=64)
def _json(value: str | None) -> str:
    return json.dumps(value)


@lru_cache(maxsize=4096)
def _tail(difficulty: int, boost: int | None) -> str:
    """A breakdown entry's end, from its difficulty on."""
    return (f', "difficulty": {json.dumps(_coefficient(difficulty))}, '
            f'"boost": {json.dumps(None if boost is None else _coefficient(boost))}}}')


def _effective(how: Folded, own: dict[str, Any] | None, keys: tuple[str, ...],
               recurrence: str, target: int | None) -> tuple[Rational, str | None] | None:
    """A task's effective progress and grade, as FactsLoader._effective gives them for a task
    not split into parts (`own`: its approved reports by occurrence); None where that would
    raise."""
    if recurrence == "once":
        if not keys:
            return None
        report = own.get(keys[0]) if own else None
        if report is None:
            return ZERO, None
        progress = _progress(report, target)
        return None if progress is None else (progress, report[4])
    total = ZERO
    for key in keys if own else ():
        report = own.get(key)  # type: ignore[union-attr]
        if report is not None:
            progress, factor = _progress(report, target), how.grade_factors.get(report[4])
            if progress is None or factor is None:
                return None
            total += progress * factor
    return (min(HUNDRED, total / len(keys)) if keys else ZERO), None


def _progress(report: Any, target: int | None) -> Rational | None:
    """FactsLoader._progress on raw columns: (task, occurrence, progress, actual, grade)."""
    actual = report[3]
    if target is not None and actual is not None:
        if target <= 0:
            return None
        return max(ZERO, min(HUNDRED, HUNDRED * _exact(actual, 4) / _exact(target, 4)))
    return _exact(report[2] or 0, 2)

