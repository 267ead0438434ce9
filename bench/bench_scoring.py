"""Benchmarks of the scoring path: the pure core, one approval, and a full recompute.

    .venv/bin/python bench/bench_scoring.py [--database URL] [--repeat N]

Builds the demo organisation in a temporary SQLite file (or the given empty database), then
reports medians of N runs of: scoring one assessee in the core; approving one report (the
transaction that recomputes the cadre and re-ranks the unit and post category); recomputing
every standing of the period; and `kaohe check` over the period. Figures depend on the machine:
compare runs made side by side.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from sqlmodel import col, select

from bot.config import load_settings
from bot.demo_data import build_demo
from models.migrate import upgrade
from models.reports import approve_report, submit_report
from models.standings import check, refresh_all
from models.store import Store, make_engine
from models.tables import Period, Task
from scoring import AssesseeInput, TaskInput, score_assessee


def median_ms(action: Callable[[], object], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="an empty database URL (default: a temporary SQLite)")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    url = args.database or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    store = Store(engine, load_settings().rules())
    start = time.perf_counter()
    summary = build_demo(store)
    print(f"demo: {summary.cadres} cadres, {summary.tasks} tasks, {summary.reports} reports "
          f"built in {time.perf_counter() - start:.1f} s on {engine.dialect.name}")

    six_tasks = AssesseeInput(tasks=tuple(
        TaskInput(f"t{i}", ("business", "general")[i % 2], ("basic", "key")[i % 3 == 0],
                  Fraction(10 + i), Fraction(11, 10), Fraction(85), "B",
                  Fraction(3, 20) if i == 3 else None)
        for i in range(6)
    ))
    core = median_ms(lambda: score_assessee(six_tasks), 200)
    print(f"core, one assessee of 6 tasks: {core:.3f} ms")

    with store.session() as session:
        period = session.exec(select(Period).where(col(Period.is_active))).one()
        task = session.exec(
            select(Task).where(Task.cadre_id == summary.cadre_id).order_by(col(Task.id))
        ).first()
    assert task is not None and task.id is not None
    actual, progress = (Decimal(1), None) if task.target is not None else (None, Decimal(50))

    def one_approval() -> None:
        with store.transaction() as ctx:
            report = submit_report(ctx, summary.cadre_id, task.id or 0, actual=actual,
                                   progress=progress)
            approve_report(ctx, summary.admin_id, report.id or 0, "B")

    print(f"submit + approve one report (recompute + re-rank): "
          f"{median_ms(one_approval, args.repeat):.1f} ms")

    def recompute_all() -> None:
        with store.transaction() as ctx:
            refresh_all(ctx, period)

    print(f"recompute every standing of the period: {median_ms(recompute_all, 5):.0f} ms")

    def check_all() -> None:
        with store.session() as session:
            assert check(session, store.rules, period) == []

    print(f"kaohe check over the period: {median_ms(check_all, 5):.0f} ms")


if __name__ == "__main__":
    main()
