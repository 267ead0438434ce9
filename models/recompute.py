"""The full recompute of a period at prefecture scale, streamed: `check` and `refresh_all`.

Facts are read a chunk of cadres at a time (a range of cadre ids, as plain rows through a few
queries on the period's indexes), scored and compared or stored, then let go: memory holds one
chunk and, for the ranks, a few numbers per assessee. The assessed units come last, as one
chunk. The chunks go through FactsLoader's own assembly, so a recompute sees exactly the facts
an approval sees.

`check` may spread its chunks over worker processes (forked, each with its own engine). They
all read the moment the caller's transaction sees: on SQLite the caller's transaction holds the
database's write lock (BEGIN IMMEDIATE), so nothing commits until it ends; on PostgreSQL the
caller's snapshot is exported and every worker imports it (SET TRANSACTION SNAPSHOT).
"""

from __future__ import annotations

import json
import multiprocessing
import re
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlmodel import Session

from models.facts import AssesseeFacts, AssesseeRef, FactsLoader, TaskFacts, _Approved
from models.rules import Rules
from models.store import make_engine
from models.tables import Period
from models.vocab import APPROVED
from scoring import AssesseeScore, CollaborationInput, InnovationInput, Rational, score_assessee

CHUNK = 1000  # cadre ids per chunk: a few MB of facts

# A chunk: a range [low, high) of cadre ids, or None for the assessed units.
Chunk = tuple[int, int] | None

_TASK = ("t.id, t.category, t.dimension, t.weight, t.difficulty, t.boost, t.recurrence, "
         "t.deadline, t.target, t.cadre_id, t.unit_id, t.parent_id")
_OF_CADRES = "t.period_id = :period AND t.cadre_id >= :low AND t.cadre_id < :high"
_OF_UNITS = "t.period_id = :period AND t.cadre_id IS NULL AND t.unit_id IS NOT NULL"


@lru_cache(maxsize=8192)
def _scaled(value: int, places: int) -> Decimal:
    """A stored scaled integer as the Decimal the column type would give (models/types.py)."""
    return Decimal(value).scaleb(-places)


def scaled2(value: int) -> Decimal:
    """A stored 2-decimal figure (a standing's total) as its Decimal."""
    return _scaled(value, 2)


@lru_cache(maxsize=4096)
def _date(value: Any) -> date | None:
    """SQLite hands dates back as text, PostgreSQL as dates; deadlines repeat."""
    return date.fromisoformat(value) if isinstance(value, str) else value


