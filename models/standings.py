"""Standings: the stored result of the scoring core for each assessee, and the ranks.

`refresh` is what every operation that changes a score's inputs calls before it commits, so
when the transaction commits the standing and the ranks it touches are already current.
`check` recomputes every standing from stored facts and lists what differs from what is stored.

Writers in several processes: a period's standings change one transaction at a time. `refresh`
and `refresh_all` first lock the period's row (`lock_standings`), then read the facts, so each
one starts from the facts and ranks the previous one committed (docs/architecture.md).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import lazyload
from sqlmodel import Session, col, select

from models import lean_check, recompute
from models.errors import Refused
from models.facts import AssesseeFacts, AssesseeRef, FactsLoader
from models.rules import Rules
from models.store import Ctx
from models.tables import Period, Standing, StandingBreakdown
from scoring import (
    AssesseeScore,
    MemberStanding,
    Rational,
    rank_members,
    round2,
    round2_text,
    score_assessee,
)


def _kind_filter(kind: str) -> ColumnElement[bool]:
    owner = Standing.cadre_id if kind == "cadre" else Standing.unit_id
    return col(owner).is_not(None)


def _standing_filter(ref: AssesseeRef) -> ColumnElement[bool]:
    owner = Standing.cadre_id if ref.kind == "cadre" else Standing.unit_id
    return col(owner) == ref.id


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


@dataclass(frozen=True, slots=True)
class _Place:
    """Where a standing stood before a recompute: its groups and its 2-decimal total."""

    group_unit_id: int | None
    post_category: str
    total: Decimal


def _stored(session: Session, period_id: int, ref: AssesseeRef) -> Standing | None:
    return session.exec(
        select(Standing).where(Standing.period_id == period_id, _standing_filter(ref))
    ).first()


def _store(ctx: Ctx, period_id: int, facts: AssesseeFacts,
           standing: Standing | None) -> tuple[Standing, _Place | None]:
    """Write the scoring core's result into `standing` (the stored row, or None for a new one);
    returns the row and where it stood before."""
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
        return standing, None
    before = _Place(standing.group_unit_id, standing.post_category, standing.total)
    for name, value in values.items():
        setattr(standing, name, value)
    standing.computed_at = ctx.now
    if standing.detail is None:
        standing.detail = StandingBreakdown(breakdown=breakdown)
    elif standing.detail.breakdown != breakdown:
        standing.detail.breakdown = breakdown
    return standing, before


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
    for period_id in wanted:
        # populate_existing: the row as committed now (autoflush writes our own changes first).
        period = session.exec(
            select(Period).where(Period.id == period_id).with_for_update(key_share=True)
            .execution_options(populate_existing=True)).one()
        held[1].add(period_id)
        if period.locked:
            raise Refused("period_locked", period=period.code)
    for row in list(session.identity_map.values()):
        if isinstance(row, (Standing, StandingBreakdown)):
            session.expire(row)


def _rank_group(session: Session, period_id: int, kind: str, where: ColumnElement[bool],
                attribute: str) -> None:
    rows = session.exec(  # ranks need no breakdowns: a post category holds thousands
        select(Standing).where(Standing.period_id == period_id, _kind_filter(kind), where)
        .options(lazyload(Standing.detail))  # type: ignore[arg-type]
    ).all()
    members = [
        MemberStanding(
            id=str(row.id), total=Rational(row.total), base=Rational(row.base),
            key=Rational(row.key_points),
        )
        for row in rows
    ]
    ranks = {m.id: m.rank for m in rank_members(members)}
    for row in rows:
        rank = ranks[str(row.id)]
        if getattr(row, attribute) != rank:
            setattr(row, attribute, rank)


def refresh_ranks(ctx: Ctx, period_id: int, standings: Iterable[Standing]) -> None:
    """Re-rank every group the given standings belong to: their unit, and their post category."""
    ctx.session.flush()
    unit_groups: set[tuple[str, int | None]] = set()
    post_groups: set[tuple[str, str]] = set()
    for standing in standings:
        kind = "cadre" if standing.cadre_id is not None else "unit"
        unit_groups.add((kind, standing.group_unit_id))
        post_groups.add((kind, standing.post_category))
    _rank_groups(ctx.session, period_id, unit_groups, post_groups)


def _rank_groups(session: Session, period_id: int, unit_groups: set[tuple[str, int | None]],
                 post_groups: set[tuple[str, str]]) -> None:
    for kind, group in sorted(unit_groups, key=str):
        where = (
            col(Standing.group_unit_id).is_(None) if group is None
            else col(Standing.group_unit_id) == group
        )
        _rank_group(session, period_id, kind, where, "rank_in_unit")
    for kind, category in sorted(post_groups):
        _rank_group(session, period_id, kind, col(Standing.post_category) == category,
                    "rank_in_post")


@dataclass(frozen=True, slots=True)
class Placed:
    """An assessee's standing after `refresh`: its total and both ranks."""

    ref: AssesseeRef
    total: Decimal
    rank_in_unit: int
    rank_in_post: int


