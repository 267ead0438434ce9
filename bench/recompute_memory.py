"""Peak memory of a full recompute (`kaohe check` on both cores) on a large organisation.

    python -m bench.recompute_memory DATABASE_URL

Prints the time, and the peak resident set (MB) of this process and of its largest worker,
read from the kernel (VmHWM here; the workers' through RUSAGE_CHILDREN, which they do not
outlive).
"""

from __future__ import annotations

import os
import resource
import sys
import time

from sqlmodel import col, select

from bench.memory import peak_megabytes
from bot.config import load_settings
from models.standings import check
from models.store import Store, make_engine
from models.tables import Period


def main(url: str) -> None:
    store = Store(make_engine(url), load_settings().rules())
    workers = os.cpu_count() or 1
    with store.snapshot() as session:
        period = session.exec(select(Period).where(col(Period.is_active))).one()
        started = time.perf_counter()
        differences = check(session, store.rules, period, workers=workers)
        seconds = time.perf_counter() - started
    worker_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{len(differences)} differences in {seconds:.1f} s on {workers} processes; peak RSS "
          f"{peak_megabytes():.0f} MB, largest worker {worker_peak:.0f} MB")


if __name__ == "__main__":
    main(sys.argv[1])
