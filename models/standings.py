"""Standings: the stored result of the scoring core for each assessee.

`refresh` is what every operation that changes a score's inputs calls before it commits, so
when the transaction commits the standing is already current. Ranks are not stored: they are
counted from the stored totals when read (models/ranks.py), so a changed total touches its own
row only, whatever the size of its groups.
`check` recomputes every standing from stored facts and lists what differs from what is stored.

Writers in several processes: a period's standings change one transaction at a time. `refresh`
and `refresh_all` first lock the period's row (`lock_standings`), then read the facts, so each
one starts from the facts the previous one committed (docs/architecture.md).
"""

from collections.abc import Iterable
from dataclasses import astuple, dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, insert, update
from sqlmodel import Session, col, select

from models import lean_check, recompute
from models.errors import Refused
from models.facts import AssesseeFacts, AssesseeRef, FactsLoader
from models.ranks import ranks_of
from models.rules import Rules
from models.store import Ctx
from models.tables import Period, Standing, StandingBreakdown
from scoring import (
    AssesseeScore,
    Rational,
    round2,
    round2_text,
    score_assessee,
)


def _owner_column(kind: str) -> Any:
    """The standing's column that names an assessee of this kind."""
    return col(Standing.cadre_id if kind == "cadre" else Standing.unit_id)


def _standing_filter(ref: AssesseeRef) -> ColumnElement[bool]:
    owner: ColumnElement[bool] = _owner_column(ref.kind) == ref.id
    return owner


def breakdown_of(facts: AssesseeFacts, score: AssesseeScore) -> dict[str, Any]:
    """Per task, rounded for display: the weight it got, its points and what produced them."""
    result: dict[str, Any] = {}
    for task in facts.tasks:
        key = str(task.id)
        part = score.tasks[key]
        result[key] = {
            "weight": round2_text(part.share),
            "points": round2_text(part.points),
            "progress": round2_text(facts.progress.get(task.id or 0, Rational(0))),
            "grade": facts.grades.get(task.id or 0),
            "quality": round2_text(part.quality),
            "difficulty": _normal(task.difficulty),
            "boost": None if task.boost is None else _normal(task.boost),
        }
    return result


@lru_cache(maxsize=1024)
def _normal(value: Decimal) -> str:
    """A coefficient as the breakdown shows it (1.1, not 1.100); few distinct values."""
    return str(value.normalize())


def _values(facts: AssesseeFacts, score: AssesseeScore) -> dict[str, Any]:
    return {
        "post_category": facts.post_category,
        "group_unit_id": facts.group_unit_id,
        "base": round2(score.base),
        "key_points": round2(score.key),
        "innovation": round2(score.innovation),
        "collaboration": round2(score.collaboration),
        "total": round2(score.total),
        "difficulty": round2(score.difficulty),
    }


def _stored(session: Session, period_id: int, ref: AssesseeRef) -> Standing | None:
    return session.exec(
        select(Standing).where(Standing.period_id == period_id, _standing_filter(ref))
    ).first()


def _store(ctx: Ctx, period_id: int, facts: AssesseeFacts, standing: Standing | None,
           score: AssesseeScore | None = None) -> Standing:
    """Write the scoring core's result (`score`, worked out here when not given) into
    `standing` (the stored row, or None for a new one)."""
    if score is None:
        score = score_assessee(facts.input)
    values = _values(facts, score)
    breakdown = breakdown_of(facts, score)
    if standing is None:
        standing = Standing(
            period_id=period_id,
            cadre_id=facts.ref.id if facts.ref.kind == "cadre" else None,
            unit_id=facts.ref.id if facts.ref.kind == "unit" else None,
            computed_at=ctx.now,
            **values,
        )
        standing.detail = StandingBreakdown(breakdown=breakdown)
        ctx.session.add(standing)
        return standing
    for name, value in values.items():
        setattr(standing, name, value)
    standing.computed_at = ctx.now
    if standing.detail is None:
        standing.detail = StandingBreakdown(breakdown=breakdown)
    elif standing.detail.breakdown != breakdown:
        standing.detail.breakdown = breakdown
    return standing


# populate_existing: the row as committed now (autoflush writes our own changes first).
_PERIOD_LOCK = (select(Period).where(col(Period.id) == bindparam("period"))
                .with_for_update(key_share=True).execution_options(populate_existing=True))


