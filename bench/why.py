"""Where an update's time goes: Kaohe's report-and-approve conversations run again (not timed),
counting the SQL statements and commits of each update and, when asked, under cProfile.

Statements are counted with SQLAlchemy's engine events, only those run on behalf of an update
(a context variable set while the update is processed; the outbox sender's own work, beside
the updates, is left out). For the profile, the calls handlers make in worker threads
(`asyncio.to_thread`) run inline, so that one profiler sees all the work; the figures are
shares of the profiled time, summed by where the code lives, and the functions that spent most.
"""

from __future__ import annotations

import asyncio
import contextvars
import cProfile
import pstats
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock

from sqlalchemy import event

from models.store import Store

T = TypeVar("T")
ROOT = str(Path(__file__).resolve().parent.parent) + "/"
_IN_UPDATE: contextvars.ContextVar[bool] = contextvars.ContextVar("in_update", default=False)

# Where a function lives -> the area it is counted in (the first match wins).
AREAS = (
    ("sqlite3", "the SQLite engine (sqlite3 calls)"),
    ("psycopg", "the PostgreSQL driver"),
    ("/sqlalchemy/", "SQLAlchemy (building statements, ORM, results)"),
    ("/sqlmodel/", "SQLAlchemy (building statements, ORM, results)"),
    ("/telegram/", "python-telegram-bot"),
    ("/sandbox/", "the Telegram simulator"),
    ("/jinja2/", "Jinja2 and Babel (texts)"),
    ("/babel/", "Jinja2 and Babel (texts)"),
    ("/scoring/", "Kaohe: scoring"),
    ("/models/", "Kaohe: models"),
    ("/handlers/", "Kaohe: handlers"),
    ("/ui/", "Kaohe: ui"),
    ("/bot/", "Kaohe: bot"),
    ("asyncio", "asyncio"),
)
OTHER = "Python's builtins and standard library (called from all of the above)"


@dataclass(frozen=True)
class Counted:
    updates: int
    statements: int
    commits: int

    @property
    def statements_per_update(self) -> float:
        return self.statements / self.updates

    @property
    def commits_per_update(self) -> float:
        return self.commits / self.updates


@dataclass(frozen=True)
class Profile:
    updates: int
    seconds: float  # profiled, all functions' own time
    areas: list[tuple[str, float]]  # (area, share of the profiled time), largest first
    functions: list[tuple[str, float, int]]  # (function, own seconds, calls), largest first

    def lines(self, top: int = 15) -> list[str]:
        """Markdown: the areas, then the functions that spent most of their own time."""
        per = self.updates or 1
        result = [f"Profiled: {self.updates} updates, {self.seconds * 1000 / per:.1f} ms each "
                  "under the profiler.", "", "| where the time went | share |", "| --- | --- |"]
        result += [f"| {area} | {share:.0%} |" for area, share in self.areas]
        result += ["", "| function (its own time) | ms per update | calls per update |",
                   "| --- | --- | --- |"]
        result += [f"| `{name}` | {seconds * 1000 / per:.2f} | {calls / per:.1f} |"
                   for name, seconds, calls in self.functions[:top]]
        return result


@contextmanager
def counting(store: Store) -> Iterator[list[int]]:
    """[statements, commits] run on behalf of updates (`in_update`) while the block runs."""
    counts = [0, 0]

    def statement(*_: Any) -> None:
        if _IN_UPDATE.get():
            counts[0] += 1

    def commit(*_: Any) -> None:
        if _IN_UPDATE.get():
            counts[1] += 1

    event.listen(store.engine, "before_cursor_execute", statement)
    event.listen(store.engine, "commit", commit)
    try:
        yield counts
    finally:
        event.remove(store.engine, "before_cursor_execute", statement)
        event.remove(store.engine, "commit", commit)


_PROFILER: list[cProfile.Profile] = []  # the one `profiled` runs, while it runs


async def in_update(work: Callable[[], Any]) -> None:
    """Run one update's processing, its statements counted as the update's (and profiled,
    inside `profiled`)."""
    token = _IN_UPDATE.set(True)
    for profiler in _PROFILER:
        profiler.enable()
    try:
        await work()
    finally:
        for profiler in _PROFILER:
            profiler.disable()
        _IN_UPDATE.reset(token)


_to_thread = asyncio.to_thread


async def _inline(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """The update's own calls inline, where the profiler sees them; the sender's (beside the
    update, waiting for its transaction on SQLite) still in a thread."""
    if _IN_UPDATE.get():
        return func(*args, **kwargs)
    return await _to_thread(func, *args, **kwargs)


def profiled(run: Callable[[], T], updates: Callable[[T], int]) -> tuple[T, Profile]:
    """`run()` with each update profiled (cProfile), its worker-thread calls inline;
    `updates` says how many updates the result handled."""
    profiler = cProfile.Profile()
    _PROFILER.append(profiler)
    try:
        with mock.patch.object(asyncio, "to_thread", _inline):
            result = run()
    finally:
        _PROFILER.remove(profiler)
    return result, summarise(pstats.Stats(profiler), updates(result))


def summarise(stats: pstats.Stats, updates: int) -> Profile:
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in table.values()) or 1.0
    areas: dict[str, float] = {}
    functions = []
    for (path, line, name), (_, calls, own, _, _) in table.items():
        where = f"{path}:{name}"
        area = next((label for marker, label in AREAS if marker in where), OTHER)
        areas[area] = areas.get(area, 0.0) + own
        short = path.removeprefix(ROOT).rsplit("site-packages/", 1)[-1]
        functions.append((f"{short}:{line} {name}", own, calls))
    functions.sort(key=lambda item: -item[1])
    ranked = sorted(((area, own / total) for area, own in areas.items()), key=lambda a: -a[1])
    return Profile(updates, total, ranked, functions)
