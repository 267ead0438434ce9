"""Stored facts -> scoring inputs: what the scoring core is given for each assessee.

A handful of queries load the facts of one assessee or of a whole period at once (no query per
task), so a single approval and a full recompute of every standing share the same code.
Which report counts: for each task occurrence, the approved report decided last.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, false, or_, union
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from models.occurrences import occurrence_keys
from models.raw import one_of
from models.rules import Rules
from models.tables import Cadre, Cooperation, InnovationClaim, Period, Report, Task, Unit
from models.vocab import APPROVED
from scoring import (
    AssesseeInput,
    CollaborationInput,
    InnovationInput,
    Rational,
    TaskInput,
    combined_progress,
    progress_from_count,
)


@dataclass(frozen=True, slots=True, order=True)
class AssesseeRef:
    """Names an assessee: a cadre or a unit."""

    kind: str  # "cadre" or "unit"
    id: int

    @staticmethod
    def cadre(cadre_id: int) -> AssesseeRef:
        return AssesseeRef("cadre", cadre_id)

    @staticmethod
    def unit(unit_id: int) -> AssesseeRef:
        return AssesseeRef("unit", unit_id)

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass
class AssesseeFacts:
    ref: AssesseeRef
    post_category: str
    group_unit_id: int | None  # the unit it ranks in
    input: AssesseeInput
    tasks: list[TaskFacts] = field(default_factory=list)
    # Effective progress per task id (exact), for showing a task's state to its people.
    progress: dict[int, Rational] = field(default_factory=dict)
    grades: dict[int, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TaskFacts:
    """The columns of a task that scoring and its breakdown read (plain values, no ORM row:
    a full recompute loads 800,000 of them)."""

    id: int
    category: str
    dimension: str
    weight: Decimal
    difficulty: Decimal
    boost: Decimal | None
    recurrence: str
    deadline: date | None
    target: Decimal | None
    cadre_id: int | None
    unit_id: int | None
    parent_id: int | None


_TASK_COLUMNS: tuple[Any, ...] = tuple(col(column) for column in (
    Task.id, Task.category, Task.dimension, Task.weight, Task.difficulty, Task.boost,
    Task.recurrence, Task.deadline, Task.target, Task.cadre_id, Task.unit_id, Task.parent_id))


# The statements that load one assessee's facts (an approval's) are built once, with their id
# lists as one parameter each (models/raw.py `one_of`): building a statement costs more Python
# than running it, and on PostgreSQL the unchanging text is prepared once by the server.


def _owned(model: type[Task] | type[InnovationClaim], cadres: bool,
           units: bool) -> ColumnElement[bool]:
    """Rows of the cadres in parameter `cadres` or of the units in `units` (of those given)."""
    clauses: list[ColumnElement[bool]] = []
    if cadres:
        clauses.append(one_of(col(model.cadre_id), "cadres"))
    if units:
        clauses.append(one_of(col(model.unit_id), "units"))
    return or_(*clauses) if clauses else false()


@lru_cache(maxsize=4)
def _owned_tasks(cadres: bool, units: bool) -> Select[Any]:
    """The period's tasks of these owners and the parts of those tasks, each once."""
    mine = sa_select(col(Task.id)).where(col(Task.period_id) == bindparam("period"),
                                         _owned(Task, cadres, units))
    parts = sa_select(col(Task.id)).where(col(Task.parent_id).in_(mine))
    return (sa_select(*_TASK_COLUMNS).where(col(Task.id).in_(union(mine, parts)))
            .order_by(col(Task.id)))


@lru_cache(maxsize=8)
def _claims(owners: tuple[bool, bool] | None) -> Select[Any]:
    """The period's approved innovation claims (of the owners `_owned` names, unless None)."""
    query = select(InnovationClaim).where(col(InnovationClaim.period_id) == bindparam("period"),
                                          InnovationClaim.state == APPROVED)
    if owners is not None:
        query = query.where(_owned(InnovationClaim, *owners))
    return query.order_by(col(InnovationClaim.id))


