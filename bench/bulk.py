"""A large organisation for benchmarks, inserted in bulk (the operations are for real use).

`build(store, cadres, tasks_per_cadre)` adds a city with townships of 40 cadres each (the first
of each supervises it), every cadre bound to Telegram with a duty list — mostly one-off tasks,
some quarterly and some monthly — and a year of reports up to the benchmark's "today"
(2026-11-20): most occurrences approved with a grade, a few waiting, a few returned. Then it
recomputes every standing through the scoring core (so `kaohe check` holds), writes a week-old
history snapshot (so digests show changes) and refreshes the planner's statistics.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import SQLModel, col

from models.migrate import refresh_statistics
from models.occurrences import occurrences
from models.ranks import CADRE, UNIT, RankBook, kind_of
from models.standings import refresh_all
from models.store import Store
from models.tables import Cadre, Period, Report, Standing, StandingHistory, Supervision, Task, Unit

UNIT_SIZE = 40
TELEGRAM_BASE = 500_000_000
TODAY = date(2026, 11, 20)
CHUNK = 20_000


def _recurrence(k: int, tasks_per_cadre: int) -> str:
    """Of 40 tasks: 2 monthly, 6 quarterly, the rest once (small lists: all once)."""
    if tasks_per_cadre < 10:
        return "once"
    return "monthly" if k < 2 else "quarterly" if k < 8 else "once"


def _insert(store: Store, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    """Bulk INSERT through the ORM's executemany path (types, e.g. Scaled decimals, apply)."""
    with store.session() as session:
        for first in range(0, len(rows), CHUNK):
            session.execute(insert(model), rows[first:first + CHUNK])
        session.commit()


