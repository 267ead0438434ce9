"""Stored facts -> scoring inputs: what the scoring core is given for each assessee.

A handful of queries load the facts of one assessee or of a whole period at once (no query per
task), so a single approval and a full recompute of every standing share the same code.
Which report counts: for each task occurrence, the approved report decided last.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from models.occurrences import occurrence_keys
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
    def cadre(cadre_id: int) -> "AssesseeRef":
        return AssesseeRef("cadre", cadre_id)

    @staticmethod
    def unit(unit_id: int) -> "AssesseeRef":
        return AssesseeRef("unit", unit_id)

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass
class AssesseeFacts:
    ref: AssesseeRef
    post_category: str
    group_unit_id: int | None  # the unit it ranks in
    input: AssesseeInput
    tasks: list[Task] = field(default_factory=list)
    # Effective progress per task id (exact), for showing a task's state to its people.
    progress: dict[int, Rational] = field(default_factory=dict)
    grades: dict[int, str | None] = field(default_factory=dict)


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
        rows = session.execute(
            sa_select(
                col(Report.task_id), col(Report.occurrence), col(Report.progress),
                col(Report.actual), col(Report.grade),
            )
            .where(col(Report.task_id).in_(chunk), col(Report.state) == APPROVED)
            .order_by(col(Report.decided_at), col(Report.id))
        ).all()
        for task_id, occurrence, progress, actual, grade in rows:
            latest[(task_id, occurrence)] = _Approved(progress, actual, grade)
    return latest


class FactsLoader:
    """Loads the scoring inputs of assessees in one period."""

    def __init__(self, session: Session, rules: Rules, period: Period) -> None:
        self.session = session
        self.rules = rules
        self.period = period

    def load(
        self, refs: Iterable[AssesseeRef] | None = None
    ) -> dict[AssesseeRef, AssesseeFacts]:
        """Facts of the given assessees, or of every assessee of the period when refs is None."""
        wanted = None if refs is None else set(refs)
        cadre_ids = None if wanted is None else {r.id for r in wanted if r.kind == "cadre"}
        unit_ids = None if wanted is None else {r.id for r in wanted if r.kind == "unit"}
        period_id = self.period.id
        assert period_id is not None

        tasks = self._tasks(cadre_ids, unit_ids)
        parent_ids = {t.id for t in tasks if t.id is not None}
        children: dict[int, list[Task]] = defaultdict(list)
        if parent_ids:
            child_rows = self.session.exec(
                select(Task).where(col(Task.parent_id).in_(parent_ids))
            ).all()
            for child in child_rows:
                assert child.parent_id is not None
                children[child.parent_id].append(child)
        approved = _latest_approved(
            self.session,
            [t.id for t in tasks if t.id is not None]
            + [c.id for kids in children.values() for c in kids if c.id is not None],
        )

        people = self._cadres(cadre_ids)
        units = self._units(unit_ids, tasks)
        facts: dict[AssesseeRef, AssesseeFacts] = {}
        for cadre in people:
            assert cadre.id is not None
            ref = AssesseeRef.cadre(cadre.id)
            facts[ref] = self._empty(ref, cadre.post_category, cadre.unit_id, cadre.profile)
        for unit in units:
            assert unit.id is not None
            ref = AssesseeRef.unit(unit.id)
            facts[ref] = self._empty(ref, unit.post_category, unit.parent_id, "standard")

        task_inputs: dict[AssesseeRef, list[TaskInput]] = defaultdict(list)
        for task in tasks:
            ref = _owner(task)
            if ref not in facts:
                continue
            policy = facts[ref].input.policy
            progress, grade = self._effective(
                task, children.get(task.id or 0, []), approved, policy.grade_factors
            )
            facts[ref].tasks.append(task)
            facts[ref].progress[task.id or 0] = progress
            facts[ref].grades[task.id or 0] = grade
            task_inputs[ref].append(
                TaskInput(
                    id=str(task.id),
                    category=task.category,
                    dimension=task.dimension,
                    weight=Rational(task.weight),
                    difficulty=Rational(task.difficulty),
                    progress=progress,
                    grade=grade,
                    boost=None if task.boost is None else Rational(task.boost),
                )
            )
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

    def _owner_filter(
        self, model: type[Task] | type[InnovationClaim],
        cadre_ids: set[int] | None, unit_ids: set[int] | None,
    ) -> ColumnElement[bool] | None:
        if cadre_ids is None and unit_ids is None:
            return None
        clauses = []
        if cadre_ids:
            clauses.append(col(model.cadre_id).in_(cadre_ids))
        if unit_ids:
            clauses.append(col(model.unit_id).in_(unit_ids))
        return or_(*clauses) if clauses else and_(False)  # type: ignore[arg-type]

    def _tasks(self, cadre_ids: set[int] | None, unit_ids: set[int] | None) -> list[Task]:
        query = select(Task).where(Task.period_id == self.period.id)
        owner = self._owner_filter(Task, cadre_ids, unit_ids)
        if owner is not None:
            query = query.where(owner)
        return list(self.session.exec(query.order_by(col(Task.id))).all())

    def _cadres(self, cadre_ids: set[int] | None) -> list[Cadre]:
        if cadre_ids is None:
            return list(self.session.exec(select(Cadre).where(col(Cadre.active))).all())
        if not cadre_ids:
            return []
        return list(self.session.exec(select(Cadre).where(col(Cadre.id).in_(cadre_ids))).all())

    def _units(self, unit_ids: set[int] | None, tasks: list[Task]) -> list[Unit]:
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
        return list(self.session.exec(select(Unit).where(col(Unit.id).in_(unit_ids))).all())

    def _effective(
        self,
        task: Task,
        kids: list[Task],
        approved: dict[tuple[int, str], _Approved],
        grade_factors: Mapping[str, Rational],
    ) -> tuple[Rational, str | None]:
        """The progress and grade the scoring core gets for a task (see module doc)."""
        assert task.id is not None
        keys = occurrence_keys(
            task.recurrence, task.deadline, self.period.starts_on, self.period.ends_on
        )
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

    @staticmethod
    def _progress(task: Task, report: _Approved) -> Rational:
        if task.target is not None and report.actual is not None:
            return progress_from_count(Rational(report.actual), Rational(task.target))
        return Rational(report.progress or 0)

    def _innovations(
        self, cadre_ids: set[int] | None, unit_ids: set[int] | None
    ) -> dict[AssesseeRef, list[InnovationInput]]:
        query = select(InnovationClaim).where(
            InnovationClaim.period_id == self.period.id, InnovationClaim.state == APPROVED
        )
        owner = self._owner_filter(InnovationClaim, cadre_ids, unit_ids)
        if owner is not None:
            query = query.where(owner)
        result: dict[AssesseeRef, list[InnovationInput]] = defaultdict(list)
        for claim in self.session.exec(query.order_by(col(InnovationClaim.id))).all():
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


def _owner(row: Task | InnovationClaim) -> AssesseeRef:
    if row.cadre_id is not None:
        return AssesseeRef.cadre(row.cadre_id)
    assert row.unit_id is not None
    return AssesseeRef.unit(row.unit_id)
