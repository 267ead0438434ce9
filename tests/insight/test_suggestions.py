"""提分建议 are the scoring core's numbers: for every open task of every demo cadre, the gain is
exactly the core's score with that task completed at A minus the current total."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from sqlmodel import col, select

from bot.demo_data import build_demo
from models.insight import CadreProjector, suggestions, whatif
from models.store import Store
from models.tables import Cadre, Period, Standing
from scoring import Rational, combined_progress, round2, score_assessee


def _core_with_task_done(projector: CadreProjector, task_id: int, occurrence: str) -> Rational:
    """Independently of models/insight: the facts' input with the task (or its occurrence)
    at 100 % grade A, scored whole by the core."""
    data = projector.facts.input
    task = projector.tasks[task_id]
    tasks = []
    for item in data.tasks:
        if item.id == str(task_id):
            if task.recurrence == "once":
                item = replace(item, progress=Rational(100), grade="A")
            else:
                pieces = projector.loader.pieces(task)
                parts = [piece for key, piece in pieces.items()
                         if key != occurrence and piece is not None]
                parts.append((Rational(100), "A"))
                item = replace(item, progress=combined_progress(
                    parts, len(pieces), data.policy.grade_factors), grade=None)
        tasks.append(item)
    return score_assessee(replace(data, tasks=tuple(tasks))).total


def test_every_suggestion_is_the_cores_exact_gain_and_they_are_sorted(store: Store) -> None:
    build_demo(store)
    today = store.today()
    checked = 0
    with store.session() as session:
        period = session.exec(select(Period).where(col(Period.is_active))).one()
        cadres = session.exec(select(Cadre).where(col(Cadre.active))).all()
        for cadre in cadres:
            projector = CadreProjector(session, store.rules, period, cadre, today)
            current = score_assessee(projector.facts.input).total
            stored = session.exec(select(Standing).where(
                Standing.period_id == period.id, Standing.cadre_id == cadre.id)).first()
            if stored is not None:
                assert round2(current) == stored.total
            found = suggestions(session, projector)
            gains = [s.outcome.gain for s in found]
            assert gains == sorted(gains, reverse=True)
            for suggestion in found:
                expected = _core_with_task_done(projector, suggestion.task_id,
                                                suggestion.occurrence)
                assert suggestion.outcome.gain == expected - current
                assert suggestion.outcome.total == expected
                checked += 1
            if found:  # /whatif gives the same numbers for the same input
                first = found[0]
                same = whatif(session, store.rules, period, cadre, today, first.task_id,
                              Decimal(100), "A")
                assert same.outcome == first.outcome
    assert checked > 100  # the demo has plenty of open work
