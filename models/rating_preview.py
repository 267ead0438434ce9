"""The annual rating as it stands now: each rating pool's quota and its cadres' provisional grades.

A pure read. Scores are recomputed exactly from the stored facts (as `kaohe check` does) because
SCORING.md breaks ties on the exact base and key points, which the stored 2-decimal standings
do not keep. Cadres are rated by rating pool (models/rating_pools.py: who is in which pool, its
difficulty D and the 未参评); a member's id in SCORING.md's order is the cadre's staff code.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import Any

from sqlmodel import Session, col, select

from models import jobs
from models.access import unit_chain
from models.facts import AssesseeFacts, AssesseeRef, FactsLoader
from models.rating_pools import (
    BY_BASE,
    BY_CODE,
    BY_KEY,
    BoundaryTie,
    NotRated,
    PoolQuota,
    RatedCadre,
    excellence_line,
    pool_map,
    rate_pool,
)
from models.rules import Rules
from models.store import Ctx
from models.tables import Cadre, Job, Period, RatingGrade, RatingRun, Unit
from models.vocab import FINAL, PENDING
from scoring import AssesseeScore, score_assessee
from scoring.ranking import EXCELLENT

__all__ = ["BY_BASE", "BY_CODE", "BY_KEY", "BoundaryTie", "NotRated", "PoolFigures", "PoolQuota",
           "RatedCadre", "RatingPreview", "preview", "preview_from", "preview_job"]


@dataclass(frozen=True, slots=True)
class PoolFigures:
    """What the preview shows of a pool: its quota, how many are rated and inside it, the 优秀
    line, the 未参评 and the tie, without the members themselves, so that a preview job's result
    stays small at 20,000 cadres. `to_data`/`of_data`: as JSON (exact numbers as strings)."""

    name: str
    unit_names: tuple[str, ...]
    difficulty: Fraction
    ratio: Fraction
    slots: int
    members: int
    excellent: int
    line: Decimal | None  # excellence_line
    excellent_min: Fraction
    not_rated: tuple[NotRated, ...]
    tie: BoundaryTie | None

    @classmethod
    def of(cls, pool: PoolQuota) -> PoolFigures:
        return cls(pool.name, pool.unit_names, pool.difficulty, pool.ratio, pool.slots,
                   len(pool.members), pool.excellent, excellence_line(pool),
                   pool.excellent_min, pool.not_rated, pool.tie)

    def to_data(self) -> dict[str, Any]:
        tie = self.tie
        return {
            "name": self.name, "unit_names": list(self.unit_names),
            "difficulty": str(self.difficulty), "ratio": str(self.ratio), "slots": self.slots,
            "members": self.members, "excellent": self.excellent,
            "line": None if self.line is None else str(self.line),
            "excellent_min": str(self.excellent_min),
            "not_rated": [[n.cadre_id, n.code, n.name, n.reason] for n in self.not_rated],
            "tie": None if tie is None else {
                "total": str(tie.total), "inside": [_cadre_data(m) for m in tie.inside],
                "outside": [_cadre_data(m) for m in tie.outside], "decided_by": tie.decided_by,
                "inside_value": tie.inside_value, "outside_value": tie.outside_value},
        }

    @classmethod
    def of_data(cls, data: dict[str, Any]) -> PoolFigures:
        tie = data["tie"]
        return cls(
            data["name"], tuple(data["unit_names"]), Fraction(data["difficulty"]),
            Fraction(data["ratio"]), int(data["slots"]), int(data["members"]),
            int(data["excellent"]), None if data["line"] is None else Decimal(data["line"]),
            Fraction(data["excellent_min"]),
            tuple(NotRated(int(i), code, name, reason)
                  for i, code, name, reason in data["not_rated"]),
            None if tie is None else BoundaryTie(
                Decimal(tie["total"]), tuple(_cadre_of(m) for m in tie["inside"]),
                tuple(_cadre_of(m) for m in tie["outside"]), tie["decided_by"],
                tie["inside_value"], tie["outside_value"]))


def _cadre_data(member: RatedCadre) -> list[Any]:
    return [member.cadre_id, member.code, member.name, str(member.total), member.rank,
            member.grade]


def _cadre_of(data: list[Any]) -> RatedCadre:
    cadre_id, code, name, total, rank, grade = data
    return RatedCadre(int(cadre_id), code, name, Decimal(total), int(rank), grade)


@dataclass(frozen=True, slots=True)
class RatingPreview:
    period_id: int
    pools: tuple[PoolQuota, ...]  # in the organisation's tree order; pools with cadres only

    def grade_of(self, cadre_id: int) -> tuple[PoolQuota, RatedCadre] | None:
        for pool in self.pools:
            for member in pool.members:
                if member.cadre_id == cadre_id:
                    return pool, member
        return None

    def figures(self) -> list[PoolFigures]:
        return [PoolFigures.of(pool) for pool in self.pools]

    def not_rated(self, cadre_id: int) -> tuple[PoolQuota, NotRated] | None:
        for pool in self.pools:
            for skipped in pool.not_rated:
                if skipped.cadre_id == cadre_id:
                    return pool, skipped
        return None


def preview(session: Session, rules: Rules, period: Period) -> RatingPreview:
    """Every pool's quota and its cadres' grades, from the period's stored facts."""
    loaded = FactsLoader(session, rules, period).load(None)
    scores = {ref: score_assessee(facts.input) for ref, facts in loaded.items()}
    return preview_from(session, rules, period, loaded, scores)


