"""A large organisation for benchmarks, inserted in bulk (the operations are for real use).

`build(store, cadres, tasks_per_cadre)` adds a city with townships of 40 cadres each, every
cadre with a duty list and a year of approved reports, all bound to Telegram ids, then
recomputes every standing through the scoring core (so `kaohe check` holds).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlmodel import SQLModel

from models.migrate import refresh_statistics
from models.standings import refresh_all
from models.store import Store
from models.tables import Cadre, Period, Report, Supervision, Task, Unit

UNIT_SIZE = 40
TELEGRAM_BASE = 500_000_000


def _insert(store: Store, rows: list[SQLModel]) -> None:
    with store.session() as session:
        session.add_all(rows)
        session.commit()


def build(store: Store, cadres: int, tasks_per_cadre: int = 5, *, year: int = 2026,
          seed: int = 7, reported: float = 0.8) -> Period:
    """`reported`: the share of tasks with an approved report."""
    rng = random.Random(seed)
    now = datetime(year, 11, 20, 2, 0, tzinfo=UTC)
    with store.session() as session:
        period = Period(code=str(year), name=f"{year}年度", kind="year",
                        starts_on=date(year, 1, 1), ends_on=date(year, 12, 31), is_active=True)
        city = Unit(code="bench-city", name="基准市", kind="city", post_category="general",
                    path="")
        session.add_all([period, city])
        session.flush()
        city.path = f"/{city.id}/"
        units = []
        for n in range(max(1, -(-cadres // UNIT_SIZE))):
            unit = Unit(code=f"bench-u{n}", name=f"第{n}镇", kind="township",
                        post_category="core" if n % 3 == 0 else "general",
                        parent_id=city.id, path="")
            session.add(unit)
            units.append(unit)
        session.flush()
        for unit in units:
            unit.path = f"{city.path}{unit.id}/"
        session.commit()
        period_id, unit_list = period.id, [(u.id, u.post_category) for u in units]
        session.refresh(period)
    people: list[SQLModel] = []
    for n in range(cadres):
        unit_id, category = unit_list[n // UNIT_SIZE]
        people.append(Cadre(code=f"B{n:06d}", name=f"干部{n:05d}", unit_id=unit_id or 0,
                            post_category=category,
                            profile=rng.choice(["standard"] * 8 + ["growth", "veteran"]),
                            telegram_user_id=TELEGRAM_BASE + n, is_admin=n == 0))
    _insert(store, people)
    with store.session() as session:
        ids = [c.id for c in session.query(Cadre).order_by(Cadre.id).all()]  # type: ignore[attr-defined]
        # The first cadre of each unit supervises it.
        session.add_all([Supervision(cadre_id=ids[i], unit_id=unit_list[i // UNIT_SIZE][0] or 0)
                         for i in range(0, cadres, UNIT_SIZE)])
        session.commit()
    tasks: list[SQLModel] = []
    for n, cadre_id in enumerate(ids):
        for k in range(tasks_per_cadre):
            key = k % 4 == 0
            tasks.append(Task(
                code=f"B{n:06d}-{k:02d}", period_id=period_id or 0, cadre_id=cadre_id,
                title=f"履职事项{k:02d}", dimension="key" if key else "basic",
                category="business" if k % 2 == 0 else "general",
                weight=Decimal(rng.choice([5, 8, 10, 12])), source="city_report",
                difficulty=Decimal(rng.choice(["0.9", "1.0", "1.1", "1.2"])),
                deadline=date(year, rng.randint(1, 12), rng.randint(1, 28)),
            ))
        if len(tasks) >= 20_000:
            _insert(store, tasks)
            tasks = []
    _insert(store, tasks)
    with store.session() as session:
        task_rows = session.query(Task.id, Task.cadre_id).all()  # type: ignore[attr-defined]
    reports: list[SQLModel] = []
    for task_id, cadre_id in task_rows:
        if rng.random() < reported:
            reports.append(Report(
                task_id=task_id, occurrence="", reporter_id=cadre_id, state="approved",
                progress=Decimal(rng.randint(40, 100)), grade=rng.choice("AABBC"),
                reviewer_id=ids[0], note="", evidence=[], created_at=now,
                submitted_at=now, decided_at=now - timedelta(days=rng.randint(0, 20)),
            ))
        if len(reports) >= 20_000:
            _insert(store, reports)
            reports = []
    _insert(store, reports)
    with store.transaction() as ctx:
        period_row = ctx.session.get(Period, period_id)
        assert period_row is not None
        refresh_all(ctx, period_row)
    refresh_statistics(store.engine)  # as the bot's nightly job does
    with store.session() as session:
        found = session.get(Period, period_id)
        assert found is not None
        return found
