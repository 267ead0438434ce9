"""What each task is worth to a cadre: 提分建议, /whatif, the 优秀 line and the trend (issue 15).

Every number comes from the scoring core: the cadre's facts are loaded once (models/facts.py),
each projection is `scoring.project` on them, and projected ranks are placed against the
current standings of the cadre's unit and post category (`scoring.place_among`). Nothing here
writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from models.errors import Refused
from models.facts import AssesseeRef, FactsLoader, TaskFacts
from models.occurrences import current_occurrence, occurrences
from models.ranks import CADRE, RankedStanding, ranks_of
from models.rating_pools import pool_lines
from models.rules import Rules
from models.tables import Cadre, Period, Standing, StandingHistory, Task
from models.views import TaskLine, reportable_tasks
from models.vocab import APPROVED, SUBMITTED
from scoring import (
    Change,
    Place,
    Projection,
    Rational,
    ScoringError,
    best_case,
    mean,
    place_among,
    project,
    round2,
    score_assessee,
)

SUGGESTIONS_SHOWN = 5
TREND_WEEKS = 4


@dataclass(frozen=True, slots=True)
class Outcome:
    """A projected total, where it would rank, and what it adds."""

    total: Rational  # exact
    gain: Rational  # over the current total, exact
    rank_in_unit: int
    rank_in_post: int
    gap_above: Decimal | None  # to the next total above in the unit (None: at the top)

    @property
    def shown_total(self) -> Decimal:
        return round2(self.total)

    @property
    def shown_gain(self) -> Decimal:
        return round2(self.gain)

    @property
    def shown_gap(self) -> Decimal | None:
        return self.gap_above


@dataclass(frozen=True, slots=True)
class Suggestion:
    task_id: int
    title: str
    occurrence: str  # the occurrence it is for ("" for a one-off task)
    overdue: bool
    outcome: Outcome


class CadreProjector:
    """A cadre's facts, current score and the standings around them, for projections."""

    def __init__(self, session: Session, rules: Rules, period: Period, cadre: Cadre,
                 today: date) -> None:
        assert cadre.id is not None and period.id is not None
        self.cadre, self.period, self.today = cadre, period, today
        self.loader = FactsLoader(session, rules, period)
        ref = AssesseeRef.cadre(cadre.id)
        self.facts = self.loader.load([ref])[ref]
        self.tasks: dict[int, TaskFacts] = {t.id: t for t in self.facts.tasks}
        self.current = score_assessee(self.facts.input)
        self.session = session

    def change(self, task_id: int, progress: Rational, grade: str | None,
               occurrence: str | None = None) -> Change:
        """The cadre's task `task_id` (for a recurring task: its current occurrence, or the
        one named) done to `progress` at `grade`."""
        task = self.tasks.get(task_id)
        if task is None:
            raise Refused("whatif_not_yours")
        if task.recurrence == "once":
            return Change(str(task_id), progress, grade)
        pieces = self.loader.pieces(task)
        if occurrence not in pieces:
            done = {key for key, piece in pieces.items() if piece is not None}
            found = occurrences(task.recurrence, task.deadline, self.period.starts_on,
                                self.period.ends_on)
            occurrence = current_occurrence(found, done, self.today).key
        others = tuple(piece for key, piece in pieces.items()
                       if key != occurrence and piece is not None)
        return Change(str(task_id), progress, grade, len(pieces), others)

    def project(self, change: Change) -> Projection:
        try:
            return project(self.facts.input, change, self.current)
        except ScoringError as exc:
            raise Refused("invalid_value", field="whatif", value=str(exc)) from exc

    def place(self, projections: Sequence[Projection]) -> list[Outcome]:
        """Projected totals placed in the cadre's unit and post category as they stand now.
        Only the other totals at or above the lowest projected one can rank above any of them,
        so only those are read; in the post category (thousands of people) only those up to
        the highest projected one, and the number above it is counted."""
        if not projections:
            return []
        floor = min(round2(p.total) for p in projections)
        top = max(round2(p.total) for p in projections)
        others = (Standing.cadre_id != self.cadre.id, Standing.total >= floor)
        unit_totals = _totals(self.session, self.period, *others,
                              Standing.group_unit_id == self.facts.group_unit_id)
        in_post = col(Standing.post_category) == self.facts.post_category
        post_totals = _totals(self.session, self.period, *others, in_post,
                              col(Standing.total) <= top)
        post_beyond = self.session.execute(
            sa_select(func.count()).select_from(Standing).where(
                col(Standing.period_id) == self.period.id, col(Standing.cadre_id).is_not(None),
                in_post, col(Standing.cadre_id) != self.cadre.id, col(Standing.total) > top)
        ).scalar_one()
        outcomes = []
        for projection in projections:
            unit: Place = place_among(unit_totals, projection.total)
            post = place_among(post_totals, projection.total)  # those above `top` rank above
            outcomes.append(Outcome(projection.total, projection.gain, unit.rank,
                                    post.rank + post_beyond, unit.gap_above))
        return outcomes

    def outcome(self, change: Change) -> Outcome:
        return self.place([self.project(change)])[0]

    def best_change(self, task_id: int, occurrence: str) -> Change:
        change = self.change(task_id, Rational(100), "A", occurrence)
        return best_case(change.task, change.pieces, change.others)


