"""`python -m bench`: build the data sets, run every benchmark, write docs/PERFORMANCE.md.

    .venv/bin/python -m bench [--sizes 2000,20000] [--databases sqlite,postgresql]

Data sets (N cadres x 40 tasks, a year of reports; bench/bulk.py) are built once and kept:
SQLite files in var/bench/, PostgreSQL databases kaohe_bench_<N> on KAOHE_BENCH_POSTGRES_URL
(default postgresql+psycopg://postgres@127.0.0.1:5432/). Each run works on a copy (SQLite) or
leaves the data consistent (PostgreSQL: approvals are real, audited operations), so a later run
measures the same shape. Figures are medians with spreads; the machine is described in the
output, and two runs side by side are what compare.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlmodel import col, select

from bench import bench_tap
from bench.bulk import build
from bench.throughput import Comparison, measure
from bot.config import load_settings
from bot.sender import BATCH as SENDER_BATCH
from bot.worker import BATCH as WORKER_BATCH
from models.migrate import refresh_statistics, upgrade
from models.reports import approve_report, submit_report
from models.standings import check
from models.store import Store, make_engine
from models.tables import BotState, Cadre, Period, Report, Supervision, Task
from scoring import AssesseeInput, Rational, TaskInput, score_assessee
from ui import digests
from ui.render import Renderer

ROOT = Path(__file__).resolve().parent.parent
DONE = ("bench", "complete")
VACUUMED = ("bench", "vacuumed")


@dataclass
class Figures:
    """What one (database, size) run measured, in milliseconds or seconds as named."""

    approval_ms: list[float] = field(default_factory=list)
    check_s: list[float] = field(default_factory=list)
    digests_s: float = 0.0
    digests: int = 0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# -- data sets ---------------------------------------------------------------------------------


def _marked(store: Store, mark: tuple[str, str]) -> bool:
    with store.session() as session:
        return session.get(BotState, mark) is not None


def _mark(store: Store, mark: tuple[str, str]) -> None:
    with store.session() as session:
        session.add(BotState(kind=mark[0], key=mark[1], data="1", updated_at=store.clock()))
        session.commit()


def sqlite_dataset(size: int, folder: Path) -> Path:
    path = folder / f"sqlite-{size}.db"
    store = _store(f"sqlite:///{path}")
    if not _marked(store, DONE):
        store.engine.dispose()
        path.unlink(missing_ok=True)
        store = _store(f"sqlite:///{path}")
        _build(store, size)
    store.engine.dispose()
    return path


def postgres_dataset(size: int, server: str) -> str:
    name = f"kaohe_bench_{size}"
    admin = create_engine(f"{server.rstrip('/')}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                    {"n": name}).first()
        if exists is None:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{server.rstrip('/')}/{name}"
    store = _store(url)
    if not _marked(store, DONE):
        with admin.connect() as connection:
            store.engine.dispose()
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        store = _store(url)
        _build(store, size)
    if not _marked(store, VACUUMED):
        _vacuum(store)
    store.engine.dispose()
    admin.dispose()
    return url


def _vacuum(store: Store) -> None:
    """VACUUM (ANALYZE) once after building: a PostgreSQL in production runs autovacuum, which
    sets the visibility map that index-only scans rely on; a server with it off (as this
    machine's) would otherwise measure a database nobody runs."""
    print("  vacuuming ...", flush=True)
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM (ANALYZE)")
    _mark(store, VACUUMED)


def copy_database(source: Path, target: Path) -> None:
    """A fresh SQLite copy; a write-ahead log left beside the target by an earlier run would
    otherwise be replayed onto the copy and corrupt it. The copy is on disk before anything is
    measured: the kernel writing half a gigabyte back meanwhile would stall the commits of
    what is measured next, on either database."""
    for leftover in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(source, target)
    with target.open("rb+") as copied:
        os.fsync(copied.fileno())


def _store(url: str) -> Store:
    engine = make_engine(url)
    upgrade(engine)
    refresh_statistics(engine)  # a migration may have added indexes since the data was built
    return Store(engine, load_settings().rules())


def _build(store: Store, size: int) -> None:
    started = time.perf_counter()
    print(f"  building {size} cadres x 40 tasks on {store.engine.dialect.name} ...", flush=True)
    build(store, size, tasks_per_cadre=40)
    _mark(store, DONE)
    print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)


