"""我的得分 with 提分建议, the 优秀 line and the trend, for a 40-task cadre (issue 15).

    .venv/bin/python -m bench.bench_insight [--sizes 2000] [--databases sqlite,postgresql]
                                            [--samples 200]

Each sample is what the 我的得分 button reads and renders (handlers/mine.py `score`): the
standing, last week's total, the task titles, `models.insight.score_insight` (the facts in a few
queries, one scoring of the cadre per open task, both ranks placed, the 优秀 line, the trend)
and the template, in one session, for a random cadre of the data set (`bench.bulk`: 40 tasks
each, a year of reports). The figures are per sample, p50 and p95, in wall-clock time and in
this process's CPU time (which a shared machine's load disturbs less; for SQLite it includes
the database's work, for PostgreSQL not the server's); they go into
docs/insight.md by hand. The data sets are those of `python -m bench` (built when missing:
SQLite in var/bench/, PostgreSQL kaohe_bench_<N>).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import date
from pathlib import Path

from sqlmodel import col, select

from bench.__main__ import ROOT, percentile, postgres_dataset, sqlite_dataset
from bench.bulk import TODAY
from bot.config import load_settings
from models.facts import AssesseeRef
from models.insight import score_insight
from models.shown import shown_score
from models.store import Store, make_engine
from models.tables import Cadre, Unit
from models.views import active_period, reportable_tasks, standing_of, total_a_week_ago
from ui.render import Renderer


def my_score(store: Store, cadre_id: int, today: date, r: Renderer) -> int:
    """The reads and the rendering of one 我的得分; returns how many suggestions it made."""
    with store.session() as session:
        period = active_period(session)
        cadre = session.get(Cadre, cadre_id)
        assert period is not None and cadre is not None
        standing = standing_of(session, period, cadre_id=cadre_id)
        lines = reportable_tasks(session, cadre, period, today)
        week_ago = total_a_week_ago(session, period, cadre_id, today)
        shown = None if standing is None else shown_score(
            session, store.rules, period, AssesseeRef.cadre(cadre_id))
        insight = score_insight(session, store.rules, period, cadre, today, standing, lines)
        view = {"period": period, "standing": standing, "week_ago": week_ago,
                "unit": session.get(Unit, cadre.unit_id), "shown": shown, "insight": insight}
        change = None if standing is None or week_ago is None else standing.total - week_ago
        r.render("score", cadre=cadre, view=_View(**view), s=standing, shown=shown,
                 change=change, post_label="")
        return len(insight.suggestions)


class _View:
    def __init__(self, **fields: object) -> None:
        self.__dict__.update(fields)


def run(url: str, samples: int, seed: int = 15) -> tuple[list[float], list[float], int]:
    store = Store(make_engine(url), load_settings().rules())
    rng = random.Random(seed)
    with store.session() as session:
        ids = [i for i in session.exec(select(Cadre.id).where(col(Cadre.active))).all()
               if i is not None]
    r = Renderer("zh_CN")
    my_score(store, ids[0], TODAY, r)  # warm: templates
    times, cpu, suggested = [], [], 0
    for cadre_id in rng.sample(ids, min(samples, len(ids))):
        started, started_cpu = time.perf_counter(), time.process_time()
        suggested += my_score(store, cadre_id, TODAY, r)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    store.engine.dispose()
    return times, cpu, suggested


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="2000")
    parser.add_argument("--databases", default="sqlite")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--postgres-url", default="",
                        help="a copy of the PostgreSQL data set to read instead of "
                             "kaohe_bench_<N> (one size only)")
    args = parser.parse_args()
    server = os.environ.get("KAOHE_BENCH_POSTGRES_URL",
                            "postgresql+psycopg://postgres@127.0.0.1:5432")
    for size in (int(s) for s in args.sizes.split(",")):
        for database in args.databases.split(","):
            url = (f"sqlite:///{sqlite_dataset(size, Path(ROOT / 'var' / 'bench'))}"
                   if database == "sqlite" else args.postgres_url or postgres_dataset(size, server))
            times, cpu, suggested = run(url, args.samples)
            print(f"{database} {size} cadres x 40 tasks: 我的得分 with suggestions, "
                  f"{len(times)} cadres, {suggested / len(times):.1f} suggestions each: "
                  f"wall p50 {statistics.median(times):.1f} ms, p95 "
                  f"{percentile(times, 0.95):.1f} ms, max {max(times):.1f} ms; this process's "
                  f"CPU p50 {statistics.median(cpu):.1f} ms, p95 {percentile(cpu, 0.95):.1f} ms "
                  f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)",
                  flush=True)


if __name__ == "__main__":
    main()