def _totals(session: Session, period: Period, *where: Any) -> list[Decimal]:
    """The stored 2-decimal totals of a group's other cadres, ascending."""
    return list(session.execute(
        sa_select(col(Standing.total)).where(col(Standing.period_id) == period.id,
                                             col(Standing.cadre_id).is_not(None), *where)
        .order_by(col(Standing.total))
    ).scalars().all())


def suggestions(session: Session, projector: CadreProjector,
                lines: Sequence[TaskLine] | None = None) -> list[Suggestion]:
    """Every open task of the cadre's own with what completing it at A would bring, the largest
    gain first. Not suggested: tasks waiting for review, and done ones (a one-off task approved
    at 100 %, a recurring one whose current occurrence is approved)."""
    cadre, today = projector.cadre, projector.today
    found = []
    if lines is None:
        lines = reportable_tasks(session, cadre, projector.period, today)
    for line in lines:
        task = projector.tasks.get(line.task.id)
        if task is None or line.state == SUBMITTED:
            continue  # a unit's task (not in the cadre's score), or waiting for review
        if task.recurrence == "once":
            if line.state == APPROVED and projector.facts.progress[task.id] >= 100:
                continue
        elif line.state == APPROVED:
            continue  # the current occurrence is done
        overdue = line.overdue > 0 or (line.next_due is not None and line.next_due < today)
        found.append((task.id, line, overdue,
                      projector.project(projector.best_change(task.id, line.occurrence))))
    outcomes = projector.place([projection for *_, projection in found])
    made = [Suggestion(task_id, line.task.title, line.occurrence, overdue, outcome)
            for (task_id, line, overdue, _), outcome in zip(found, outcomes, strict=True)]
    return sorted(made, key=lambda s: (-s.outcome.gain, s.task_id))


@dataclass(frozen=True, slots=True)
class WhatIf:
    task_id: int
    title: str
    progress: Decimal
    grade: str
    rank_in_unit: int | None  # now (None: no standing yet)
    rank_in_post: int | None
    outcome: Outcome


def whatif(session: Session, rules: Rules, period: Period, cadre: Cadre, today: date,
           task_id: int, progress: Decimal, grade: str) -> WhatIf:
    """The cadre's score if their task `task_id` (a recurring task: its current occurrence)
    were done to `progress` at `grade`. Nothing is stored. Refused: another person's task (or a
    unit's), a grade the policy does not know, a progress outside 0-100."""
    if grade not in rules.policy(cadre.post_category).grade_factors:
        raise Refused("unknown_grade", grade=grade)
    if not 0 <= progress <= 100:
        raise Refused("progress_out_of_range", value=progress)
    projector = CadreProjector(session, rules, period, cadre, today)
    if task_id not in projector.tasks:
        raise Refused("whatif_not_yours")
    outcome = projector.outcome(projector.change(task_id, Rational(progress), grade))
    task = session.get(Task, task_id)
    standing = session.exec(select(Standing).where(
        Standing.period_id == period.id, Standing.cadre_id == cadre.id)).first()
    ranks = None if standing is None else ranks_of(
        session, period.id or 0, CADRE, standing.group_unit_id, standing.post_category,
        standing.total)
    return WhatIf(task_id, task.title if task else "", progress, grade,
                  ranks.in_unit if ranks else None, ranks.in_post if ranks else None, outcome)