# -- benchmarks ----------------------------------------------------------------------------------


def approvals(store: Store, count: int, rng: random.Random) -> list[float]:
    """Latency of approve_report (scoring and both ranks included), one transaction each.

    Each approval is of a fresh submission on a one-off task nobody had reported, by cadres
    spread over the whole organisation; the submission itself is not timed."""
    with store.session() as session:
        bosses = dict(session.exec(select(Supervision.unit_id, Supervision.cadre_id)).all())
        reported = select(Report.id).where(Report.task_id == Task.id).exists()
        candidates = session.exec(
            select(Task.id, Task.cadre_id, Cadre.unit_id)
            .join(Cadre, col(Cadre.id) == Task.cadre_id)
            .where(Task.recurrence == "once", ~reported,
                   col(Task.cadre_id).not_in(list(bosses.values())))
        ).all()
    picks = rng.sample(list(candidates), min(count, len(candidates)))
    timings = []
    for task_id, cadre_id, unit_id in picks:
        with store.transaction() as ctx:
            report = submit_report(ctx, cadre_id or 0, task_id or 0,
                                   progress=Decimal(rng.randint(30, 100)))
            report_id = report.id or 0
        started = time.perf_counter()
        with store.transaction() as ctx:
            approve_report(ctx, bosses[unit_id], report_id, rng.choice("ABC"))
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def full_check(store: Store, runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        with store.session() as session:
            period = session.exec(select(Period).where(col(Period.is_active))).one()
            started = time.perf_counter()
            differences = check(session, store.rules, period, workers=os.cpu_count() or 1)
            timings.append(time.perf_counter() - started)
        if differences:
            raise RuntimeError(f"check found differences: {differences[:3]}")
    return timings


def render_digests(store: Store) -> tuple[int, float]:
    """Every cadre's weekly digest, rendered in batches of the size the product renders on
    that database: on PostgreSQL a `kaohe worker`'s (bot/worker.py BATCH), on SQLite the bot's
    embedded sender's (bot/sender.py BATCH, smaller so as not to hold up the bot's answers)."""
    size = WORKER_BATCH if store.engine.dialect.name == "postgresql" else SENDER_BATCH
    renderer = Renderer("zh_CN")
    with store.session() as session:
        period = session.exec(select(Period).where(col(Period.is_active))).one()
        people = session.exec(select(Cadre).order_by(col(Cadre.id))).all()
        payload = {"period_id": period.id, "week": "2026-11-23"}
        started = time.perf_counter()
        made = 0
        for first in range(0, len(people), size):
            made += len(digests.cadre_digests(session, payload, people[first:first + size],
                                              lambda _: renderer))
        return made, time.perf_counter() - started


def core_rate(rounds: int = 5, assessees: int = 2000) -> list[float]:
    """Assessees of 40 tasks scored per second by the pure core, one process."""
    rng = random.Random(3)
    inputs = [AssesseeInput(tasks=tuple(
        TaskInput(f"t{k}", ("business", "general")[k % 2], ("basic", "key")[k % 4 == 0],
                  Rational(rng.choice([5, 8, 10, 12])), Rational(rng.choice([9, 10, 11, 12]), 10),
                  Rational(rng.randint(0, 100)), rng.choice("ABC"),
                  Rational(3, 20) if k == 4 else None)
        for k in range(40))) for _ in range(assessees)]
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        for item in inputs:
            score_assessee(item)
        rates.append(assessees / (time.perf_counter() - started))
    return rates


def peak_memory(url: str, module: str = "bench.memory") -> str:
    result = subprocess.run([sys.executable, "-m", module, url], capture_output=True,
                            text=True, check=True, cwd=ROOT)
    return result.stdout.strip().splitlines()[-1]


# -- the report ------------------------------------------------------------------------------------


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}){memory}; "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")