def lock_standings(ctx: Ctx, periods: Iterable[Period]) -> None:
    """Serialise the writers of these periods' standings until this transaction ends.

    On PostgreSQL each period's row is locked FOR NO KEY UPDATE (in id order, so that two
    transactions locking several periods never wait on each other in a circle); it does not
    block inserting rows that refer to the period. On SQLite the transaction already holds the
    database's one write lock (BEGIN IMMEDIATE). Whatever of the standings this session read
    before the lock may be stale, so it is read again; a period locked meanwhile is refused.
    Must come before the facts are read: a recompute from facts read earlier could miss a
    change committed just before the lock was granted.
    """
    session = ctx.session
    session.connection()  # the transaction has begun: its locks are what `held` remembers
    transaction = session.get_transaction()
    held: tuple[object, set[int]] | None = session.info.get("standings_locks")
    if held is None or held[0] is not transaction:
        held = session.info["standings_locks"] = (transaction, set())
    wanted = sorted({p.id for p in periods if p.id is not None} - held[1])
    if not wanted:
        return
    if not ctx.locks_rows:  # SQLite: nothing to lock, and nothing read here can be stale
        for period_id in wanted:
            held[1].add(period_id)
            known = session.get(Period, period_id)
            if known is not None and known.locked:
                raise Refused("period_locked", period=known.code)
        return
    for period_id in wanted:
        period = session.scalars(_PERIOD_LOCK, {"period": period_id}).one()
        held[1].add(period_id)
        if period.locked:
            raise Refused("period_locked", period=period.code)
    for row in list(session.identity_map.values()):
        if isinstance(row, (Standing, StandingBreakdown)):
            session.expire(row)


@dataclass(frozen=True, slots=True)
class Placed:
    """An assessee's standing after `refresh`: its total and both ranks (counted after it)."""

    ref: AssesseeRef
    total: Decimal
    rank_in_unit: int
    rank_in_post: int


def refresh(ctx: Ctx, period: Period, refs: Iterable[AssesseeRef]) -> list[Placed]:
    """Recompute the given assessees' standings in ctx's transaction; their ranks after it.

    Each assessee's own row is all that is written: nobody else's rank is stored, so an
    approval costs the same in a unit of 40 as in a post category of 13,000.
    """
    assert period.id is not None
    wanted = sorted(set(refs))
    if not wanted:
        return []
    lock_standings(ctx, [period])
    loaded = FactsLoader(ctx.session, ctx.rules, period).load(wanted)
    placed = []
    for ref in wanted:
        if ref not in loaded:
            continue
        facts = loaded[ref]
        score = score_assessee(facts.input)
        total = _rescore_in_place(ctx, period.id, facts, score)
        if total is None:
            standing = _store(ctx, period.id, facts, _stored(ctx.session, period.id, ref), score)
            ctx.session.flush()
            total = standing.total
        placed.append((facts, total))
    # Counted once every row is written, so each rank is the one this transaction commits.
    return [Placed(facts.ref, total, *astuple(ranks_of(
                ctx.session, period.id, facts.ref.kind, facts.group_unit_id,
                facts.post_category, total)))
            for facts, total in placed]


def _rescore_in_place(ctx: Ctx, period_id: int, facts: AssesseeFacts,
                      score: AssesseeScore) -> Decimal | None:
    """The common case (an approval): the standing exists and stays in its groups. Its new
    score and its breakdown are written with two plain statements, the first of which finds
    the row (UPDATE ... RETURNING: no read before the write); returns the new total, or None
    when there is no such row (a new assessee, or one whose unit or post category changed)."""
    values = _values(facts, score)
    session = ctx.session
    session.flush()  # the operation's own changes first: the statements below bypass the ORM
    standing_id = session.execute(_rescore_statement(facts.ref.kind, tuple(values)), {
        **{f"new_{name}": value for name, value in values.items()}, "new_computed_at": ctx.now,
        "period": period_id, "owner": facts.ref.id,
    }).scalar_one_or_none()
    if standing_id is None:
        return None
    breakdown = breakdown_of(facts, score)
    written = session.execute(_BREAKDOWN_UPDATE, {"breakdown": breakdown, "standing": standing_id})
    if not written.rowcount:  # type: ignore[attr-defined]
        session.execute(insert(StandingBreakdown).values(standing_id=standing_id,
                                                         breakdown=breakdown))
    _forget_loaded(session)
    total: Decimal = values["total"]
    return total


@lru_cache(maxsize=2)
def _rescore_statement(kind: str, names: tuple[str, ...]) -> Any:
    """_rescore_in_place's UPDATE, built once per kind of assessee (parameters: period, owner,
    and new_ before each of `names`, the columns of `_values`, and computed_at)."""
    found_by = ("group_unit_id", "post_category")  # the row stays in its groups
    return (update(Standing)
            .where(col(Standing.period_id) == bindparam("period"),
                   _owner_column(kind) == bindparam("owner"),
                   *(col(getattr(Standing, name)).is_not_distinct_from(bindparam(f"new_{name}"))
                     for name in found_by))
            .values({name: bindparam(f"new_{name}") for name in (*names, "computed_at")
                     if name not in found_by})
            .returning(col(Standing.id))
            .execution_options(synchronize_session=False))


_BREAKDOWN_UPDATE = (update(StandingBreakdown)
                     .where(col(StandingBreakdown.standing_id) == bindparam("standing"))
                     .values(breakdown=bindparam("breakdown"))
                     .execution_options(synchronize_session=False))