def refresh(ctx: Ctx, period: Period, refs: Iterable[AssesseeRef]) -> list[Placed]:
    """Recompute the given assessees' standings and the ranks they touch, in ctx's transaction.

    Ranks move incrementally: when one total goes from a to b, only the members of its groups
    whose totals lie between a and b change rank, by one, in one UPDATE on the group's total
    index. An approval therefore costs the same in a unit of 40 as in a post category of
    7,000, but for those rows. A new standing, or one that changed groups, re-ranks its groups
    whole.
    """
    assert period.id is not None
    wanted = sorted(set(refs))
    if not wanted:
        return []
    lock_standings(ctx, [period])
    loaded = FactsLoader(ctx.session, ctx.rules, period).load(wanted)
    placed = []
    for ref in wanted:  # one at a time: each move starts from ranks that are all correct
        if ref not in loaded:
            continue
        facts = loaded[ref]
        place = _place_of(ctx.session, period.id, ref)
        if place is not None and (place.group_unit_id, place.post_category) == (
                facts.group_unit_id, facts.post_category):
            placed.append(_rescore_in_place(ctx, period.id, facts, place))
            continue
        standing, before = _store(ctx, period.id, facts, _stored(ctx.session, period.id, ref))
        ctx.session.flush()
        refresh_ranks(ctx, period.id, [standing])
        if before is not None:
            _rerank_groups(ctx.session, period.id, ref.kind, before)
        placed.append(Placed(ref, standing.total, standing.rank_in_unit, standing.rank_in_post))
    return placed


@dataclass(frozen=True, slots=True)
class _Row:
    """The stored standing as the incremental path needs it (a plain row, not an ORM object)."""

    id: int
    group_unit_id: int | None
    post_category: str
    total: Decimal
    rank_in_unit: int
    rank_in_post: int


def _place_of(session: Session, period_id: int, ref: AssesseeRef) -> _Row | None:
    found = session.execute(
        sa_select(col(Standing.id), col(Standing.group_unit_id), col(Standing.post_category),
                  col(Standing.total), col(Standing.rank_in_unit), col(Standing.rank_in_post))
        .where(col(Standing.period_id) == period_id, _standing_filter(ref))
    ).first()
    return None if found is None else _Row(*found)


