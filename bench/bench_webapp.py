"""`python -m bench.bench_webapp`: how fast the Mini App dashboard loads its data.

    .venv/bin/python -m bench.bench_webapp [--sizes 2000] [--databases sqlite,postgresql]

The viewer is the data set's city-level administrator (bench/bulk.py: cadre 0, who oversees
every unit). Each API call goes through the real Starlette application in process (initData
check, access rules, the reads, JSON), as the page makes it; the network is left out. "page"
is what the first screen waits for: /api/me then /api/overview; "overview, all its data" adds
what the overview loads at once after the list, the not-reported counts (/api/late-counts) and
the 红黄绿 lights (/api/lights), one after the other. Each is timed on its own too, as is the
first page of 未按期汇报 (/api/late). First the FIGURES job runs (timed: the time it takes
beside the bot, claim to done), so the overview's counts and lights are its kept ones, as
they are in service; `--skip figures` leaves it out, and they are worked out per call. Data
sets are those of `python -m bench` (built on first use, kept in var/bench/ and
kaohe_bench_<N>); the schema is migrated on opening, so a branch with a migration reads copies
(--sqlite-path, --postgres-url), never the shared ones.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel import col, func, select
from starlette.testclient import TestClient

from bench.__main__ import ROOT, _store, percentile, postgres_dataset, sqlite_dataset
from bench.bulk import TELEGRAM_BASE
from bot.config import ScheduleSettings
from bot.jobs import JobRunner
from models import figures
from models.store import Store
from models.tables import Cadre, Standing, Unit
from webapp.api import WebAppConfig, create_app
from webapp.auth import sign_init_data

TOKEN = "123456:bench-dashboard"
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # bench/bulk.py's "today", 10:00 in Shanghai


def _timed(call: Callable[[], int], runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and this process's CPU milliseconds per call (on a shared machine the CPU
    time is disturbed less; for SQLite it includes the database's work)."""
    call()  # warm: caches, the planner, Python's imports
    timings, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        status = call()
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        if status != 200:
            raise RuntimeError(f"the dashboard answered {status}")
    return timings, cpu


def measure(url: str, runs: int, skip: frozenset[str] = frozenset()
            ) -> dict[str, tuple[list[float], list[float]]]:
    base = _store(url)
    store = Store(base.engine, base.rules, clock=lambda: NOW)
    client = TestClient(create_app(store, WebAppConfig(TOKEN, 86400)))
    auth = {"Authorization": "tma " + sign_init_data(TOKEN, TELEGRAM_BASE, NOW)}
    with store.session() as session:
        # The biggest unit, and a cadre in the middle of the standings.
        unit_id = session.exec(select(Cadre.unit_id).group_by(col(Cadre.unit_id))
                               .order_by(func.count().desc())).first()
        person = session.exec(select(Standing.cadre_id).where(col(Standing.cadre_id).is_not(
            None)).order_by(col(Standing.total)).offset(100)).first()
        units = len(session.exec(select(Unit.id)).all())
    print(f"    {units} units; unit {unit_id}, cadre {person}", flush=True)

    def figures_job() -> int:
        with store.transaction() as ctx:
            figures.queue(ctx)
        return 200 if asyncio.run(JobRunner(store, ScheduleSettings()).drain()) == 1 else 500

    def get(path: str) -> Callable[[], int]:
        return lambda: client.get(path, headers=auth).status_code

    def pages(*paths: str) -> Callable[[], int]:
        return lambda: max(client.get(p, headers=auth).status_code for p in paths)

    page = pages("/api/me", "/api/overview")
    everything = pages("/api/me", "/api/overview", "/api/late-counts", "/api/lights")
    slow = max(3, runs // 2)

    calls: dict[str, tuple[Callable[[], int], int]] = {
        "figures job (FIGURES)": (figures_job, slow),
        "page (me + overview)": (page, runs),
        "overview, all its data": (everything, slow),
        "/api/overview": (get("/api/overview"), runs),
        f"/api/unit/{unit_id}": (get(f"/api/unit/{unit_id}"), runs),
        f"/api/person/{person}": (get(f"/api/person/{person}"), runs),
        "/api/pending": (get("/api/pending"), runs),
        "/api/late-counts": (get("/api/late-counts"), slow),
        "/api/lights": (get("/api/lights"), slow),
        "/api/late (page 1)": (get("/api/late"), runs),
    }
    found = {name: _timed(call, times) for name, (call, times) in calls.items()
             if name.split("/")[-1].split(" ")[0] not in skip}
    store.engine.dispose()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--postgres-url", default="",
                        help="a copy of the PostgreSQL data set to read instead of "
                             "kaohe_bench_<N> (one size only)")
    parser.add_argument("--sqlite-path", default="",
                        help="a copy of the SQLite data set to read instead of "
                             "var/bench/sqlite-<N>.db (one size only)")
    parser.add_argument("--skip", default="",
                        help="what to leave out, by last path part or word: lights,late,"
                             "figures (the job: the overview then works them out per call)")
    args = parser.parse_args()
    server = os.environ.get("KAOHE_BENCH_POSTGRES_URL",
                            "postgresql+psycopg://postgres@127.0.0.1:5432/")
    folder = ROOT / "var" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    for size in (int(s) for s in args.sizes.split(",")):
        for database in args.databases.split(","):
            print(f"{database}, {size} cadres, city-level viewer, {args.runs} runs:", flush=True)
            sqlite_path = args.sqlite_path or sqlite_dataset(size, folder)
            url = (f"sqlite:///{sqlite_path}" if database == "sqlite"
                   else args.postgres_url or postgres_dataset(size, server))
            for name, (timings, cpu) in measure(
                    url, args.runs, frozenset(filter(None, args.skip.split(",")))).items():
                print(f"  {name:<28} median {statistics.median(timings):7.1f} ms   "
                      f"p95 {percentile(timings, 0.95):7.1f} ms   "
                      f"max {max(timings):7.1f} ms   CPU median "
                      f"{statistics.median(cpu):7.1f} ms   p95 {percentile(cpu, 0.95):7.1f} ms   "
                      f"(n={len(timings)})", flush=True)
            print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)",
                  flush=True)


if __name__ == "__main__":
    main()