def _organisation(store: Store, cadres: int, year: int,
                  rng: random.Random) -> tuple[int, list[tuple[int, str]]]:
    with store.session() as session:
        period = Period(code=str(year), name=f"{year}年度", kind="year",
                        starts_on=date(year, 1, 1), ends_on=date(year, 12, 31), is_active=True)
        city = Unit(code="bench-city", name="基准市", kind="city", post_category="general",
                    path="")
        session.add_all([period, city])
        session.flush()
        city.path = f"/{city.id}/"
        units = [Unit(code=f"bench-u{n}", name=f"第{n}镇", kind="township",
                      post_category="core" if n % 3 == 0 else "general",
                      parent_id=city.id, path="")
                 for n in range(max(1, -(-cadres // UNIT_SIZE)))]
        session.add_all(units)
        session.flush()
        for unit in units:
            unit.path = f"{city.path}{unit.id}/"
        session.commit()
        period_id = period.id or 0
        unit_list = [(u.id or 0, u.post_category) for u in units]
    _insert(store, Cadre, [
        {"code": f"B{n:06d}", "name": f"干部{n:05d}", "unit_id": unit_list[n // UNIT_SIZE][0],
         "post_category": unit_list[n // UNIT_SIZE][1],
         "profile": rng.choice(["standard"] * 8 + ["growth", "veteran"]),
         "telegram_user_id": TELEGRAM_BASE + n, "is_admin": n == 0, "active": True}
        for n in range(cadres)])
    return period_id, unit_list


def _reports_for(task_id: int, cadre_id: int, recurrence: str, deadline: date, year: int,
                 reviewer: int, reported: float, rng: random.Random) -> Iterator[dict[str, Any]]:
    for occurrence in occurrences(recurrence, deadline, date(year, 1, 1), date(year, 12, 31)):
        due = occurrence.due or deadline
        if due > TODAY or rng.random() >= reported:
            continue
        moment = datetime.combine(min(due, TODAY), datetime.min.time(), tzinfo=UTC)
        state = rng.choices(("approved", "submitted", "returned"), (0.92, 0.05, 0.03))[0]
        decided = state != "submitted"
        yield {"task_id": task_id, "occurrence": occurrence.key, "reporter_id": cadre_id,
               "progress": Decimal(rng.randint(40, 100)), "note": "", "evidence": [],
               "state": state, "reviewer_id": reviewer if decided else None,
               "grade": rng.choice("AABBC") if state == "approved" else None,
               "reason": "请补充材料" if state == "returned" else None,
               "created_at": moment, "submitted_at": moment,
               "decided_at": moment + timedelta(days=1) if decided else None}


def build(store: Store, cadres: int, tasks_per_cadre: int = 5, *, year: int = 2026,
          seed: int = 7, reported: float = 0.8) -> Period:
    """`reported`: the share of due occurrences that were reported."""
    rng = random.Random(seed)
    period_id, unit_list = _organisation(store, cadres, year, rng)
    with store.session() as session:
        ids = list(session.execute(select(col(Cadre.id)).order_by(col(Cadre.id))).scalars())
    _insert(store, Supervision, [{"cadre_id": ids[i], "unit_id": unit_list[i // UNIT_SIZE][0]}
                                 for i in range(0, cadres, UNIT_SIZE)])
    tasks: list[dict[str, Any]] = []
    for n, cadre_id in enumerate(ids):
        for k in range(tasks_per_cadre):
            tasks.append({
                "code": f"B{n:06d}-{k:02d}", "period_id": period_id, "cadre_id": cadre_id,
                "title": f"履职事项{k:02d}", "dimension": "key" if k % 4 == 0 else "basic",
                "category": "business" if k % 2 == 0 else "general",
                "weight": Decimal(rng.choice([5, 8, 10, 12])), "source": "city_report",
                "difficulty": Decimal(rng.choice(["0.9", "1.0", "1.1", "1.2"])),
                "recurrence": _recurrence(k, tasks_per_cadre),
                "deadline": date(year, rng.randint(1, 12), rng.randint(1, 28)),
            })
    _insert(store, Task, tasks)
    with store.session() as session:
        task_rows = session.execute(
            select(col(Task.id), col(Task.cadre_id), col(Task.recurrence),
                   col(Task.deadline)).order_by(col(Task.id))
        ).all()
    reviewers = {cadre_id: ids[(n // UNIT_SIZE) * UNIT_SIZE] for n, cadre_id in enumerate(ids)}
    reports = [row for task_id, cadre_id, recurrence, deadline in task_rows
               for row in _reports_for(task_id, cadre_id, recurrence, deadline, year,
                                       reviewers[cadre_id], reported, rng)]
    _insert(store, Report, reports)
    # Statistics first: PostgreSQL planned the standings' first reads over a million fresh,
    # unanalysed reports as if the tables were empty, and one chunk ran for half an hour.
    refresh_statistics(store.engine)
    with store.transaction() as ctx:
        period_row = ctx.session.get(Period, period_id)
        assert period_row is not None
        refresh_all(ctx, period_row)
    _week_old_history(store, period_id, rng)
    refresh_statistics(store.engine)  # as the bot's nightly job does
    with store.session() as session:
        found = session.get(Period, period_id)
        assert found is not None
        return found


def _week_old_history(store: Store, period_id: int, rng: random.Random) -> None:
    """Yesterday's and a week-old snapshot, the week-old totals a little lower."""
    with store.session() as session:
        standings = session.execute(select(
            col(Standing.cadre_id), col(Standing.unit_id), col(Standing.group_unit_id),
            col(Standing.post_category), col(Standing.total)
        ).where(col(Standing.period_id) == period_id)).all()
        books = {kind: RankBook(session, period_id, kind) for kind in (CADRE, UNIT)}
        rows = []
        for s in standings:
            ranks = books[kind_of(s)].ranks(s.group_unit_id, s.post_category, s.total)
            rows.append((s.cadre_id, s.unit_id, s.total, ranks.in_unit, ranks.in_post))
    history = []
    for days, slip in ((8, True), (1, False)):
        for cadre_id, unit_id, total, rank_unit, rank_post in rows:
            before = max(Decimal(0), total - Decimal(rng.randint(0, 300)) / 100) if slip else total
            history.append({"period_id": period_id, "cadre_id": cadre_id, "unit_id": unit_id,
                            "taken_on": TODAY - timedelta(days=days), "total": before,
                            "rank_in_unit": rank_unit, "rank_in_post": rank_post})
    _insert(store, StandingHistory, history)
