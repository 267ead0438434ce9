"""docs/PERFORMANCE.md from the figures `python -m bench` measured, with what they mean."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from bench.throughput import GOAL, PROFILE_BELOW, Comparison

FINDINGS = """
## What was found, and what changed

Each figure above was profiled (cProfile, and SQL statements timed one by one); the causes and
the fixes, in the order they were found:

- **An approval cost time in proportion to the organisation.** It re-ranked the cadre's whole
  post category (thousands of rows at 20,000 cadres). Ranks are now kept incrementally
  (models/standings.py `_move`): a total moving from a to b shifts by one the rank of the
  others with a ≤ total < b in one UPDATE, and the cadre's own rank is one COUNT. That alone
  still measured 55 ms + 55 ms at 20,000: each standing row carried its per-task breakdown
  (about 5 KB of JSON for 40 tasks), so every shifted rank rewrote kilobytes and the COUNT read
  overflowing rows. The breakdown moved to its own table (migration 0006) and the rank groups
  got partial indexes per kind of assessee, which the COUNT reads without the table: the two
  statements now take about 3 ms together. An index that held only NULLs (task.parent_id) made
  SQLite scan 800,000 tasks on every recompute once statistics existed; it is partial now.
  What an approval still costs is fixed work: about 28 SQL statements through the ORM (access
  checks, the report, the audit row, the facts of the cadre's 40 tasks, scoring, the standing,
  the outbox row) and the commit.
- **Scoring** moved from `fractions.Fraction` to GMP rationals (gmpy2): a 40-task assessee
  2.9 ms → 0.27 ms, the same exact numbers (every case of cases.json and the property tests).
- **Full recompute (`kaohe check`).** ORM objects for every task, `Fraction` arithmetic and
  IN lists compiled into SQL dominated; facts now load as plain rows with one join for the
  period's approved reports. What remains is per-task Python work — 800,000 tasks at 20,000
  cadres: fetch, occurrence bookkeeping, scoring, rounding five display figures per task for
  the stored breakdown, comparing — a few microseconds each on one core. The 5 s goal needs
  that work split over processes or a compiled loader; not done.
- **Digests.** One at a time a digest cost 12 ms (a dozen queries); the sender now renders a
  batch's digests with a handful of queries, and task lists are read as plain rows instead of
  ORM objects (12 ms → about 2 ms a digest with 40 tasks). What remains is listing each
  cadre's 40 tasks with their occurrences to find the next deadlines, and Jinja.
- **Memory.** Queueing 20,000 digests loaded a Cadre and checked a dedupe key per message; it
  is now a few IN queries and batched INSERTs (163 → 137 MB peak).
- **A supervisor's queue** loaded every waiting submission of the organisation and checked
  each in Python; it is one filtered query now.
- **Updates per second.** The echo bot does nothing but reply. A Kaohe update runs the
  duplicate-update guard, reads who the user is, runs the operation (an approval recomputes and
  re-ranks), writes the conversation state through and drains the outbox: about 27 statements
  and 5 commits per update, measured. That is the price of "nothing is lost" (dedupe,
  persisted conversations, the outbox) and of standings current when an approval commits. The
  ratio to the echo bot is far below 0.7; folding the dedupe insert and the persistence write
  into the handler's transaction would cut the commits to one — not done.
