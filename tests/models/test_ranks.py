"""Ranks counted on read (models/ranks.py) equal ranks computed from scratch.

Totals move up and down, land on ties and leave them; after every approval the competition
ranks (in the unit and in the post category) that the approval reports, that one assessee's
page reads and that a whole period's readers read must all match a full re-rank by the
scoring core (scoring.rank_members)."""

from __future__ import annotations

import random
from decimal import Decimal

from sqlmodel import Session, col, select

from models import org
from models.ranks import CADRE, SNAPSHOT_SECONDS, UNIT, PostSnapshots, RankBook, kind_of, ranked
from models.reports import approve_report, submit_report
from models.standings import check, refresh_all
from models.store import Store
from models.tables import OutboxMessage, Period, Standing, Task
from scoring import MemberStanding, Rational, rank_members
from tests.support.world import World, build_world


def _from_scratch(session: Session, period: Period) -> dict[int, tuple[int, int]]:
    """Every standing's (rank in unit, rank in post category), re-ranked whole."""
    rows = session.exec(select(Standing).where(Standing.period_id == period.id)).all()
    groups: dict[tuple[str, str, object], list[Standing]] = {}
    for row in rows:
        groups.setdefault(("unit", kind_of(row), row.group_unit_id), []).append(row)
        groups.setdefault(("post", kind_of(row), row.post_category), []).append(row)
    found: dict[int, list[int]] = {row.id or 0: [0, 0] for row in rows}
    for (which, _kind, _group), members in groups.items():
        for member in rank_members([MemberStanding(
                id=str(m.id), total=Rational(m.total), base=Rational(m.base),
                key=Rational(m.key_points)) for m in members]):
            found[int(member.id)][0 if which == "unit" else 1] = member.rank
    return {key: (unit, post) for key, (unit, post) in found.items()}


def _as_read(session: Session, period: Period) -> tuple[dict[int, tuple[int, int]], ...]:
    """The same ranks as one assessee's page reads them and as a whole period's readers do."""
    rows = session.exec(select(Standing).where(Standing.period_id == period.id)).all()
    books = {kind: RankBook(session, period.id or 0, kind) for kind in (CADRE, UNIT)}
    named = {kind: RankBook(  # the groups named, as a batch of digests asks
        session, period.id or 0, kind,
        units={r.group_unit_id for r in rows if kind_of(r) == kind},
        posts={r.post_category for r in rows if kind_of(r) == kind}) for kind in (CADRE, UNIT)}
    one = {}
    many = {}
    for row in rows:
        own = ranked(session, row)
        one[row.id or 0] = (own.rank_in_unit, own.rank_in_post)
        in_book = books[kind_of(row)].ranks(row.group_unit_id, row.post_category, row.total)
        assert in_book == named[kind_of(row)].ranks(row.group_unit_id, row.post_category,
                                                    row.total)
        many[row.id or 0] = (in_book.in_unit, in_book.in_post)
    return one, many


def _office(store: Store) -> tuple[World, list[tuple[int, int]]]:
    """A unit of twelve cadres with a task each: (cadre id, task id) pairs."""
    world = build_world(store)
    with store.transaction() as ctx:
        unit = org.add_unit(ctx, None, code="rk", name="排名办", kind="office",
                            post_category="general", parent=world.township)
        people = [org.add_cadre(ctx, None, code=f"R{n:02d}", name=f"干部{n}", unit=unit)
                  for n in range(12)]
        for n, cadre in enumerate(people):  # bound: the approval's notice to them is queued
            cadre.telegram_user_id = 9100 + n
        ctx.session.flush()
        tasks = [org.add_task(ctx, None, period=world.year, code=f"RK{n:02d}", title="台账",
                              dimension="basic", category="general", weight=Decimal(10),
                              cadre=cadre, source="city_report")
                 for n, cadre in enumerate(people)]
        ctx.session.flush()
        refresh_all(ctx, world.year)
        pairs = [(cadre.id or 0, task.id or 0) for cadre, task in zip(people, tasks, strict=True)]
    return world, pairs


def _approve(store: Store, world: World, rng: random.Random, cadre_id: int,
             task_id: int) -> int:
    """A report of the task approved; its id."""
    # Few distinct values, so totals often tie; later reports may be lower (moves down).
    progress = Decimal(rng.choice([20, 40, 40, 60, 80, 100]))
    with store.transaction() as ctx:
        report = submit_report(ctx, cadre_id, task_id, progress=progress)
        approve_report(ctx, world.id.boss or 0, report.id or 0, rng.choice("ABC"))
        return report.id or 0


def test_ranks_after_many_moves_equal_a_full_rerank(store: Store) -> None:
    world, pairs = _office(store)
    rng = random.Random(11)
    for _ in range(60):
        cadre_id, task_id = rng.choice(pairs)
        report_id = _approve(store, world, rng, cadre_id, task_id)
        with store.session() as session:
            assert check(session, store.rules, world.year) == []
            scratch = _from_scratch(session, world.year)
            assert _as_read(session, world.year) == (scratch, scratch)
            # What the approval told the reporter (their notice): the ranks it committed.
            notice = session.exec(select(OutboxMessage).where(
                OutboxMessage.dedupe_key == f"report_decided:{report_id}")).one()
            mine = session.exec(select(Standing).where(Standing.cadre_id == cadre_id)).one()
            assert (notice.payload["rank_in_unit"], notice.payload["rank_in_post"]) == \
                scratch[mine.id or 0]
    with store.session() as session:
        ranks = sorted(_from_scratch(session, world.year)[row.id or 0][0]
                       for row in session.exec(select(Standing).join(
                           Task, col(Task.cadre_id) == Standing.cadre_id).where(
                           col(Task.code).startswith("RK"))).all())
    assert ranks[0] == 1 and len(set(ranks)) < len(ranks)  # the run did produce ties


def test_a_snapshot_rank_is_the_rank_its_total_had_then(store: Store) -> None:
    """A digest batch's post ranks (PostSnapshots): each is the rank the cadre's total, as the
    batch read it, had when the snapshot was taken; a cadre whose total moved since makes it
    read again (every rank then of now); after SNAPSHOT_SECONDS everything is of now."""
    world, pairs = _office(store)
    asked, moving = [cadre_id for cadre_id, _ in pairs[:6]], pairs[6:]
    rng = random.Random(5)
    now = [0.0]

    def given(cadre_ids: list[int]) -> dict[int, int]:
        with store.session() as session:
            rows = session.exec(select(Standing).where(
                col(Standing.cadre_id).in_(cadre_ids))).all()
            return PostSnapshots(session, world.year.id or 0, clock=lambda: now[0]).ranks(
                (row.cadre_id or 0, row.post_category, row.total) for row in rows)

    def current(cadre_ids: list[int]) -> dict[int, int]:
        with store.session() as session:
            ids = {row.id: row.cadre_id for row in session.exec(select(Standing)).all()}
            return {ids[key] or 0: post for key, (_, post) in
                    _from_scratch(session, world.year).items() if ids[key] in cadre_ids}

    then = current(asked)
    assert given(asked) == then
    moved = False
    for _ in range(15):  # others move: the asked keep their totals and their snapshot
        _approve(store, world, rng, *rng.choice(moving))
        now[0] += 1
        assert given(asked) == then
        moved = moved or current(asked) != then
    assert moved  # the snapshot did answer for a moment that had passed
    everyone = [cadre_id for cadre_id, _ in pairs]
    assert given(everyone) == current(everyone)  # the moved ones' totals: read again
    _approve(store, world, rng, *moving[0])
    now[0] += SNAPSHOT_SECONDS
    assert given(asked) == current(asked)