def preview_from(session: Session, rules: Rules, period: Period,
                 loaded: dict[AssesseeRef, AssesseeFacts],
                 scores: dict[AssesseeRef, AssesseeScore]) -> RatingPreview:
    """The preview from facts and exact scores already loaded for the whole period.

    Once the rating is final it is the rating as finalised (`rating_grade`): the cadres rated
    then, each in the pool rated in, with their final total, rank and grade, whoever has left
    or moved since; only the 未参评 (active cadres without a task) are as the roster stands."""
    assert period.id is not None
    units = sorted(session.exec(select(Unit)).all(), key=unit_chain)
    pools = pool_map(units)
    finalised = _finalised(session, period.id)
    cadres: dict[int, list[Cadre]] = {pool_id: [] for pool_id in finalised}
    rated_in = {m.cadre_id: pool_id for pool_id, rows in finalised.items() for m in rows}
    for cadre in session.exec(select(Cadre).where(col(Cadre.active))).all():
        if finalised:
            pool_id = rated_in.get(cadre.id or 0)
            facts = loaded.get(AssesseeRef.cadre(cadre.id or 0))
            if pool_id is None and facts is not None and facts.input.tasks:
                continue  # rated now, not when finalised: not in the final rating
            cadres.setdefault(pools[cadre.unit_id] if pool_id is None else pool_id,
                              []).append(cadre)
        else:
            cadres.setdefault(pools[cadre.unit_id], []).append(cadre)
    held: dict[int, list[Unit]] = {}
    for unit in units:
        held.setdefault(pools[unit.id or 0], []).append(unit)
    rated = []
    for unit in units:
        if unit.id in cadres:
            pool = rate_pool(unit, held.get(unit.id) or [unit], cadres[unit.id], loaded, scores,
                             rules)
            rated.append(_as_finalised(pool, finalised.get(unit.id or 0, []))
                         if finalised else pool)
    return RatingPreview(period.id, tuple(rated))


def _finalised(session: Session, period_id: int) -> dict[int, list[RatedCadre]]:
    """Once the rating is final, each pool unit's members as finalised, in their order; else
    nothing."""
    run = session.exec(select(RatingRun).where(RatingRun.period_id == period_id)).first()
    if run is None or run.state != FINAL:
        return {}
    found: dict[int, list[RatedCadre]] = {}
    for grade, cadre in session.exec(
            select(RatingGrade, Cadre).join(Cadre, col(Cadre.id) == RatingGrade.cadre_id)
            .where(RatingGrade.period_id == period_id,
                   col(RatingGrade.final_grade).is_not(None))).all():
        found.setdefault(grade.unit_id, []).append(RatedCadre(
            cadre.id or 0, cadre.code, cadre.name, grade.final_total or Decimal(0),
            grade.final_rank or 0, grade.final_grade or ""))
    for members in found.values():  # the order of the finalisation, for equal totals 优秀 first
        members.sort(key=lambda m: (m.rank, m.grade != EXCELLENT, m.code))
    return found


def _as_finalised(pool: PoolQuota, members: list[RatedCadre]) -> PoolQuota:
    """The pool rated now from the finalised members still here, with the members as finalised.
    Rated again from the same locked facts they come out the same, the boundary tie with them;
    when someone has left since, the quota is the finalised one's and the tie is not known."""
    key = [(m.cadre_id, m.total, m.rank, m.grade) for m in members]
    if [(m.cadre_id, m.total, m.rank, m.grade) for m in pool.members] == key:
        return pool
    return replace(pool, members=tuple(members), tie=None,
                   slots=int(floor(pool.ratio * len(members))))  # noqa: RUF046 as the core


def preview_job(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    """The PREVIEW job (管理 → 年度评定): the period's preview as data for the admin's card
    (ui/rating_cards.py: preview_done), which reads the rating's state when it is sent."""
    period = ctx.session.get(Period, int(payload["period_id"]))
    if period is None:
        return {**payload, "pools": None}
    rated = preview(ctx.session, ctx.rules, period)
    return {**payload, "pools": [figures.to_data() for figures in rated.figures()]}


def ask_preview(ctx: Ctx, period_id: int, days: int, requested_by: int) -> Job | None:
    """Queue the PREVIEW job for this admin, unless theirs for the period is still waiting (a
    second tap while it is worked out, or a double tap): None then, and one preview comes."""
    waiting = ctx.session.exec(select(Job.payload).where(
        Job.kind == jobs.JobKind.PREVIEW.value, Job.state == PENDING,
        Job.requested_by == requested_by)).all()
    if any(payload.get("period_id") == period_id for payload in waiting):
        return None
    return jobs.enqueue(ctx, jobs.JobKind.PREVIEW, {"period_id": period_id, "days": days},
                        requested_by=requested_by)
