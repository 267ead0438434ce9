"""Drawing a digest run's charts in processes of their own (a `kaohe worker`'s).

A cadre's weekly digest carries a trend chart, about 40 ms of matplotlib: 20,000 of them are
most of a digest run's CPU. Drawn in the worker's rendering thread they hold its interpreter
lock, so the sending loop beside them falls behind Telegram's pace, and they use one core.
Here they are drawn by spawned processes (no copy of the worker's threads and connections),
in order, and the rest of the digest is rendered as before; so are the supervisors' and the
groups' standings charts, and matplotlib is never loaded into the worker itself.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ui.insight_digest import ChartArgs, trend_chart

log = logging.getLogger(__name__)


def _draw(chart: ChartArgs) -> bytes:
    args, options = chart
    return trend_chart(*args, **options)


def _standings(args: tuple[Any, ...], options: dict[str, Any]) -> bytes:
    from ui.charts import standings_chart

    return standings_chart(*args, **options)


class ChartPool:
    """A `ChartDrawer` (ui/insight_digest.py) over `processes` processes (default: every core
    but one, which the sending loop and the database work keep)."""

    def __init__(self, processes: int | None = None) -> None:
        count = processes or max((os.cpu_count() or 2) - 1, 1)
        self._pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"))

    def __call__(self, charts: list[ChartArgs]) -> list[bytes]:
        return list(self._pool.map(_draw, charts, chunksize=4))

    def standings(self, *args: Any, **options: Any) -> bytes:
        """A supervisor's or a group's standings chart (ui/digests.py `chart`, the same
        arguments), drawn in the pool too: a quarter of a second of matplotlib, much of it in
        C code that holds the interpreter lock throughout. Should the pool's process have
        died (killed, out of memory), the chart is drawn in this process rather than the
        digest failing."""
        try:
            return self._pool.submit(_standings, args, options).result()
        except BrokenProcessPool:
            log.warning("the chart process is gone; drawing a standings chart in the worker")
            return _standings(args, options)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