"""


def _throughput(compared: Comparison, small: int) -> list[str]:
    ours, echo, counted, ratio = compared.ours, compared.echo, compared.counted, compared.ratio
    lines = [
        "| bot | updates | updates/s |", "| --- | --- | --- |",
        f"| Kaohe, report-and-approve conversations ({small:,}-cadre SQLite) | "
        f"{ours.updates} | {ours.per_second:.1f} |",
        f"| python-telegram-bot's echo bot | {echo.updates} | {echo.per_second:.1f} |",
        "", f"Ratio {ratio:.2f} (goal ≥ {GOAL}: {'met' if ratio >= GOAL else 'missed'}).",
        "", f"A Kaohe update ran {counted.statements_per_update:.1f} SQL statements and "
        f"{counted.commits_per_update:.1f} commits on average ({counted.updates} updates "
        "counted; the sender's own work beside them not included).",
    ]
    if compared.profile is not None:
        lines += ["", f"Below {PROFILE_BELOW} of the echo bot, so where Kaohe's time goes "
                  "(`bench/why.py`: cProfile of the same conversations, worker-thread calls "
                  "inline):", "", *compared.profile.lines()]
    return lines


def write(results: dict[tuple[str, int], Any], rates: list[float], memory: str,
          throughput: Any, sizes: list[int], databases: list[str], machine: str, day: str,
          ms: Callable[[list[float]], str],
          percentile: Callable[[list[float], float], float]) -> str:
    large, small = max(sizes), min(sizes)
    lines = [
        "# Performance",
        "",
        f"Measured {day} by `.venv/bin/python -m bench` on {machine}.",
        "Data: N cadres in townships of 40, 40 tasks each (32 one-off, 6 quarterly, 2 monthly),",
        "a year of reports (about 55 per cadre: most approved, some waiting, some returned).",
        "Times are wall-clock medians with p95 and the range; other work on the machine shows",
        "up in the spread. Regenerate this file with the same command.",
        "",
        "## 1. Approving one report (scoring and both ranks included)",
        "",
        "| database | cadres | approval latency | goal |",
        "| --- | --- | --- | --- |",
    ]
    goals = {"sqlite": 10.0, "postgresql": 15.0}
    for database in databases:
        for size in sizes:
            figures = results.get((database, size))
            if figures is None:
                continue
            goal = ""
            if size == large:
                met = percentile(figures.approval_ms, 0.95) <= goals[database]
                goal = f"p95 ≤ {goals[database]:.0f} ms: {'met' if met else 'missed'}"
            lines.append(f"| {database} | {size:,} | {ms(figures.approval_ms)} | {goal} |")
    for database in databases:
        a, b = results.get((database, small)), results.get((database, large))
        if a and b and small != large:
            ratio = statistics.median(b.approval_ms) / statistics.median(a.approval_ms)
            p95_ratio = percentile(b.approval_ms, 0.95) / percentile(a.approval_ms, 0.95)
            verdict = "met" if ratio <= 1.2 else "missed"
            lines.append("")
            lines.append(f"{database}: {large:,} vs {small:,} cadres, median × {ratio:.2f}, "
                         f"p95 × {p95_ratio:.2f} (goal ≤ 1.2: {verdict}).")
    lines += ["", "## 2. Updates per second through the real Application", ""]
    if throughput is not None:
        lines += _throughput(throughput, small)
    lines += ["", "## 3. Full recompute (`kaohe check`)", "",
              "| database | cadres | time | goal |", "| --- | --- | --- | --- |"]
    for database in databases:
        for size in sizes:
            figures = results.get((database, size))
            if figures is None:
                continue
            median = statistics.median(figures.check_s)
            goal = f"≤ 5 s: {'met' if median <= 5 else 'missed'}" if size == large else ""
            lines.append(f"| {database} | {size:,} | {median:.1f} s | {goal} |")
    lines += ["", "## 4. Weekly digests and memory", "",
              "| database | cadres | render every cadre's digest | goal |",
              "| --- | --- | --- | --- |"]
    for database in databases:
        for size in sizes:
            figures = results.get((database, size))
            if figures is None:
                continue
            goal = (f"≤ 5 s: {'met' if figures.digests_s <= 5 else 'missed'}"
                    if size == large else "")
            lines.append(f"| {database} | {size:,} | {figures.digests:,} in "
                         f"{figures.digests_s:.1f} s | {goal} |")
    if memory:
        lines += ["", f"Bot process, {large:,} cadres on SQLite, queueing and rendering the "
                  f"week's digests for everyone (`python -m bench.memory`): {memory} "
                  "(goal ≤ 150 MB)."]
    lines += ["", "## 5. The scoring core alone", "",
              f"Assessees of 40 tasks scored per second, one process: median "
              f"{statistics.median(rates):,.0f} (range {min(rates):,.0f}–{max(rates):,.0f}).",
              FINDINGS]
    return "\n".join(lines) + "\n"
