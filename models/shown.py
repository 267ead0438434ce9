"""A score as a person sees it, adding up: 我的得分 and the printed results show these figures.

Every figure SCORING.md shows is rounded half up to 2 decimals, a total from its exact sum; shown
one by one, parts can miss the total they stand beside. Here the display rounding is apportioned
by largest remainder (scoring.apportion), from the exact score:

- total: the exact total rounded half up (what is stored and ranked);
- base + innovation + co-operation = total;
- the task lines' points sum to the base, their weights to 100;
- key is the sum of the key tasks' lines (a part of the base, 其中重点任务).

Each shown part is its exact value rounded down or up, never further off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session, col, select

from models.facts import AssesseeFacts, AssesseeRef, FactsLoader
from models.rules import Rules
from models.tables import Period, Task
from scoring import AssesseeScore, Rational, apportion, round2, score_assessee

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class ShownTask:
    task_id: int
    title: str
    dimension: str  # basic, key
    weight: Decimal  # its share of the 100 points after boosts; the lines' weights sum to 100
    progress: Decimal
    grade: str | None
    quality: Decimal  # progress x the grade's factor
    difficulty: Decimal
    boost: Decimal | None
    points: Decimal  # the lines' points sum to the shown base


@dataclass(frozen=True, slots=True)
class ShownScore:
    base: Decimal
    key: Decimal
    innovation: Decimal
    collaboration: Decimal
    total: Decimal
    tasks: tuple[ShownTask, ...]
    innovation_cap: Decimal  # the most innovation can add (the policy's cap)


def shown(facts: AssesseeFacts, score: AssesseeScore,
          titles: Mapping[int, str] | None = None) -> ShownScore:
    """The figures to show for this assessee's exact score (see the module's docstring)."""
    total = round2(score.total)
    base, innovation, collaboration = apportion(
        [score.base, score.innovation, score.collaboration], total=total)
    parts = [score.tasks[str(task.id)] for task in facts.tasks]
    points = apportion([p.points for p in parts], total=base)
    weights = apportion([p.share for p in parts], total=HUNDRED if parts else Decimal(0))
    lines = tuple(
        ShownTask(task.id, (titles or {}).get(task.id, ""), task.dimension, weight,
                  round2(facts.progress.get(task.id, Rational(0))), facts.grades.get(task.id),
                  round2(part.quality), task.difficulty.normalize(),
                  None if task.boost is None else task.boost.normalize(), point)
        for task, part, weight, point in zip(facts.tasks, parts, weights, points, strict=True))
    key = sum((line.points for line in lines if line.dimension == "key"), Decimal("0.00"))
    cap = round2(facts.input.policy.innovation_cap)
    return ShownScore(base, key, innovation, collaboration, total, lines, cap)


def shown_score(session: Session, rules: Rules, period: Period,
                ref: AssesseeRef) -> ShownScore | None:
    """One assessee's score recomputed exactly from the stored facts, as shown; None when it is
    not assessed this period."""
    facts = FactsLoader(session, rules, period).load([ref]).get(ref)
    if facts is None:
        return None
    titles = dict(session.exec(select(Task.id, Task.title).where(
        col(Task.id).in_([t.id for t in facts.tasks]))).all())
    return shown(facts, score_assessee(facts.input), {i: t for i, t in titles.items() if i})