class ChunkLoader(FactsLoader):
    """FactsLoader's full load (`load(None)`), limited to one chunk and read as raw rows."""

    def __init__(self, session: Session, rules: Rules, period: Period, chunk: Chunk) -> None:
        super().__init__(session, rules, period)
        self.chunk = chunk
        low, high = chunk if chunk is not None else (0, 0)
        self.params = {"period": period.id, "low": low, "high": high}
        own = _OF_CADRES if chunk is not None else _OF_UNITS
        # The chunk's tasks and the parts they were decomposed into (their progress).
        self.task_ids = (f"SELECT t.id FROM task t WHERE {own} UNION SELECT t.id FROM task t "
                         f"WHERE t.parent_id IN (SELECT t.id FROM task t WHERE {own})")

    def _rows(self, sql: str) -> list[Any]:
        return list(self.session.connection().execute(text(sql), self.params).all())

    def _tasks(self, cadre_ids: set[int] | None, unit_ids: set[int] | None) -> list[TaskFacts]:
        rows = self._rows(f"SELECT {_TASK} FROM task t WHERE t.id IN ({self.task_ids}) "
                          "ORDER BY t.id")
        scaled, day = _scaled, _date  # 800,000 rows: no Python-level helper per value
        return [TaskFacts(
            id, category, dimension, scaled(weight, 2), scaled(difficulty, 3),
            None if boost is None else scaled(boost, 3), recurrence,
            None if deadline is None else day(deadline),
            None if target is None else scaled(target, 4), cadre_id, unit_id, parent_id,
        ) for (id, category, dimension, weight, difficulty, boost, recurrence, deadline, target,
               cadre_id, unit_id, parent_id) in rows]

    def _approved_in_period(self) -> dict[tuple[int, str], _Approved]:
        rows = self._rows(
            "SELECT r.task_id, r.occurrence, r.progress, r.actual, r.grade FROM report r "
            f"WHERE r.state = '{APPROVED}' AND r.task_id IN ({self.task_ids}) "
            "ORDER BY r.decided_at, r.id")
        scaled = _scaled
        return {(task_id, occurrence): _Approved(
                    None if progress is None else scaled(progress, 2),
                    None if actual is None else scaled(actual, 4), grade)
                for task_id, occurrence, progress, actual, grade in rows}

    def _cadres(self, cadre_ids: set[int] | None) -> list[tuple[int, str, int, str]]:
        if self.chunk is None:
            return []
        # A deactivated cadre has no standing (models/privileges.py deactivate_cadre).
        return [(row[0], row[1], row[2], row[3]) for row in self._rows(
            "SELECT id, post_category, unit_id, profile FROM cadre "
            "WHERE active AND id >= :low AND id < :high ORDER BY id")]

    def _units(self, unit_ids: set[int] | None,
               tasks: list[TaskFacts]) -> list[tuple[int, str, int | None]]:
        return [] if self.chunk is not None else super()._units(None, tasks)

    def _innovations(self, cadre_ids: set[int] | None,
                     unit_ids: set[int] | None) -> dict[AssesseeRef, list[InnovationInput]]:
        owner = ("cadre_id >= :low AND cadre_id < :high" if self.chunk is not None
                 else "unit_id IS NOT NULL")
        result: dict[AssesseeRef, list[InnovationInput]] = {}
        for claim_id, cadre_id, unit_id, points in self._rows(
                "SELECT id, cadre_id, unit_id, points FROM innovation_claim "
                f"WHERE period_id = :period AND state = '{APPROVED}' AND {owner} ORDER BY id"):
            ref = (AssesseeRef.cadre(cadre_id) if cadre_id is not None
                   else AssesseeRef.unit(unit_id))
            result.setdefault(ref, []).append(
                InnovationInput(id=str(claim_id), points=Rational(_scaled(points, 3))))
        return result

    def _collaborations(self, unit_ids: set[int] | None
                        ) -> dict[AssesseeRef, list[CollaborationInput]]:
        return {} if self.chunk is not None else super()._collaborations(None)


def chunks(session: Session, period: Period) -> list[Chunk]:
    """Every cadre id in ranges of CHUNK, then the units: together, every assessee and every
    stored standing of the period."""
    session.flush()  # the chunks are read as raw rows: what this transaction added first
    low, high = session.connection().execute(text("SELECT min(id), max(id) FROM cadre")).one()
    found: list[Chunk] = []
    if low is not None:
        found += [(first, first + CHUNK) for first in range(low, high + 1, CHUNK)]
    return [*found, None]


def scored(session: Session, rules: Rules, period: Period,
           chunk: Chunk) -> Iterator[tuple[AssesseeFacts, AssesseeScore]]:
    """The chunk's assessees in order, with their scores from the scoring core."""
    loaded = ChunkLoader(session, rules, period, chunk).load(None)
    for ref in sorted(loaded):
        facts = loaded[ref]
        yield facts, score_assessee(facts.input)


# -- stored rows -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredRow:
    """A stored standing as raw values: 2-decimal figures as the scaled integers stored."""

    id: int
    ref: AssesseeRef
    group_unit_id: int | None
    post_category: str
    figures: dict[str, int]
    stored_breakdown: str | dict[str, Any] | None  # as the driver gives it: JSON text or decoded

    @property
    def breakdown(self) -> dict[str, Any] | None:
        """Decoded when asked: check's fast path compares most of them as text."""
        stored = self.stored_breakdown
        return json.loads(stored) if isinstance(stored, str) else stored


FIGURES = ("base", "key_points", "innovation", "collaboration", "total", "difficulty")


