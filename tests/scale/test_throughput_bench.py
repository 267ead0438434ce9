"""The updates-per-second bench (bench/throughput.py) still measures what it says: whole
report-and-approve conversations through the real Application, one at a time and several at
once, beside the echo bot and the floor that keeps Kaohe's guarantees. Not timed: a bench
that silently stops measuring (a conversation that no longer ends approved) fails here."""

from __future__ import annotations

from pathlib import Path

from bench.__main__ import _store
from bench.bulk import build
from bench.throughput import TOGETHER, measure

CONVERSATIONS = TOGETHER + 2  # one full round of conversations together, and a part one
UPDATES = 7 * CONVERSATIONS  # seven updates a conversation


def test_the_throughput_bench_runs_whole_conversations_and_its_floor(tmp_path: Path) -> None:
    store = _store(f"sqlite:///{tmp_path / 'bench.db'}")
    try:
        build(store, 40 * (TOGETHER + 1), tasks_per_cadre=40)  # a supervisor per 40 cadres
        compared = measure(store, CONVERSATIONS, counted=2)
    finally:
        store.engine.dispose()
    runs = [compared.ours, compared.together, compared.echo, compared.floor,
            compared.floor_in_a_thread, compared.stack_floor, compared.stack_floor_in_a_thread]
    assert [run.updates for run in runs] == [UPDATES] * 7
    assert all(run.per_second > 0 for run in runs)
    assert compared.counted.updates == 14 and compared.counted.commits_per_update >= 1.0
    assert (compared.profile is not None) == (compared.ratio < 0.3)