def ms(values: list[float]) -> str:
    return (f"{statistics.median(values):.1f} ms (p95 {percentile(values, 0.95):.1f}, "
            f"{min(values):.1f}–{max(values):.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--approvals", type=int, default=200)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--output", default=str(ROOT / "docs" / "PERFORMANCE.md"))
    parser.add_argument("--data", default=str(ROOT / "var" / "bench"))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    databases = args.databases.split(",")
    folder = Path(args.data)
    folder.mkdir(parents=True, exist_ok=True)
    server = os.environ.get("KAOHE_BENCH_POSTGRES_URL",
                            "postgresql+psycopg://postgres@127.0.0.1:5432/")
    rng = random.Random(2026)
    results: dict[tuple[str, int], Figures] = {}
    work_files: dict[int, Path] = {}
    for size in sizes:
        for database in databases:
            print(f"{database}, {size} cadres", flush=True)
            if database == "sqlite":
                source = sqlite_dataset(size, folder)
                work = folder / f"work-{size}.db"
                copy_database(source, work)
                work_files[size] = work
                url = f"sqlite:///{work}"
            else:
                url = postgres_dataset(size, server)
            store = _store(url)
            figures = Figures()
            figures.approval_ms = approvals(store, args.approvals, rng)
            print(f"  approval {ms(figures.approval_ms)}", flush=True)
            figures.check_s = full_check(store, 3 if size <= 2000 else 1)
            print(f"  check {statistics.median(figures.check_s):.1f} s", flush=True)
            figures.digests, figures.digests_s = render_digests(store)
            print(f"  {figures.digests} digests in {figures.digests_s:.1f} s", flush=True)
            results[(database, size)] = figures
            store.engine.dispose()
    print("scoring core", flush=True)
    rates = core_rate()
    largest = max(sizes)
    memory = peak_memory(f"sqlite:///{work_files[largest]}") if largest in work_files else ""
    print(f"  memory: {memory}", flush=True)
    if largest in work_files:
        memory += " | " + peak_memory(f"sqlite:///{work_files[largest]}",
                                      "bench.recompute_memory")
        print(f"  full recompute: {memory.split(' | ')[-1]}", flush=True)
    throughput = None
    smallest = min(sizes)
    if smallest in work_files:
        fresh = folder / "throughput.db"
        copy_database(sqlite_dataset(smallest, folder), fresh)
        store = _store(f"sqlite:///{fresh}")
        throughput = measure(store, args.conversations)
        store.engine.dispose()
        print(f"  updates/s: {throughput.ours.per_second:.1f} one at a time, "
              f"{throughput.together.per_second:.1f} together, vs echo "
              f"{throughput.echo.per_second:.1f} (its floor with the guarantees "
              f"{throughput.floor.per_second:.1f}, {throughput.floor_in_a_thread.per_second:.1f}"
              " in a thread; on Kaohe's stack "
              f"{throughput.stack_floor.per_second:.1f}, "
              f"{throughput.stack_floor_in_a_thread.per_second:.1f}); per update "
              f"{throughput.counted.statements_per_update:.1f} statements, "
              f"{throughput.counted.commits_per_update:.1f} commits", flush=True)
    report = render(results, rates, memory, throughput, sizes, databases)
    if "postgresql" in databases:  # the bot and a worker as processes (bench/bench_tap.py)
        print("a tap during the digest run", flush=True)
        report += "\n" + bench_tap.run(server, largest)
    Path(args.output).write_text(report, encoding="utf-8")
    print(f"wrote {args.output}")


def render(results: dict[tuple[str, int], Figures], rates: list[float], memory: str,
           throughput: Comparison | None, sizes: list[int], databases: list[str]) -> str:
    from bench.report import write  # the prose lives beside the numbers it explains

    return write(results, rates, memory, throughput, sizes, databases, machine(),
                 date.today().isoformat(), ms, percentile)


if __name__ == "__main__":
    main()