def stored_rows(session: Session, period: Period, chunk: Chunk) -> dict[AssesseeRef, StoredRow]:
    owner = ("s.cadre_id >= :low AND s.cadre_id < :high" if chunk is not None
             else "s.unit_id IS NOT NULL")
    low, high = chunk if chunk is not None else (0, 0)
    rows = session.connection().execute(text(
        "SELECT s.id, s.cadre_id, s.unit_id, s.group_unit_id, s.post_category, "
        f"{', '.join('s.' + name for name in FIGURES)}, "
        # As text on both databases (PostgreSQL's json keeps the text written): decoded only
        # when check's fast path cannot compare it as text (StoredRow.breakdown).
        "CAST(b.breakdown AS TEXT) "
        "FROM standing s LEFT JOIN standing_breakdown b ON b.standing_id = s.id "
        f"WHERE s.period_id = :period AND {owner}"),
        {"period": period.id, "low": low, "high": high}).all()
    found = {}
    for row in rows:
        ref = (AssesseeRef.cadre(row[1]) if row[1] is not None else AssesseeRef.unit(row[2]))
        breakdown = row[11]
        found[ref] = StoredRow(
            id=row[0], ref=ref, group_unit_id=row[3], post_category=row[4],
            figures=dict(zip(FIGURES, (int(v) for v in row[5:11]), strict=True)),
            stored_breakdown=breakdown)
    return found


# -- workers -----------------------------------------------------------------------------------


@dataclass
class _Worker:
    """What a forked worker inherits: where to read, as of which moment, and what to run."""

    url: str
    snapshot: str | None  # PostgreSQL: the caller's exported snapshot
    rules: Rules
    period: Period
    session: Session | None = None


_worker: _Worker | None = None


def _reader(url: str, snapshot: str | None) -> Connection:
    """A connection reading what the caller's transaction sees (module doc)."""
    if make_url(url).get_backend_name() == "sqlite":
        # Plain reads, no BEGIN IMMEDIATE: the caller holds the write lock meanwhile.
        return create_engine(url).connect()
    connection = make_engine(url).connect().execution_options(
        isolation_level="REPEATABLE READ", postgresql_readonly=True)
    if snapshot is not None:  # a utility statement takes no parameters: checked, then inlined
        if not re.fullmatch(r"[0-9A-F-]+", snapshot):
            raise ValueError(f"not a snapshot id: {snapshot!r}")
        connection.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
    # The workers already keep the cores busy: parallel query workers of the server's own
    # would only compete with them (and start processes for each chunk's query).
    connection.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    return connection


def _start_worker(worker: _Worker) -> None:
    global _worker
    worker.session = Session(bind=_reader(worker.url, worker.snapshot))
    _worker = worker


def _in_worker(job: Any, chunk: Chunk) -> Any:
    assert _worker is not None and _worker.session is not None
    return job(_worker.session, _worker.rules, _worker.period, chunk)


def can_fork(session: Session) -> bool:
    url = session.get_bind().engine.url
    return ("fork" in multiprocessing.get_all_start_methods()
            and (url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:")))


def over_chunks(session: Session, rules: Rules, period: Period, job: Any,
                workers: int) -> Iterator[Any]:
    """`job(session, rules, period, chunk)` for every chunk in order, on `workers` processes
    reading the moment `session` sees (or in this process, with one worker)."""
    every = chunks(session, period)  # the first read: this transaction has begun
    if workers <= 1 or len(every) <= 2 or not can_fork(session):
        for chunk in every:
            yield job(session, rules, period, chunk)
        return
    engine = session.get_bind().engine
    snapshot = None
    if engine.dialect.name == "postgresql":
        snapshot = session.connection().execute(text("SELECT pg_export_snapshot()")).scalar_one()
    # A copy the session does not know: a worker must never load through the parent's
    # connection, which it inherits but does not own.
    detached = Period(**period.model_dump())
    worker = _Worker(engine.url.render_as_string(hide_password=False), snapshot, rules, detached)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                             initializer=_start_worker, initargs=(worker,)) as pool:
        yield from pool.map(_in_worker, [job] * len(every), every)
