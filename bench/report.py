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
- **Full recompute (`kaohe check`).** ORM objects for every task, `Fraction` arithmetic and IN
  lists compiled into SQL dominated at first; facts then loaded as plain rows with one join for
  the period's approved reports, but all 800,000 tasks at once: 64 s and 2 GB at 20,000 cadres
  (measured again here: 2.0 GB peak, 42 s of CPU). The recompute is now streamed
  (models/recompute.py): a chunk of 1,000 cadre ids at a time, read as raw rows through the
  indexes on (period, cadre) and (task, occurrence), put together by FactsLoader's own assembly
  (so a recompute sees exactly what an approval sees), scored, compared against that chunk's
  stored rows (raw scaled integers, breakdowns decoded from their JSON), and let go; the
  assessed units are the last chunk. What is kept across chunks is a few numbers per assessee
  for the rank check. `check(..., workers=N)` spreads the chunks over forked processes, each
  with its own engine, all reading the moment the caller sees: on SQLite the caller's
  transaction holds the write lock (BEGIN IMMEDIATE) until the workers are done, on PostgreSQL
  the caller's snapshot is exported and each worker imports it (SET TRANSACTION SNAPSHOT). The
  differences come back in the same order as one pass lists them (tests/models/test_recompute.py
  compares both on a tampered database, on both engines). `kaohe check` and the bench use every
  core. `refresh_all` is streamed the same way in its own transaction (it must see what that
  transaction has written), one process, each chunk's rows expunged after they are flushed;
  ranking its groups reads standings without their breakdowns. Breakdown figures are formatted
  from the exact value's integer parts (`scoring.round2_text`, the same text as
  `str(round2(x))`, checked by a property test) instead of through a Decimal. Figures, 20,000
  cadres, measured on the shared 2-core machine while other sessions ran their test suites (load
  average 8–12, so wall times are 2–3× what an idle machine gives; CPU seconds compare better):
  peak memory 2.0 GB → 148 MB in the parent and 180 MB in the larger worker; CPU 42 s → 35 s
  (2,000 cadres side by side: 4.0 s → 3.0 s); wall time with two workers 90 s against 175 s for
  one process in the same run. On PostgreSQL: 29 s of CPU in the command and its workers (the
  server's own not counted), peaks 157 MB and 186 MB. On an idle machine that is about half the
  CPU time, 18 s, not the 5 s goal: **missed**. What remains is per-task Python at about 1.5 ms
  of CPU per 40-task cadre (cProfile with a CPU clock): FactsLoader's assembly and effective
  progress about 45 %, the scoring core about 20 %, the stored breakdown's 160 figures per cadre
  about 20 %, fetching rows about 10 %. Rounding in plain integers was tried and was no faster
  than GMP's rationals: the cost is the interpreter's per-task work, not the arithmetic, so
  exact fixed-point over a common denominator in Python would not close the gap either. The goal
  needs that per-task loop compiled (loader, scorer and breakdown in one pass over the integer
  columns).
- **Digests.** One at a time a digest cost 12 ms (a dozen queries); the sender renders a batch's
  digests with a handful of queries. What remained was listing each cadre's 40 tasks with all
  their occurrences to find the next five deadlines (models/views.py `reportable_tasks_of`,
  built for /tasks), ORM reports and tasks for the week's decisions, a standing loaded with its
  breakdown per digest, and Jinja looking the template up (a file check) on every render. A
  batch is now read by models/digest_rows.py: one-off tasks already past their deadline stay in
  the database (most of a year's 32 one-off tasks by November), each remaining task's open
  occurrence is found once per batch from the occurrences started by then, reports come as plain
  rows, places and unit names in one query; templates are compiled once per process
  (ui/render.py). The texts are the same, checked digest by digest against the previous code for
  all 2,000 cadres in three different weeks. CPU for 2,000 digests, side by side: 3.1 s → 1.0 s
  (week of 23 November), 9.9 s → 3.0 s (2 March), 6.6 s → 2.0 s (6 July). At 20,000: 10 s of CPU
  in the rendering process on SQLite and on PostgreSQL (55–60 s wall on the loaded machine); the
  5 s goal is **missed** by about 2×: half is still the per-task deadline search, a quarter
  Jinja. The sender's own batches cost far more than that: they add each cadre's 优秀 line and
  trend (ui/insight_digest.py), and the 优秀 line rates the cadre's whole rating pool by loading
  and scoring every member from facts (models/rating_pools.py `pools_of`), once per batch of 50
  for each pool the batch touches. Pools of about 40 cadres in batches of 50 are rated 1.6 times
  each over a run (3,280 assessees scored for 2,000 digests), so the Monday run re-scores the
  organisation 1.6 times: 15 of the 18 s of CPU that the sender's path takes for 2,000 digests
  (cProfile, CPU clock), and about 80 s of CPU at 20,000 (`python -m bench.memory`). The next
  step there is to rate each pool once per run (or from stored standings, if exact base and key
  points were stored for the tie-break), which belongs with the worker's digest job; not done
  here.
- **Digests, again (issue 14 item 4).** Profiled at 20,000 (SQLite, CPU clock): the deadline
  search was 3.4 of 4.9 s, most of it reading a year of reports (630,000 rows) to find each
  recurring task's open occurrence. Only the running month's or quarter's reports are read now
  (23,000 rows): every earlier occurrence fell due before the digest's day, so it decides a line
  only when the running one is approved and someone would still see it (a newer draft, a later
  return), and for those few a count of approved occurrences settles it; each (recurrence,
  deadline)'s started occurrences are worked out once per batch. The same deadlines: a test
  against the task lines (tests/models/test_digest_deadlines.py, the demo city, every period,
  many days, both databases) and all 20,000 bench cadres on 7 days against the previous code.
  Side by side on one copy (load average 10–13, so CPU clock): 20,000 digests 7.3–8.6 s →
  4.7–5.5 s of CPU on SQLite, 2,000 on PostgreSQL 0.83–0.91 s → 0.59–0.60 s. The wall-clock
  goal of 5 s could not be checked on this machine (wall 20–140 s for either); from the CPU
  ratio (0.64) the 7.0 s above would be about 4.5 s on SQLite and 5.4 s on PostgreSQL. What
  is left: the deadline search's Python per task (about 1 s), Jinja (0.9 s), the batch queries
  (0.8 s).
- **The digest run's pace.** A worker sent one row at a time: each send waited for the lease
  renewal, the send, the part's and the row's marks, longer than the 37 ms 27/s leaves, and the
  trend charts (52 ms each, one per cadre) were drawn in its rendering thread, holding the
  interpreter lock the sending loop needs. Now four rows of a batch go at once (each its own
  chat and its own slot of the pace), a rolling-second guard stops held-up lanes from bunching
  (no more than 27 of ours in flight or answered within any second), and the charts are drawn
  with fixed margins (39 ms) in a spawned process (ui/charts_pool.py). bench_tap at 2,000
  cadres, 60 s of the run, under load average 11–16 from other work (so compare with care):
  9.9/s before (the bot alone answered /tasks at p50 51 ms then); 17.1/s with the lanes but 3 ×
  429; 16.4/s with the lanes and the guard, 0 × 429 (p50 62 ms alone); with the chart process
  too 12.0/s and 10.9/s, 0 × 429, on a busier machine (p50 118 and 133 ms alone); run side by
  side, with and without the chart process, both 5.4/s: on a machine with no idle core the
  process cannot help, and it is kept for the core a worker's machine has spare. No duplicates
  in any run. The 95 % goal needs 28.5/s beside the bot's answers: not reachable with 0 × 429
  while the bot and the workers count their sends apart (docs/deployment.md).
- **Memory.** Queueing 20,000 digests loaded a Cadre and checked a dedupe key per message; it is
  now a few IN queries and batched INSERTs (163 → 137 MB peak). The digests no longer hold ORM
  reports and tasks per batch: the bot's run at 20,000 (`python -m bench.memory`), side by side
  on the same copy, 152 MB before and 148 MB after. The full recompute holds one chunk (see
  above) and `python -m bench` reports its peak beside the bot's.
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
    bot, _, recompute = memory.partition(" | ")
    if bot:
        lines += ["", f"Bot process, {large:,} cadres on SQLite, queueing and rendering the "
                  f"week's digests for everyone (`python -m bench.memory`): {bot} "
                  "(goal ≤ 150 MB)."]
    if recompute:
        lines += ["", f"Full recompute, {large:,} cadres on SQLite (`python -m "
                  f"bench.recompute_memory`): {recompute} (goal ≤ 300 MB)."]
    lines += ["", "## 5. The scoring core alone", "",
              f"Assessees of 40 tasks scored per second, one process: median "
              f"{statistics.median(rates):,.0f} (range {min(rates):,.0f}–{max(rates):,.0f}).",
              FINDINGS]
    return "\n".join(lines) + "\n"