def _rescore_in_place(ctx: Ctx, period_id: int, facts: AssesseeFacts, row: _Row) -> Placed:
    """The common case (an approval): the standing exists and stays in its groups. Its new
    score, its breakdown and both ranks are written with a handful of plain statements; the
    ranks of others move as `_move` says."""
    score = score_assessee(facts.input)
    values = _values(facts, score)
    session = ctx.session
    session.flush()  # the operation's own changes first: the statements below bypass the ORM
    ranks = {"rank_in_unit": row.rank_in_unit, "rank_in_post": row.rank_in_post}
    if values["total"] != row.total:
        ranks = _move(session, period_id, facts.ref.kind, row, values["total"])
    session.execute(update(Standing).where(col(Standing.id) == row.id)
                    .values(**values, **ranks, computed_at=ctx.now)
                    .execution_options(synchronize_session=False))
    breakdown = breakdown_of(facts, score)
    written = session.execute(
        update(StandingBreakdown).where(col(StandingBreakdown.standing_id) == row.id)
        .values(breakdown=breakdown).execution_options(synchronize_session=False))
    if not written.rowcount:  # type: ignore[attr-defined]
        session.execute(insert(StandingBreakdown).values(standing_id=row.id,
                                                         breakdown=breakdown))
    _forget_loaded(session)
    return Placed(facts.ref, values["total"], ranks["rank_in_unit"], ranks["rank_in_post"])


def _forget_loaded(session: Session) -> None:
    """Standings and breakdowns this session loaded before were changed behind its back."""
    for row in list(session.identity_map.values()):
        if isinstance(row, (Standing, StandingBreakdown)):
            session.expire(row)


def _groups(kind: str, group_unit_id: int | None,
            post_category: str) -> list[tuple[str, ColumnElement[bool]]]:
    """The two groups a standing ranks in, as (rank attribute, membership condition)."""
    unit = (col(Standing.group_unit_id).is_(None) if group_unit_id is None
            else col(Standing.group_unit_id) == group_unit_id)
    return [("rank_in_unit", and_(_kind_filter(kind), unit)),
            ("rank_in_post",
             and_(_kind_filter(kind), col(Standing.post_category) == post_category))]


def _rerank_groups(session: Session, period_id: int, kind: str, place: _Place) -> None:
    for attribute, where in _groups(kind, place.group_unit_id, place.post_category):
        _rank_group(session, period_id, kind, where, attribute)


def _move(session: Session, period_id: int, kind: str, row: _Row,
          new_total: Decimal) -> dict[str, int]:
    """Competition ranks after one total moved from row.total to new_total: the others'
    ranks updated, the row's own returned (the caller writes them with its new total).

    A member ranks 1 + (how many others have a higher total). Moving up from a to b adds one
    to the rank of every other member with a <= total < b; moving down subtracts one from
    those with b <= total < a; nobody else's count changes.
    """
    low, high = sorted((row.total, new_total))
    step = 1 if new_total > row.total else -1
    # The row still holds its old total: counted among the higher ones if that is above the
    # new one. (Counted, not filtered out by id: the count then reads the group's index only.)
    itself = 1 if row.total > new_total else 0
    ranks = {}
    for attribute, where in _groups(kind, row.group_unit_id, row.post_category):
        rank = getattr(Standing, attribute)
        in_group = and_(col(Standing.period_id) == period_id, where)
        session.execute(
            update(Standing)
            .where(in_group, col(Standing.id) != row.id,
                   col(Standing.total) >= low, col(Standing.total) < high)
            .values({attribute: rank + step})
            .execution_options(synchronize_session=False)
        )
        higher = session.execute(
            sa_select(func.count()).select_from(Standing)
            .where(in_group, col(Standing.total) > new_total)
        ).scalar_one()
        ranks[attribute] = 1 + higher - itself
    return ranks


def drop(ctx: Ctx, period: Period, cadre_id: int) -> None:
    """A cadre leaves the period's standings (deactivated): their row goes, their groups are
    ranked again without them."""
    assert period.id is not None
    standing = _stored(ctx.session, period.id, AssesseeRef.cadre(cadre_id))
    if standing is None:
        return
    place = _Place(standing.group_unit_id, standing.post_category, standing.total)
    ctx.session.delete(standing)
    ctx.session.flush()
    _rerank_groups(ctx.session, period.id, "cadre", place)


