"""Real OS processes writing to one PostgreSQL database at the same moment.

`in_step` starts one spawned process per job; each builds its own engine and Store from the
database URL (nothing is shared but the database), then all of them run their rounds in step:
a barrier lets every process start a round together, and the test's process checks the
database between rounds, when all of them have finished it. Each operation's outcome comes
back as text: "ok", "refused:<code>", or "error:<what went wrong>".
"""

from __future__ import annotations

import multiprocessing
import threading
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier
from pathlib import Path
from queue import Empty
from typing import Any

from models.errors import Refused
from models.store import Store, make_engine

ROOT = Path(__file__).resolve().parents[2]
# 2026-06-15 10:00 in Asia/Shanghai, as the tests' FakeClock starts.
NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
TIMEOUT = 60.0  # seconds any process waits for the others before the test fails

# A worker: (its store, its job's arguments, the round number) -> one outcome per operation.
Worker = Callable[[Store, Any, int], list[str]]


def fixed_clock() -> datetime:
    return NOW


def outcome(action: Callable[[], Any]) -> tuple[str, Any]:
    """How an action went ("ok", "refused:<code>", "error:<what>"), and what it returned."""
    try:
        result = action()
    except Refused as refusal:
        return f"refused:{refusal.code}", None
    except Exception as error:  # anything else is what these tests look for
        first = str(error).splitlines()[0] if str(error) else ""
        return f"error:{type(error).__name__}: {first}", None
    return "ok", result


def attempt(store: Store, operation: Callable[[Any], Any]) -> tuple[str, Any]:
    """One operation run as the bot and the command line run it (store.run)."""
    return outcome(lambda: store.run(operation))


def _process(worker: Worker, url: str, job: Any, rounds: int, barrier: Barrier,
             results: Any, index: int) -> None:
    from bot.config import load_settings  # in the child: it builds everything itself

    outcomes: list[str] = []
    try:
        engine = make_engine(url)
        store = Store(engine, load_settings(ROOT / "config.toml").rules(),
                      timezone="Asia/Shanghai", clock=fixed_clock)
        for number in range(rounds):
            barrier.wait(TIMEOUT)
            try:
                outcomes += worker(store, job, number)
            finally:
                barrier.wait(TIMEOUT)
        engine.dispose()
    except Exception:
        barrier.abort()  # nobody waits out the timeout for a process that is gone
        outcomes.append("crash:" + traceback.format_exc())
    results.put((index, outcomes))


def in_step(url: str, jobs: list[tuple[Worker, Any]], rounds: int,
            between: Callable[[int], None] = lambda _n: None) -> list[list[str]]:
    """Run the jobs in one process each, `rounds` times in step; `between(n)` runs in this
    process after round n, while the others wait. Returns each job's outcomes, in job order."""
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(len(jobs) + 1)
    results = spawn.Queue()
    processes = [spawn.Process(target=_process, daemon=True,
                               args=(worker, url, job, rounds, barrier, results, index))
                 for index, (worker, job) in enumerate(jobs)]
    for process in processes:
        process.start()
    try:
        for number in range(rounds):
            barrier.wait(TIMEOUT)  # all started the round
            barrier.wait(TIMEOUT)  # all finished it
            between(number)
        found: dict[int, list[str]] = {}
        while len(found) < len(processes):
            index, outcomes = results.get(timeout=TIMEOUT)
            found[index] = outcomes
    except (Empty, threading.BrokenBarrierError):
        barrier.abort()
        found = {}
        while True:  # what the processes that did report said
            try:
                index, outcomes = results.get(timeout=1)
            except Empty:
                break
            found[index] = outcomes
        raise AssertionError(f"the processes did not finish in step: {found}") from None
    except BaseException:
        barrier.abort()
        raise
    finally:
        for process in processes:
            process.join(5)
            if process.is_alive():
                process.terminate()  # only the processes this test started
                process.join()
    return [found[index] for index in range(len(processes))]