def own_tasks(session: Session, period: Period, cadre: Cadre) -> list[tuple[int, str]]:
    """(id, title) of the tasks in the cadre's own score, to pick one for /whatif."""
    rows = session.execute(
        sa_select(col(Task.id), col(Task.title))
        .where(col(Task.period_id) == period.id, col(Task.cadre_id) == cadre.id)
        .order_by(col(Task.dimension).desc(), col(Task.id))
    ).all()
    return [(row[0], row[1]) for row in rows]


# -- the 优秀 line ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExcellenceLine:
    pool: str  # the rating pool's name
    members: int
    slots: int  # excellence places in the pool
    line: Decimal | None  # the total of the last member inside the quota today (None: no slot)
    threshold: Decimal  # the 优秀 minimum (90)
    inside: bool  # the cadre holds an excellence place today
    to_line: Decimal | None  # line - the cadre's total (None: no line)
    to_threshold: Decimal  # threshold - the cadre's total


def excellence_lines(session: Session, rules: Rules, period: Period,
                     cadres: Sequence[Cadre]) -> dict[int, ExcellenceLine]:
    """The 优秀 line of each cadre's rating pool today (models/rating_pools.py: the pool holds
    every cadre of its subtree, D is the pool's share-weighted difficulty), the same line the
    rating draws, read from the stored standings (`pool_lines`), each pool once."""
    pools = pool_lines(session, rules, period, {c.unit_id for c in cadres})
    result = {}
    for cadre in cadres:
        pool = pools[cadre.unit_id]
        threshold = round2(pool.excellent_min)
        mine = pool.total_of(cadre.id or 0) or Decimal(0)
        result[cadre.id or 0] = ExcellenceLine(
            pool.name, pool.members, pool.slots, pool.line, threshold,
            cadre.id in pool.excellent,
            None if pool.line is None else pool.line - mine, threshold - mine)
    return result


def excellence_line(session: Session, rules: Rules, period: Period,
                    cadre: Cadre) -> ExcellenceLine:
    return excellence_lines(session, rules, period, [cadre])[cadre.id or 0]


# -- trends -----------------------------------------------------------------------------------


UP, DOWN, FLAT = "up", "down", "flat"


@dataclass(frozen=True, slots=True)
class Trend:
    totals: tuple[Decimal, ...]  # one a week, oldest first, the last one today's
    direction: str | None  # UP, DOWN or FLAT over the latest weeks (None: too little history)
    weeks: int  # how many weeks in a row it went that way


def trend_of(totals: Sequence[Decimal]) -> Trend:
    """The latest run of weekly moves in one direction: 连续 3 周上升."""
    moves = [UP if b > a else DOWN if b < a else FLAT for a, b in pairwise(totals)]
    if not moves:
        return Trend(tuple(totals), None, 0)
    last = moves[-1]
    run = 0
    for move in reversed(moves):
        if move != last:
            break
        run += 1
    return Trend(tuple(totals), last, run)


def weekly_days(today: date, weeks: int) -> list[date]:
    """The history days a weekly series reads, oldest first (today's point is the standing)."""
    return [today - timedelta(days=7 * n) for n in range(weeks, 0, -1)]


def weekly_history(session: Session, period: Period, cadre_ids: Sequence[int],
                   days: Sequence[date]) -> dict[int, dict[date, Decimal]]:
    """The recorded totals of the cadres on those days, in one query."""
    rows = session.execute(
        sa_select(col(StandingHistory.cadre_id), col(StandingHistory.taken_on),
                  col(StandingHistory.total))
        .where(col(StandingHistory.period_id) == period.id,
               col(StandingHistory.cadre_id).in_(cadre_ids),
               col(StandingHistory.taken_on).in_(days))
    ).all()
    found: dict[int, dict[date, Decimal]] = {}
    for cadre_id, day, total in rows:
        found.setdefault(cadre_id, {})[day] = total
    return found