# A deactivated cadre has no standing (models/privileges.py deactivate_cadre).
_CADRES = sa_select(col(Cadre.id), col(Cadre.post_category), col(Cadre.unit_id),
                    col(Cadre.profile)).where(col(Cadre.active))
_CADRES_OF = _CADRES.where(one_of(col(Cadre.id), "cadres"))
_APPROVED_OF = (sa_select(col(Report.task_id), col(Report.occurrence), col(Report.progress),
                          col(Report.actual), col(Report.grade))
                .where(one_of(col(Report.task_id), "tasks"), col(Report.state) == APPROVED)
                .order_by(col(Report.decided_at), col(Report.id)))


@lru_cache(maxsize=4096)
def _rational(value: Decimal) -> Rational:
    """Weights, coefficients and targets repeat: convert each distinct value once."""
    return Rational(value)


@lru_cache(maxsize=4096)
def _keys(recurrence: str, deadline: date | None, starts: date, ends: date) -> tuple[str, ...]:
    return tuple(occurrence_keys(recurrence, deadline, starts, ends))


@dataclass(frozen=True, slots=True)
class _Approved:
    progress: Decimal | None
    actual: Decimal | None
    grade: str | None


def _latest_approved(session: Session, task_ids: Iterable[int]) -> dict[tuple[int, str], _Approved]:
    ids = sorted(set(task_ids))
    latest: dict[tuple[int, str], _Approved] = {}
    for chunk_start in range(0, len(ids), 5000):
        chunk = ids[chunk_start : chunk_start + 5000]
        rows = session.execute(_APPROVED_OF, {"tasks": chunk}).all()
        for task_id, occurrence, progress, actual, grade in rows:
            latest[(task_id, occurrence)] = _Approved(progress, actual, grade)
    return latest


def _latest_approved_in_period(session: Session,
                               period_id: int) -> dict[tuple[int, str], _Approved]:
    """_latest_approved for every task of a period, in one query without an id list."""
    rows = session.execute(
        sa_select(col(Report.task_id), col(Report.occurrence), col(Report.progress),
                  col(Report.actual), col(Report.grade))
        .join(Task, col(Task.id) == Report.task_id)
        .where(col(Task.period_id) == period_id, col(Report.state) == APPROVED)
        .order_by(col(Report.decided_at), col(Report.id))
    ).all()
    return {(task_id, occurrence): _Approved(progress, actual, grade)
            for task_id, occurrence, progress, actual, grade in rows}


