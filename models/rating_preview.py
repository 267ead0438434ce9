"""The annual rating as it stands now: each rating pool's quota and its cadres' provisional grades.

A pure read. Scores are recomputed exactly from the stored facts (as `kaohe check` does) because
SCORING.md breaks ties on the exact base and key points, which the stored 2-decimal standings
do not keep. Cadres are rated by rating pool (models/rating_pools.py: who is in which pool, its
difficulty D and the 未参评); a member's id in SCORING.md's order is the cadre's staff code.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

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
    pool_map,
    rate_pool,
)
from models.rules import Rules
from models.tables import Cadre, Period, Unit
from scoring import AssesseeScore, score_assessee

__all__ = ["BY_BASE", "BY_CODE", "BY_KEY", "BoundaryTie", "NotRated", "PoolQuota", "RatedCadre",
           "RatingPreview", "preview", "preview_from"]


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
    """The preview from facts and exact scores already loaded for the whole period."""
    assert period.id is not None
    units = sorted(session.exec(select(Unit)).all(), key=unit_chain)
    pools = pool_map(units)
    cadres: dict[int, list[Cadre]] = {}
    for cadre in session.exec(select(Cadre).where(col(Cadre.active))).all():
        cadres.setdefault(pools[cadre.unit_id], []).append(cadre)
    held: dict[int, list[Unit]] = {}
    for unit in units:
        held.setdefault(pools[unit.id or 0], []).append(unit)
    return RatingPreview(period.id, tuple(
        rate_pool(unit, held[unit.id], cadres[unit.id], loaded, scores, rules)
        for unit in units if unit.id in cadres))
