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
- **The fixed work of an approval** was 31 SQL statements through the ORM. Two causes of
  reading what was already known: `models/access.load` passed `with_for_update=False`, which
  makes SQLAlchemy skip the session's identity map (it looks there only when the argument is
  None), and the map holds rows weakly, so the cadre, the unit and the period an operation
  loads, drops and loads again were read two or three times per approval; rows loaded are now
  held for the transaction. And the standing was loaded as an ORM object with its 5 KB
  breakdown to be compared and flushed; an approval that leaves the standing in its groups now
  reads the few columns the rank move needs as a plain row and writes score, ranks and
  breakdown with three plain statements (`_rescore_in_place`). 24 statements now, counted:
  the access checks, the report and its audit row, the period's lock, the cadre's facts (tasks,
  parts of decomposed tasks, approved reports, the cadre, innovation claims: five plain
  queries, re-scoring 40 tasks takes 0.3 ms), the standing, the two rank moves, the outbox row.
  Measured side by side with the previous code while other work loaded the machine (load
  average 9–12 on two cores, so wall-clock times meant nothing), `approve_report`'s own CPU
  time fell by about a fifth: SQLite 16.9 → 13.3 ms at 2,000 cadres and 18.4 → 14.9 ms at
  20,000; PostgreSQL 18.4 → 15.0 ms and 20.8 → 17.1 ms.
- **What still grows with the organisation on SQLite is the rank move itself.** At 20,000
  cadres a post category holds 13,320 cadres, about eight per 0.01 point, so an approval
  worth two points moves the cadre past some 1,900 others, and stored competition ranks mean
  rewriting each of those rows. They lie on pages all over the table, so nearly every page of
  the standing table goes to the write-ahead log and the commit triggers a checkpoint. Timed
  alone on the 20,000-cadre data: the UPDATE 2.2 ms and the COMMIT 14 ms for 1,907 rows,
  against 0.45 ms and 0.5 ms for 189 rows (the 2,000-cadre case). No cut in statements
  reaches the 1.2 ratio on SQLite while `rank_in_post` is a stored column of `standing`.
  PostgreSQL pays for the same rows differently: the 1,900-row UPDATE took 43 ms on this
  (heavily loaded) machine, and each approval leaves some 1,900 dead row versions; when
  autovacuum falls behind, the cadre's own rank (a COUNT over the group's index, 2.8 ms
  index-only after a VACUUM) becomes a scan of the bloated table (19 ms measured on the bench
  copy after a few hundred approvals). What would help on both: the ranks in a narrow table
  clustered by (period, group, total) — on SQLite WITHOUT ROWID — so that a move rewrites a
  few contiguous pages instead of rows all over the table. It changes the two dozen places
  that read `rank_in_post` (views, digests, exports, the dashboard, `check`); not done.
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
- **Updates per second.** The echo bot does nothing but reply. Counted with SQLAlchemy's
  engine events on the bench's report-and-approve conversation (seven updates, the sender's
  own work left out), an update cost 25.9 statements in 4.4 transactions, 2.3 of them commits:
  the duplicate-update guard, who is writing, each operation and the persisted conversation
  state were transactions of their own, and on SQLite every read-only session began with
  BEGIN IMMEDIATE too (the approval: 54 statements, 6 transactions). Now each update is one
  transaction (bot/updates.py wraps python-telegram-bot's `process_update` in a unit of work,
  models/store.py `Store.unit`): the guard, the person, the operations (each a savepoint, so a
  refusal undoes only its own operation and is audited in the update), the conversation
  states and the row saying it was handled commit once, all or nothing. The person is read
  once per update (the operations find the cadre in the session), and the persistence knows
  what its rows hold, so an unchanged state is not written and a changed one is one statement
  without reading the row first. 18.6 statements and 1 commit per update now (savepoints
  included; the approval 35); a duplicate, a crash before the commit and a restart
  mid-conversation behave as before (the tests that check them pass on both databases).
  The price: on SQLite the update holds the write lock from its first statement to its
  commit, Telegram calls included, so the sender waits meanwhile; work that opens
  transactions of its own from inside an update (an export, queueing everyone's digests)
  commits the update's work first (`on_its_own`).
  The ratio is still far below 0.5. `python -m bench` now profiles the conversations whenever
  it is below 0.3 (bench/why.py, rendered above): SQLAlchemy building and running some twenty
  ORM statements is more than half of an update's time, python-telegram-bot and SQLite itself
  under a tenth each. The echo bot's whole update costs less than two ORM statements; half of
  its rate leaves about 1 ms per update, which needs the per-update reads (the duplicate
  guard, the person and their roles, the conversation's task) as prepared plain statements or
  cached across updates, not more folding. The throughput bench had also stopped measuring
  anything when delivery moved to the sender's own loop (the supervisor's card never arrived);
  it now runs the sender as the bot does and waits for the card and the decision.
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