def refresh_all(ctx: Ctx, period: Period) -> int:
    """Recompute every standing of a period (after an import or a policy change).

    A chunk of assessees at a time (models/recompute.py): each chunk's rows are written and let
    go of before the next is read, so memory holds one chunk, not the period."""
    assert period.id is not None
    lock_standings(ctx, [period])
    unit_groups: set[tuple[str, int | None]] = set()
    post_groups: set[tuple[str, str]] = set()
    count = 0
    for chunk in recompute.chunks(ctx.session, period):
        loaded = recompute.ChunkLoader(ctx.session, ctx.rules, period, chunk).load(None)
        stored = {_ref_of(row): row for row in ctx.session.exec(
            select(Standing).where(Standing.period_id == period.id, _in_chunk(chunk))).all()}
        written = [_store(ctx, period.id, facts, stored.get(ref))[0]
                   for ref, facts in loaded.items()]
        ctx.session.flush()
        for standing in written:
            kind = "cadre" if standing.cadre_id is not None else "unit"
            unit_groups.add((kind, standing.group_unit_id))
            post_groups.add((kind, standing.post_category))
        for row in [*written, *stored.values()]:
            if row in ctx.session:
                ctx.session.expunge(row)
        count += len(written)
    _rank_groups(ctx.session, period.id, unit_groups, post_groups)
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
    members: list[_Member] = []
    for part in recompute.over_chunks(session, rules, period, _check_chunk, workers):
        differences += part.differences
        unexpected += part.unexpected
        members += part.members
    return differences + unexpected + _check_ranks(members)


@dataclass(frozen=True, slots=True)
class _Member:
    """What the rank check needs of one assessee: its groups, exact figures, stored ranks."""

    ref: AssesseeRef
    group_unit_id: int | None
    post_category: str
    total: Rational
    base: Rational
    key: Rational
    stored: tuple[int, int] | None  # rank_in_unit, rank_in_post


@dataclass(frozen=True, slots=True)
class _Checked:
    differences: list[Difference]
    unexpected: list[Difference]  # stored standings of no assessee
    members: list[_Member]


def _check_chunk(session: Session, rules: Rules, period: Period,
                 chunk: recompute.Chunk) -> _Checked:
    stored = recompute.stored_rows(session, period, chunk)
    confirmed = lean_check.confirmed(session, rules, period, chunk, stored)
    if confirmed is not None:  # all as stored: nothing to report, only the ranks to check
        return _Checked([], [], [_Member(c.ref, c.group_unit_id, c.post_category, c.total,
                                         c.base, c.key, c.ranks) for c in confirmed])
    differences: list[Difference] = []
    members: list[_Member] = []
    for facts, score in recompute.scored(session, rules, period, chunk):
        ref = facts.ref
        row = stored.pop(ref, None)
        members.append(_Member(ref, facts.group_unit_id, facts.post_category, score.total,
                               score.base, score.key,
                               None if row is None else (row.rank_in_unit, row.rank_in_post)))
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
    return _Checked(differences, unexpected, members)


def _check_ranks(members: list[_Member]) -> list[Difference]:
    groups: dict[tuple[str, str, object], list[_Member]] = {}
    for member in members:
        kind = member.ref.kind
        groups.setdefault(("rank_in_unit", kind, member.group_unit_id), []).append(member)
        groups.setdefault(("rank_in_post", kind, member.post_category), []).append(member)
    differences = []
    for (attribute, _kind, _group), group in sorted(groups.items(), key=lambda item: str(item[0])):
        ranked = rank_members([MemberStanding(id=str(m.ref), total=m.total, base=m.base,
                                              key=m.key) for m in group])
        by_name = {str(m.ref): m for m in group}
        index = 0 if attribute == "rank_in_unit" else 1
        for ranked_member in ranked:
            stored = by_name[ranked_member.id].stored
            if stored is not None and stored[index] != ranked_member.rank:
                differences.append(Difference(ranked_member.id, attribute, str(stored[index]),
                                              str(ranked_member.rank)))
    return differences