def trend(session: Session, period: Period, cadre_id: int, today: date,
          now: Decimal | None) -> Trend:
    """The cadre's weekly totals over the last TREND_WEEKS weeks and today's, and their run."""
    days = weekly_days(today, TREND_WEEKS)
    recorded = weekly_history(session, period, [cadre_id], days).get(cadre_id, {})
    totals = [recorded[day] for day in days if day in recorded]
    if now is not None:
        totals.append(now)
    return trend_of(totals)


# -- 我的得分 ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScoreInsight:
    suggestions: list[Suggestion]
    line: ExcellenceLine | None
    trend: Trend


def score_insight(session: Session, rules: Rules, period: Period, cadre: Cadre,
                  today: date, standing: RankedStanding | None,
                  lines: Sequence[TaskLine] | None = None) -> ScoreInsight:
    """What 我的得分 adds under the score: suggestions, the 优秀 line and the trend. `lines`:
    the cadre's task lines when the caller has read them already."""
    projector = CadreProjector(session, rules, period, cadre, today)
    line = excellence_line(session, rules, period, cadre) if standing is not None else None
    return ScoreInsight(suggestions(session, projector, lines), line,
                        trend(session, period, cadre.id or 0, today,
                              None if standing is None else standing.total))


# -- the digest's trend chart ------------------------------------------------------------------


CHART_WEEKS = 8


@dataclass(frozen=True, slots=True)
class TrendSeries:
    """What a cadre's digest chart draws: a point a week, oldest first, the last one today's."""

    days: tuple[date, ...]
    own: tuple[Decimal | None, ...]  # None: no record that week
    average: tuple[Decimal | None, ...]  # the unit's average total that week
    excellence: ExcellenceLine  # today's 优秀 line of the cadre's pool

    @property
    def line(self) -> Decimal | None:
        return self.excellence.line

    @property
    def drawable(self) -> bool:
        """Two weeks of the cadre's own make a trend; fewer are not worth a picture."""
        return sum(1 for value in self.own if value is not None) >= 2


def trend_series(session: Session, rules: Rules, period: Period, cadres: Sequence[Cadre],
                 today: date, weeks: int = CHART_WEEKS) -> dict[int, TrendSeries]:
    """The weekly series of many cadres (a digest batch): three queries and the 优秀 lines,
    whatever their number. The unit's members are its cadres today."""
    days = [*weekly_days(today, weeks - 1), today]
    unit_ids = sorted({c.unit_id for c in cadres})
    members = session.execute(
        sa_select(col(Cadre.id), col(Cadre.unit_id)).where(col(Cadre.unit_id).in_(unit_ids))
    ).all()
    unit_of = {cadre_id: unit_id for cadre_id, unit_id in members}
    # Past weeks from the daily history, today from the standings.
    recorded = session.execute(
        sa_select(col(StandingHistory.cadre_id), col(StandingHistory.taken_on),
                  col(StandingHistory.total))
        .join(Cadre, col(Cadre.id) == StandingHistory.cadre_id)
        .where(col(StandingHistory.period_id) == period.id, col(Cadre.unit_id).in_(unit_ids),
               col(StandingHistory.taken_on).in_(days[:-1]))
    ).all()
    current = session.execute(
        sa_select(col(Standing.cadre_id), col(Standing.total))
        .join(Cadre, col(Cadre.id) == Standing.cadre_id)
        .where(col(Standing.period_id) == period.id, col(Cadre.unit_id).in_(unit_ids))
    ).all()
    totals: dict[tuple[int, date], Decimal] = {}
    per_unit: dict[tuple[int, date], list[Rational]] = {}
    for cadre_id, day, total in [*recorded, *((c, today, t) for c, t in current)]:
        totals[(cadre_id, day)] = total
        per_unit.setdefault((unit_of[cadre_id], day), []).append(Rational(total))
    averages = {key: round2(average) for key, values in per_unit.items()
                if (average := mean(values)) is not None}
    lines = excellence_lines(session, rules, period, cadres)
    return {
        cadre.id or 0: TrendSeries(
            tuple(days), tuple(totals.get((cadre.id or 0, day)) for day in days),
            tuple(averages.get((cadre.unit_id, day)) for day in days),
            lines[cadre.id or 0])
        for cadre in cadres
    }