class FactsLoader:
    """Loads the scoring inputs of assessees in one period."""

    def __init__(self, session: Session, rules: Rules, period: Period) -> None:
        self.session = session
        self.rules = rules
        self.period = period
        # The approved report that counts per (task, occurrence), as of the last load.
        self.approved: dict[tuple[int, str], _Approved] = {}

    def load(
        self, refs: Iterable[AssesseeRef] | None = None
    ) -> dict[AssesseeRef, AssesseeFacts]:
        """Facts of the given assessees, or of every assessee of the period when refs is None."""
        wanted = None if refs is None else set(refs)
        cadre_ids = None if wanted is None else {r.id for r in wanted if r.kind == "cadre"}
        unit_ids = None if wanted is None else {r.id for r in wanted if r.kind == "unit"}
        period_id = self.period.id
        assert period_id is not None

        tasks = self._tasks(cadre_ids, unit_ids)  # the decomposed parts among them
        children: dict[int, list[TaskFacts]] = defaultdict(list)
        for task in tasks:
            if task.parent_id is not None:
                children[task.parent_id].append(task)
        if wanted is None:
            approved = self._approved_in_period()
        else:
            approved = _latest_approved(self.session, [t.id for t in tasks])
        self.approved = approved

        facts: dict[AssesseeRef, AssesseeFacts] = {}
        # Owner key -> (facts, task inputs): cadre ids as they are, unit ids negated. Plain int
        # keys, because a full recompute looks an owner up 800,000 times.
        owners: dict[int, tuple[AssesseeFacts, list[TaskInput]]] = {}
        for cadre_id, post_category, unit_id, profile in self._cadres(cadre_ids):
            ref = AssesseeRef.cadre(cadre_id)
            facts[ref] = self._empty(ref, post_category, unit_id, profile)
            owners[cadre_id] = (facts[ref], [])
        for unit_id, post_category, parent_id in self._units(unit_ids, tasks):
            ref = AssesseeRef.unit(unit_id)
            facts[ref] = self._empty(ref, post_category, parent_id, "standard")
            owners[-unit_id] = (facts[ref], [])

        for task in tasks:
            owner = owners.get(task.cadre_id if task.cadre_id is not None
                               else -(task.unit_id or 0))
            if owner is None:
                continue
            item, inputs = owner
            progress, grade = self._effective(
                task, children.get(task.id, []), approved, item.input.policy.grade_factors
            )
            item.tasks.append(task)
            item.progress[task.id] = progress
            item.grades[task.id] = grade
            inputs.append(
                TaskInput(
                    id=str(task.id),
                    category=task.category,
                    dimension=task.dimension,
                    weight=_rational(task.weight),
                    difficulty=_rational(task.difficulty),
                    progress=progress,
                    grade=grade,
                    boost=None if task.boost is None else _rational(task.boost),
                )
            )
        task_inputs = {item.ref: inputs for item, inputs in owners.values()}
        innovations = self._innovations(cadre_ids, unit_ids)
        collaborations = self._collaborations(unit_ids)
        for ref, item in facts.items():
            item.input = AssesseeInput(
                tasks=tuple(task_inputs.get(ref, [])),
                innovations=tuple(innovations.get(ref, [])),
                collaborations=tuple(collaborations.get(ref, [])),
                policy=item.input.policy,
                profile=item.input.profile,
            )
        return facts

    # -- pieces -------------------------------------------------------------------------

    def _approved_in_period(self) -> dict[tuple[int, str], _Approved]:
        assert self.period.id is not None
        return _latest_approved_in_period(self.session, self.period.id)

    def _empty(
        self, ref: AssesseeRef, post_category: str, group: int | None, profile: str
    ) -> AssesseeFacts:
        rules = self.rules
        return AssesseeFacts(
            ref=ref,
            post_category=post_category,
            group_unit_id=group,
            input=AssesseeInput(
                tasks=(),
                policy=rules.policy(post_category),
                profile=rules.profile(profile),
            ),
        )

    def _tasks(self, cadre_ids: set[int] | None, unit_ids: set[int] | None) -> list[TaskFacts]:
        """The period's tasks of these assessees (every task when both are None) and the parts
        their tasks were decomposed into (a unit task split among its cadres), in one
        statement: the parts' progress is the whole's when it has no report of its own."""
        if cadre_ids is None and unit_ids is None:
            rows = self.session.execute(
                sa_select(*_TASK_COLUMNS).where(col(Task.period_id) == self.period.id)
                .order_by(col(Task.id))).all()
        else:
            rows = self.session.execute(
                _owned_tasks(bool(cadre_ids), bool(unit_ids)),
                {"period": self.period.id, "cadres": sorted(cadre_ids or ()),
                 "units": sorted(unit_ids or ())}).all()
        return [TaskFacts(*row) for row in rows]

    def _cadres(self, cadre_ids: set[int] | None) -> list[tuple[int, str, int, str]]:
        query = _CADRES
        params: dict[str, Any] = {}
        if cadre_ids is not None:
            if not cadre_ids:
                return []
            query, params = _CADRES_OF, {"cadres": sorted(cadre_ids)}
        return [(row[0], row[1], row[2], row[3])
                for row in self.session.execute(query, params).all()]

    def _units(self, unit_ids: set[int] | None,
               tasks: list[TaskFacts]) -> list[tuple[int, str, int | None]]:
        if unit_ids is None:
            # Every unit that is itself assessed this period: it has tasks, claims or co-operations.
            ids = {t.unit_id for t in tasks if t.unit_id is not None}
            ids |= set(self.session.exec(
                select(Cooperation.unit_id).join(Task, col(Task.id) == Cooperation.task_id)
                .where(Task.period_id == self.period.id)
            ).all())
            ids |= {u for u in self.session.exec(
                select(InnovationClaim.unit_id).where(
                    InnovationClaim.period_id == self.period.id,
                    col(InnovationClaim.unit_id).is_not(None),
                )
            ).all() if u is not None}
            unit_ids = ids
        if not unit_ids:
            return []
        rows = self.session.execute(
            sa_select(col(Unit.id), col(Unit.post_category), col(Unit.parent_id))
            .where(col(Unit.id).in_(unit_ids))
        ).all()
        return [(row[0], row[1], row[2]) for row in rows]

    def _effective(
        self,
        task: TaskFacts,
        kids: list[TaskFacts],
        approved: dict[tuple[int, str], _Approved],
        grade_factors: Mapping[str, Rational],
    ) -> tuple[Rational, str | None]:
        """The progress and grade the scoring core gets for a task (see module doc)."""
        keys = _keys(task.recurrence, task.deadline, self.period.starts_on, self.period.ends_on)
        found = [(key, approved.get((task.id, key))) for key in keys]
        if kids and not any(report for _, report in found):
            # A decomposed unit task with no report of its own: its children's work is its progress.
            parts = [self._effective(kid, [], approved, grade_factors) for kid in kids]
            return combined_progress(parts, len(parts), grade_factors), None
        if task.recurrence == "once":
            report = found[0][1]
            if report is None:
                return Rational(0), None
            return self._progress(task, report), report.grade
        parts = [(self._progress(task, r), r.grade) for _, r in found if r is not None]
        return combined_progress(parts, len(keys), grade_factors), None

    def pieces(self, task: TaskFacts) -> dict[str, tuple[Rational, str | None] | None]:
        """Per occurrence of the task (after `load`): the approved progress and grade that
        count for it, or None when nothing is approved (what-if projections change one)."""
        keys = _keys(task.recurrence, task.deadline, self.period.starts_on, self.period.ends_on)
        result: dict[str, tuple[Rational, str | None] | None] = {}
        for key in keys:
            report = self.approved.get((task.id, key))
            result[key] = None if report is None else (self._progress(task, report), report.grade)
        return result

    @staticmethod
    def _progress(task: TaskFacts, report: _Approved) -> Rational:
        if task.target is not None and report.actual is not None:
            return progress_from_count(_rational(report.actual), _rational(task.target))
        return _rational(report.progress or Decimal(0))

    def _innovations(
        self, cadre_ids: set[int] | None, unit_ids: set[int] | None
    ) -> dict[AssesseeRef, list[InnovationInput]]:
        everyone = cadre_ids is None and unit_ids is None
        result: dict[AssesseeRef, list[InnovationInput]] = defaultdict(list)
        for claim in self.session.scalars(
                _claims(None if everyone else (bool(cadre_ids), bool(unit_ids))),
                {"period": self.period.id, "cadres": sorted(cadre_ids or ()),
                 "units": sorted(unit_ids or ())}).all():
            ref = _owner(claim)
            result[ref].append(InnovationInput(id=str(claim.id), points=Rational(claim.points)))
        return result

    def _collaborations(
        self, unit_ids: set[int] | None
    ) -> dict[AssesseeRef, list[CollaborationInput]]:
        query = (
            select(
                col(Cooperation.unit_id), col(Cooperation.share), col(Task.id),
                col(Task.difficulty),
            )
            .join(Task, col(Task.id) == Cooperation.task_id)
            .where(Task.period_id == self.period.id, col(Cooperation.confirmed_at).is_not(None))
        )
        if unit_ids is not None:
            if not unit_ids:
                return {}
            query = query.where(col(Cooperation.unit_id).in_(unit_ids))
        result: dict[AssesseeRef, list[CollaborationInput]] = defaultdict(list)
        for unit_id, share, task_id, difficulty in self.session.exec(query).all():
            result[AssesseeRef.unit(unit_id)].append(
                CollaborationInput(
                    task=str(task_id), share=Rational(share), difficulty=Rational(difficulty)
                )
            )
        return result


def _owner(row: TaskFacts | InnovationClaim) -> AssesseeRef:
    if row.cadre_id is not None:
        return AssesseeRef.cadre(row.cadre_id)
    assert row.unit_id is not None
    return AssesseeRef.unit(row.unit_id)