def _forget_loaded(session: Session) -> None:
    """Standings and breakdowns this session loaded before were changed behind its back."""
    for row in list(session.identity_map.values()):
        if isinstance(row, (Standing, StandingBreakdown)):
            session.expire(row)


def drop(ctx: Ctx, period: Period, cadre_id: int) -> None:
    """A cadre leaves the period's standings (deactivated): their row goes (and with it their
    place in the ranks of their groups)."""
    assert period.id is not None
    # As every writer of standings: an approval of their report meanwhile, having read them as
    # still active, would write the row again once this one's delete committed.
    lock_standings(ctx, [period])
    standing = _stored(ctx.session, period.id, AssesseeRef.cadre(cadre_id))
    if standing is None:
        return
    ctx.session.delete(standing)
    ctx.session.flush()


def refresh_all(ctx: Ctx, period: Period) -> int:
    """Recompute every standing of a period (after an import or a policy change).

    A chunk of assessees at a time (models/recompute.py): each chunk's rows are written and let
    go of before the next is read, so memory holds one chunk, not the period."""
    assert period.id is not None
    lock_standings(ctx, [period])
    count = 0
    for chunk in recompute.chunks(ctx.session, period):
        loaded = recompute.ChunkLoader(ctx.session, ctx.rules, period, chunk).load(None)
        stored = {_ref_of(row): row for row in ctx.session.exec(
            select(Standing).where(Standing.period_id == period.id, _in_chunk(chunk))).all()}
        written = [_store(ctx, period.id, facts, stored.get(ref))
                   for ref, facts in loaded.items()]
        ctx.session.flush()
        for row in [*written, *stored.values()]:
            if row in ctx.session:
                ctx.session.expunge(row)
        count += len(written)
    return count


def _in_chunk(chunk: recompute.Chunk) -> ColumnElement[bool]:
    if chunk is None:
        return col(Standing.unit_id).is_not(None)
    return and_(col(Standing.cadre_id) >= chunk[0], col(Standing.cadre_id) < chunk[1])


# -- check -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Difference:
    """A stored standing that does not match what the stored facts give now."""

    assessee: str
    field: str
    stored: str
    computed: str


_CHECKED = ("base", "key_points", "innovation", "collaboration", "total", "difficulty")


def _ref_of(standing: Standing) -> AssesseeRef:
    if standing.cadre_id is not None:
        return AssesseeRef.cadre(standing.cadre_id)
    assert standing.unit_id is not None
    return AssesseeRef.unit(standing.unit_id)


def check(session: Session, rules: Rules, period: Period, *,
          workers: int = 1) -> list[Difference]:
    """Rebuild every score of the period from stored facts and compare with what is stored.

    Streamed a chunk of assessees at a time (models/recompute.py), on `workers` processes
    reading the moment `session` sees (SQLite: a session that holds the write lock, as every
    session does once it has read; PostgreSQL: its snapshot), so the result is the same with any
    number of workers. Give more than one only with a session that has nothing uncommitted.
    """
    assert period.id is not None
    differences: list[Difference] = []
    unexpected: list[Difference] = []
    for part in recompute.over_chunks(session, rules, period, _check_chunk, workers):
        differences += part.differences
        unexpected += part.unexpected
    return differences + unexpected


@dataclass(frozen=True, slots=True)
class _Checked:
    differences: list[Difference]
    unexpected: list[Difference]  # stored standings of no assessee


def _check_chunk(session: Session, rules: Rules, period: Period,
                 chunk: recompute.Chunk) -> _Checked:
    stored = recompute.stored_rows(session, period, chunk)
    confirmed = lean_check.confirmed(session, rules, period, chunk, stored)
    if confirmed is not None:  # all as stored: nothing to report
        return _Checked([], [])
    differences: list[Difference] = []
    for facts, score in recompute.scored(session, rules, period, chunk):
        ref = facts.ref
        row = stored.pop(ref, None)
        values = _values(facts, score)
        if row is None:
            differences.append(Difference(str(ref), "standing", "missing", str(values["total"])))
            continue
        values["breakdown"] = breakdown_of(facts, score)
        have: dict[str, Any] = {name: recompute.scaled2(row.figures[column])
                                for name, column in zip(_CHECKED, recompute.FIGURES, strict=True)}
        have |= {"breakdown": {} if row.breakdown is None else row.breakdown,
                 "post_category": row.post_category, "group_unit_id": row.group_unit_id}
        for name in (*_CHECKED, "breakdown", "post_category", "group_unit_id"):
            if have[name] != values[name]:
                differences.append(Difference(str(ref), name, str(have[name]), str(values[name])))
    unexpected = [Difference(str(ref), "standing", str(recompute.scaled2(row.figures["total"])),
                             "none") for ref, row in sorted(stored.items())]
    return _Checked(differences, unexpected)
