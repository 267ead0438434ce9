"""docs/PERFORMANCE.md from the figures `python -m bench` measured, with what they mean."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from bench.throughput import GOAL, PROFILE_BELOW, TOGETHER, Comparison
from bot.sender import BATCH as SENDER_BATCH
from bot.worker import BATCH as WORKER_BATCH

FINDINGS = """
## What was found, and what changed

Each figure above was profiled (cProfile, and SQL statements timed one by one); the causes and
the fixes, in the order they were found:

- **An approval cost time in proportion to the organisation.** It re-ranked the cadre's whole
  post category (thousands of rows at 20,000 cadres). Ranks were then kept incrementally
  (`_move`, since gone: see "an approval's cost no longer grows" below): a total moving from a
  to b shifted by one the rank of the others with a ≤ total < b in one UPDATE, and the cadre's
  own rank was one COUNT. That alone still measured 55 ms + 55 ms at 20,000: each standing row
  carried its per-task breakdown (about 5 KB of JSON for 40 tasks), so every shifted rank
  rewrote kilobytes and the COUNT read overflowing rows. The breakdown moved to its own table
  (migration 0006) and the rank groups got partial indexes per kind of assessee, which the COUNT
  reads without the table: the two statements then took about 3 ms together. An index that held
  only NULLs (task.parent_id) made SQLite scan 800,000 tasks on every recompute once statistics
  existed; it is partial now.
- **The fixed work of an approval** was 31 SQL statements through the ORM. Two causes of
  reading what was already known: `models/access.load` passed `with_for_update=False`, which
  makes SQLAlchemy skip the session's identity map (it looks there only when the argument is
  None), and the map holds rows weakly, so the cadre, the unit and the period an operation
  loads, drops and loads again were read two or three times per approval; rows loaded are now
  held for the transaction. And the standing was loaded as an ORM object with its 5 KB
  breakdown to be compared and flushed; an approval that leaves the standing in its groups now
  reads the few columns it needs as a plain row and writes score and breakdown with plain
  statements (`_rescore_in_place`). 24 statements then, counted: the access checks, the report
  and its audit row, the period's lock, the cadre's facts (tasks, parts of decomposed tasks,
  approved reports, the cadre, innovation claims: five plain queries, re-scoring 40 tasks takes
  0.3 ms), the standing, the two rank moves, the outbox row (the rank moves are two COUNTs now).
  Measured side by side with the previous code while other work loaded the machine (load
  average 9–12 on two cores, so wall-clock times meant nothing), `approve_report`'s own CPU
  time fell by about a fifth: SQLite 16.9 → 13.3 ms at 2,000 cadres and 18.4 → 14.9 ms at
  20,000; PostgreSQL 18.4 → 15.0 ms and 20.8 → 17.1 ms.
- **An approval's cost no longer grows with the organisation: ranks are counted when read.**
  What grew was the rank move. At 20,000 cadres a post category holds 13,320 cadres, about eight
  per 0.01 point, so an approval worth two points moved the cadre past some 1,900 others, and
  stored competition ranks meant rewriting each of those rows, on pages all over the table: on
  SQLite nearly every page of `standing` went to the write-ahead log and the commit triggered a
  checkpoint (UPDATE 2.2 ms and COMMIT 14 ms for 1,907 rows, against 0.45 and 0.5 ms for 189 at
  2,000 cadres); on PostgreSQL the UPDATE took 43 ms on the loaded machine and left some 1,900
  dead row versions per approval, so that the cadre's own COUNT became a scan of a bloated table
  whenever autovacuum fell behind. Ranks are not stored any more (migration 0013 drops
  `rank_in_unit` and `rank_in_post`). models/ranks.py, the one place ranks come from, counts
  them from the stored totals through the rank-group indexes on (period, group, total): one
  assessee's (the approval's notice, 我的得分, /whatif, the Mini App's person page) with two
  index-only COUNTs; many at once (a batch of digests, the boards, the dashboard, the export,
  the daily history, `kaohe standings`) from each group's histogram of totals, one GROUP BY for
  the units wanted and one per post category, whatever the number of people. An approval now
  writes its own standing and breakdown and nothing else; the narrow rank table clustered by
  (period, group, total) considered before was not needed. Measured side by side with the
  previous code on fresh copies of the shared data, in one run for both sizes (200 approvals per
  case, the same picks for old and new code, rounds alternating), with the machine loaded by
  other work (load average 8–12 on two cores: wall times of 50–70 ms meant nothing), as CPU time
  of the approving thread, commit included (SQLite's work is in that thread): SQLite median 7.9
  → 7.8 ms at 2,000 cadres and 11.8 → 8.9 ms at 20,000, p95 10.8 → 10.7 and 16.1 → 13.6 ms; the
  20,000 / 2,000 ratio of the median 1.50 → 1.13, of the p95 1.49 → 1.27 (in an earlier run of
  the same kind, at 20,000: 12.4 → 6.1 ms median, 17.1 → 9.3 ms p95). PostgreSQL, whose work is
  in the server and so shows only in wall time (copies of the same SQLite data loaded into
  PostgreSQL, load average 13): median 88 → 65 ms at 2,000 and 134 → 89 ms at 20,000, p95 197 →
  128 and 252 → 167 ms; with the machine that loaded, those are mostly waiting for a core, and
  neither the 15 ms goal nor the 1.2 ratio can be judged from them (the statements themselves:
  the cadre's COUNT in a post category of 6,680 is an index-only scan of 0.1–0.5 ms, no heap
  fetches, as no approval leaves dead rows behind but its own). What still grows a little: the
  COUNT of the cadre's own place in the post category reads the index entries above them (about
  6,600 at 20,000 for a cadre in the middle, a fraction of a millisecond). The price is paid by
  readers that rank many: a batch of 50 digests reads the histograms of its post categories
  (about 2,200 distinct totals each at 20,000) where it read 50 stored numbers, about 5 ms per
  batch on SQLite: rendering all 20,000 digests took 6.0 → 8.3 s of CPU (PostgreSQL at 2,000:
  0.93 → 0.83 s). The sender's own batches, which also rate the batch's pools (below), cost
  hundreds of milliseconds each and hardly notice. Each post category is its own query: SQLite
  read a GROUP BY over several categories (or with the category among the grouped columns)
  through the table, 9–20 ms instead of 1.3 ms.
- **Scoring** moved from `fractions.Fraction` to GMP rationals (gmpy2): a 40-task assessee
  2.9 ms → 0.27 ms, the same exact numbers (every case of cases.json and the property tests).
- **Full recompute (`kaohe check`).** ORM objects for every task, `Fraction` arithmetic and IN lists
  compiled into SQL dominated at first; facts then loaded as plain rows with one join for the
  period's approved reports, but all 800,000 tasks at once: 64 s and 2 GB at 20,000 cadres (measured
  again here: 2.0 GB peak, 42 s of CPU). The recompute is now streamed (models/recompute.py): a
  chunk of 1,000 cadre ids at a time, read as raw rows through the indexes on (period, cadre) and
  (task, occurrence), put together by FactsLoader's own assembly (so a recompute sees exactly what
  an approval sees), scored, compared against that chunk's stored rows (raw scaled integers,
  breakdowns decoded from their JSON), and let go; the assessed units are the last chunk. Nothing is
  kept across chunks (ranks are counted on read, not stored, so there is no rank to check).
  `check(..., workers=N)` spreads the chunks over forked processes, each with its own engine, all
  reading the moment the caller sees: on SQLite the caller's transaction holds the write lock (BEGIN
  IMMEDIATE) until the workers are done, on PostgreSQL the caller's snapshot is exported and each
  worker imports it (SET TRANSACTION SNAPSHOT). The differences come back in the same order as one
  pass lists them (tests/models/test_recompute.py compares both on a tampered database, on both
  engines). `kaohe check` and the bench use every core. `refresh_all` is streamed the same way in
  its own transaction (it must see what that transaction has written), one process, each chunk's
  rows expunged after they are flushed; ranking its groups reads standings without their breakdowns.
  Breakdown figures are formatted from the exact value's integer parts (`scoring.round2_text`, the
  same text as `str(round2(x))`, checked by a property test) instead of through a Decimal. Figures,
  20,000 cadres, measured on the shared 2-core machine while other sessions ran their test suites
  (load average 8–12, so wall times are 2–3× what an idle machine gives; CPU seconds compare
  better): peak memory 2.0 GB → 148 MB in the parent and 180 MB in the larger worker; CPU 42 s → 35
  s (2,000 cadres side by side: 4.0 s → 3.0 s); wall time with two workers 90 s against 175 s for
  one process in the same run. On PostgreSQL: 29 s of CPU in the command and its workers (the
  server's own not counted), peaks 157 MB and 186 MB. That left per-task Python at about 1.5 ms of
  CPU per 40-task cadre (cProfile with a CPU clock): FactsLoader's assembly and effective progress
  about 45 %, the scoring core about 20 %, the stored breakdown's 160 figures per cadre about 20 %,
  fetching rows about 10 %. Rounding in plain integers had been tried and was no faster than GMP's
  rationals: the cost was the interpreter's per-task work (a TaskFacts, a TaskInput and a TaskScore
  per task, validation and each step looking the policy up again), not the arithmetic, so exact
  fixed-point over a common denominator was not the lever either (progress on a numeric target, or a
  monthly task's mean of graded pieces, is not a fixed-point number anyway).
- **Full recompute, the fast path.** `check` now first tries each chunk of cadres on a path that
  can only say "every stored standing of this chunk is right" (models/lean_check.py): four plain
  queries read through the driver's cursor (tasks ordered by cadre, the approved reports joined
  to them ordered by task and decision, the cadres, the innovation claims), each task stays a
  tuple from its row to its breakdown, the common one-off task's progress is worked out inline
  (its breakdown text read straight from the stored hundredths), and `scoring.lean.score_lean`
  scores the tuples with the policy folded once per (post category, profile). `score_lean`
  repeats the scoring steps rather than calling the core, so tests/scoring/test_lean.py holds it
  to `score_assessee` as exact rationals (shares, points, qualities and every figure), on every
  assessee of cases.json (members of the unit cases included) and on 900 generated assessees
  that stray outside the valid ranges, and it answers None wherever the core refuses. Any
  difference, a task split into parts, input the core refuses, a standing missing or left over
  and the chunk goes through the exact path as before, which reports what it finds; so the
  differences `check` lists cannot change (tests/models/test_lean_check.py damages each of 18
  fields or rows in turn and compares with the exact path alone; on a varied organisation with
  boosts, numeric targets, grades, growth profiles and claims every chunk is confirmed with the
  exact path's totals). A stored breakdown is compared as its JSON text first (SQLite
  hands back the text json.dumps wrote, in the same order), and decoded only when the text
  differs; it is read as text on PostgreSQL too (`CAST(... AS TEXT)`: its json type keeps the
  text written). Side by side on copies of the
  20,000-cadre data, the previous code (main) and this one alternating, on the shared two cores
  (wall times there are several times an idle machine's; the CPU of the command and its two
  workers compares, the PostgreSQL server's not counted): SQLite, three runs each at load
  average 13–16, medians 27.2 s → 8.5 s of CPU (wall 112 s → 38 s); PostgreSQL, three runs each
  at load average 6–9, medians 22.6 s → 7.0 s of CPU (wall 60 s → 16 s); at 2,000
  cadres on PostgreSQL, three runs, 2.8 s → 1.2 s (wall 10.8 s → 5.0 s). Peak
  memory at 20,000: 157 MB in the parent and 166 MB in the larger worker on SQLite (were 156
  and 187), 165 and 174 MB on PostgreSQL (were 162 and 191). A chunk of 1,000 cadres now costs
  about 0.35 s of CPU on SQLite: a third reading the facts (SQLite's index and row lookups for
  40,000 tasks and 50,000 reports), the rest scoring and comparing, about 5 µs per task. By the
  previous code's own ratio of CPU here to its idle time in the table above (27.2 s ↔ 14.0 s on
  SQLite, 22.6 s ↔ 17.0 s on PostgreSQL) the 20,000-cadre check comes to about 4.4 s idle on
  SQLite and 5.2 s on PostgreSQL: the 5 s goal met on SQLite and just missed on PostgreSQL,
  by estimate, not confirmed on an idle machine here. What would cut it further: a covering
  index for the task columns read. (Since then ranks are counted on read, so the rank check of
  0.3 s in the parent after the workers is gone; §3 above is this code on a quiet machine.)
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
- **Digests, the ranks (issue 14 item 4, third look).** Counting ranks on read had cost more
  than the 5 ms per batch expected: each batch of 50 holds both post categories, so 800
  histograms were read for 20,000 digests, 3.0–3.7 of 8.4 s of CPU. SQLite 3.40 did not read
  the partial rank indexes alone (EXPLAIN: `USING INDEX`, not `COVERING`), and PostgreSQL,
  on never-vacuumed data, scanned, hashed and sorted, about 5 ms a histogram. Now a batch's
  post-category ranks come from a snapshot of the category's totals kept per database for 60 s
  (`models/ranks.py` `PostSnapshots`), used only when it holds each of the batch's cadres with
  the exact total the batch read, else read again: the rank shown is always the rank of the
  total shown, as of the snapshot, and misses at most a minute of other people's moves (a
  weekly digest run takes ten minutes to go out anyway). The rank in the unit is a correlated
  COUNT in the statement that reads the totals. Migration 0015 adds the cadre to the two cadre
  rank indexes so SQLite reads them alone (a histogram 4.3 → 2.0 ms; an approval's `ranks_of`
  0.83 → 0.58 ms of CPU). The deadline search works each (schedule, approvals) case out once
  per process and day (336 cases among 160,000 recurring tasks), with its statements built
  once, 2.6 → 1.3 s of CPU; one Renderer per language per batch. The texts are byte-identical
  (16,000 digests, 2,000 cadres × 4 weeks × 2 languages, against the previous code, both
  databases). Side by side, alternating, 6 rounds, load average 2.7–4.4: 20,000 digests 8.60 →
  4.06 s of CPU on SQLite, 8.31 → 4.15 s on PostgreSQL (server active time 4.9 → 1.3 s).
  Left: Jinja 1.15 s, the deadlines 1.3–1.6 s.
- **Full recompute on PostgreSQL.** EXPLAIN (ANALYZE, BUFFERS) of a 1,000-cadre chunk: the
  approved reports were a parallel sequential scan of all 1.09 million reports and a hash join,
  320–330 ms a chunk. Bounded by the range of the chunk's task ids (known from the tasks query
  just before) it is an index range scan, 65–79 ms; the results are the same. Only on
  PostgreSQL, whose planner sees the bound values (SQLite cannot size a range of parameters and
  would scan). A covering task index was tried and dropped: it helped only after a VACUUM.
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
- **Full recompute on PostgreSQL, the server's share of two cores.** The check took 6.2 s on
  PostgreSQL against 4.6 s on SQLite: the server's CPU (running each chunk's queries, sending
  the rows) shares the two cores with the two workers. Measured on the backends (/proc) and by
  EXPLAIN ANALYZE per 1,000-cadre chunk: the test for a task split into parts read all 800,000
  tasks (55–67 ms a chunk; it starts from the partial index on parent_id now, 0.05 ms); the
  approved reports were a parallel hash join (two more server processes competing with the
  workers, 56 ms), now a range scan of report alone when the chunk's task ids are one range,
  as the chunks' tasks are (the join otherwise; 21 ms), and the workers' connections run
  without parallel query; sorting the chunk's 40,000 tasks was 40 % of that query's server
  time, and they are sorted in the worker (they come nearly in order). In the workers, the
  breakdown's expected JSON text is written directly instead of built as dicts and encoded.
  What is compared, and what a difference sends to the exact path, is unchanged. Side by side
  on one copy, alternating, under load average 2.3–4.5: PostgreSQL 20,000 cadres, 6 rounds,
  wall median 11.4 → 7.4 s (best 6.7 → 4.9 s), the workers' CPU 7.0 → 5.9 s, the server
  backends' 2.6 → 1.2 s (before, not counting its parallel workers); SQLite, 4 rounds, 10.3 →
  6.8 s, CPU 8.7 → 7.5 s. Workers' peak RSS 163 MB both. What is left is the workers' Python
  (exact rationals, 4.4 µs a task) and the rows' decoding; the reports' sort (on decision
  time) stays on the server: done in the worker it cost more than it saved.
- **Memory.** Queueing 20,000 digests loaded a Cadre and checked a dedupe key per message; it is
  now a few IN queries and batched INSERTs (163 → 137 MB peak). The digests no longer hold ORM
  reports and tasks per batch: the bot's run at 20,000 (`python -m bench.memory`), side by side
  on the same copy, 152 MB before and 148 MB after. The full recompute holds one chunk (see
  above) and `python -m bench` reports its peak beside the bot's.
  Then 157 MB once check's fast path came: its table of shown hundredths (7 MB) was built on
  import in every process; it is made when a check first needs it. And openpyxl, imported at
  start through the Excel job's module, brought numpy with it (35 MB together) into a bot that
  may never see a workbook; it is imported when a workbook is first read or written. Side by
  side on one copy: 154 → 124 MB for the bot rendering 20,000 digests.
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
  The ratio is still far below 0.5. `python -m bench` profiles the conversations whenever it
  is below 0.3 (bench/why.py, rendered above). What the profile showed, and what changed:
  the person was three statements (the cadre, a supervision, a delegation) on every update and
  a door ran as a savepoint (two more statements) although it only reads; now one prepared
  statement reads the cadre with "supervises or reviews for someone today" as a column
  (`models/views.py` `writer_by_telegram`), and a door runs in the update's transaction
  without a savepoint (`Unit.check`; a refusal is still audited in the update). A row a door
  loaded stays in the session for the transaction (`models/access.py` `find`), so the handler
  does not read the task again; a locking read still does, and overwrites the copy
  (`populate_existing`: without it SQLAlchemy keeps the copy read before the lock, and two
  supervisors tapping at once both saw the report waiting — the PostgreSQL test caught it).
  A tap on a task reads that task's line alone (`task_line`), not the cadre's forty tasks and
  their year of reports. The duplicate guard, the "handled" row and the conversation states
  are prepared plain statements; audit rows are one plain INSERT instead of passing through
  the session's unit of work (the session's flushes took 1.1 s of 2.9 s profiled for 140
  updates, 0.2 s after). On SQLite, statements that only take a row lock are left out
  (`Ctx.locks_rows`): the transaction holds the database from BEGIN IMMEDIATE. 14.6
  statements per update now (18.7 before), still one commit. Measured side by side with the
  previous code on the same copy, both in one sitting while other sessions loaded the machine
  (load average 10–12 on two cores, so the echo bot managed only 490–510 updates/s instead of
  3,500): 24.5 → 58.4 updates/s, 98.6 → 60.0 ms per update under the profiler, SQLAlchemy's
  share 59 % → 42 %; process CPU per update (sender included), three alternating runs of 40
  conversations, median 13.9 → 9.4 ms. On a quiet machine (the table above) the ratio is
  about 0.03 and the per-update profile shows the same shares.
  What remains per update is about fifteen statements through SQLAlchemy (building,
  cache keys, ORM rows; sqlite3 itself about a seventh), python-telegram-bot's objects, and
  four or five hops to a worker thread. The echo bot's whole update costs less than two of
  those statements, so half its rate needs an update that reads and writes almost nothing
  through SQLAlchemy: the person cached across updates (invalidated by the operations that
  change people and roles), the conversation steps that only record what was typed kept in
  memory until the step that writes, statements executed on the raw connection. The
  approval itself (re-scoring 40 tasks and two rank moves, 31 statements with the guard, the
  person and the cards refreshed) and the submission (19, the reviewers and their cards) are
  half of a conversation's statements; the two skips are 5 and 7.
  The throughput bench had also stopped measuring anything when delivery moved to the
  sender's own loop (the supervisor's card never arrived); it now runs the sender as the bot
  does and waits for the card and the decision.
- **Machines of this kind differ.** The figures above and the last stop's were measured on two
  machines of the same kind a day apart, each quiet: the scoring core 6,379 → 4,804 assessees/s
  and the echo bot 5,103 → 3,100 updates/s for the same code, so everything here is about 1.3–1.6
  times slower than there (the PostgreSQL approval p95 11.2 → 20.8 ms at 2,000, missing its
  15 ms here; side by side on one copy, alternating, 150 approvals × 3, the previous code took
  12.6 / 13.7 / 14.3 ms median and this stop's 14.6 / 15.1 / 13.9 ms: the same within the noise).
  Only figures measured side by side in one run compare.
- **Updates per second, the waits (issue 14, again).** cProfile sees only the update's own
  thread; sampled across every thread (py-spy), a conversation spent about a third of its wall
  time waiting for the supervisor's card and the decision's notice, and most of the worker
  threads' samples were in SQLite's busy handler: the sender and the job runner were woken
  after every update, each looked in a write transaction (BEGIN IMMEDIATE) and waited behind
  the next update, and SQLite's busy handler sleeps 1, 2, 5, 10 … 100 ms between looks, so they
  got the lock long after it was free. Now the bot wakes the sender only after an update that
  queued a message and the job runner only for a job (`models/store.py` `noting_inserts`);
  writers in one process take turns on the SQLite file through a lock handed over at the
  holder's COMMIT or ROLLBACK (`_WriterTurns`; other processes still meet the busy handler);
  and on SQLite a claim takes no `turns` row (the transaction holds the one write lock
  already). Side by side with the previous code on one copy, alternating, 40 conversations
  each, load average 3.8 (other work on the machine): 80.8 / 78.6 / 73.0 → 93.4 / 96.0 / 90.1
  updates/s; process CPU per update, sender included, 10.4 → 10.3 ms: the gain is waiting
  removed, not work. The work itself (above) is what stands between this and the goal.
- **Digests at the product's batch, and cheaper batches (issue 14 item 4, fourth look).** The
  bench rendered 50 digests at a time on both databases; a `kaohe worker`, which renders them
  on PostgreSQL, takes 200 (`bot/worker.py` BATCH), and only the bot's embedded sender on
  SQLite takes 50 (`bot/sender.py` BATCH). The bench now uses each. Profiled at 20,000 on
  PostgreSQL (cProfile, and each statement timed): SQLAlchemy and psycopg re-rendered and
  re-parsed every statement with a batch's ids (one placeholder per id: 1.1 of 6 s of CPU
  under the profiler); the reports of the batch's tasks, found by joining the tasks again, were
  planned in parallel (two server workers started per batch: 10 ms, 4 ms without); the
  totals a week ago scanned the period's whole history each batch (40,000 rows here, a year
  of weekly rows in use); and Jinja's checks on each call from a template (for a
  pass_context mark) were a third of a digest's rendering. Now a batch's ids are one array
  parameter on PostgreSQL (`models/raw.py` `one_of`, `= ANY`; an expanding IN elsewhere),
  the reports are read by the tasks' ids, one array per recurrence, the history by the
  batch's cadres, and the translator and a date's isoformat are called directly
  (`ui/render.py` `_Context`); the task lines are ordered with `attrgetter` and a task with
  nothing reported skips the drafts. The texts are byte-identical to the previous code's:
  every digest of the 2,000-cadre data on both databases in three weeks (23 November and
  2 March in Chinese, 6 July in English), and of the 20,000 on both. Side by side on one copy,
  alternating, 4 rounds, load average 1.6–2.7, medians wall (CPU): PostgreSQL, batches of
  200, 4.91 s (3.06) → 2.91 s (2.13), and the previous code at the bench's former 50 took
  4.86 s (3.44); SQLite, batches of 50, 3.64 s (3.54) → 2.78 s (2.71). What is left, CPU at
  20,000: the deadline search 1.1 s (a third of it the two queries' rows), Jinja 0.7 s,
  garbage collection 0.15–0.45 s (full collections over the bench's 345,000 objects, the
  session's 20,000 cadres among them; `gc.freeze()` after a worker's start-up might spare it
  part of that: not tried). Seen on the way: a week's decisions were ordered by decision
  time only, so two decided at the same instant (many in the bench data) came in the order the
  plan happened to give (it differed between batches of 50 and 200 on PostgreSQL); the report's
  id breaks such ties now.
- **An approval, a third look (issue 14 item 2).** Traced statement by statement on
  PostgreSQL, an approval ran 22 statements (about 4 ms of round trips) and spent the rest of
  its 12–16 ms in Python, a tenth of it building SQLAlchemy statements anew on every call.
  Now: the report is locked and read together with its task, the task's cadre and unit and the
  period (`models/reports.py` `_locked_with_its_task`: the access checks then find them in the
  session); the standing's UPDATE finds its row itself (RETURNING, no SELECT before it); both
  ranks come in one statement; the outbox queues with INSERT … ON CONFLICT DO NOTHING on the
  dedupe key (no look first, and two transactions queueing one key no longer meet the
  constraint); the assessee's tasks and the parts they were decomposed into come in one
  statement, as the recompute's chunks read them; and every statement an approval runs for
  its facts, its standing, its ranks and the period's lock is built once with bound
  parameters (id lists as one parameter, `models/raw.py` `one_of`), so PostgreSQL also
  prepares their unchanging texts. 14 statements now. Side by side at 20,000 cadres on fresh
  copies (150 approvals per round, rounds alternating with the code this stop started from,
  load average under 1): PostgreSQL median 15.3 / 18.3 / 17.0 → 12.5 / 11.6 / 12.3 ms, p95
  17.7 / 22.7 / 20.4 → 15.9 / 13.5 / 14.2 ms; SQLite median 7.4 / 7.3 → 5.3 / 5.5 ms.
- **The digest run's delivery rate, once more.** The outbox may use 29 of the 30 slots while
  the bot answers people (one is kept for the bot), and each slot is busy from its start until
  a second after its answer, so the run can reach 29 / (1 + c) a second, c being what a slot's
  turn costs beyond the second: taking it, the send's round trip, the lane being ready. In
  bench_tap's runs of 30 s (gaps between messages taken from the simulator) the i-th and
  (i+30)-th messages were a median 1,007–1,011 ms apart, with a tail to 1,050–1,300 ms where
  the machine was busy. Tried side by side, two or four runs each, none beyond the runs'
  spread: the interpreter's switch interval 5 → 0.5 ms in the worker (27.9 and 27.9/s, load
  3–4), its garbage collector's threshold 700 → 50,000 (28.52 / 28.62 against 28.66 / 28.56/s),
  eight lanes instead of four with the worker's even spacing at 60/s instead of 30/s (28.42 /
  28.59 against 28.35 / 28.49/s), the spacing alone (28.29 / 28.66 against 28.43 / 28.23/s).
  What moved the rate was the machine's load: 27.2–27.9/s with load average 3–4 from other
  work, 28.2–28.7/s below 2. Nothing was changed.
- **The digest run's delivery rate, traced.** The worker wrote, per slot of the budget, when it
  was asked for, taken and answered, and what each lane was doing meanwhile (renewing the
  lease, waiting for the even spacing, sending, marking the row). The freed slots that went
  unused came in clusters of about a second, every 7 s: while the thread rendering the next
  batch of 200 ran (2.0–2.8 s of its CPU per batch; cProfile inside the worker). Of that, five
  supervisors' standings charts were 1.3–1.5 s of matplotlib, much of it C code (glyph layout,
  the PNG encoder) that holds the interpreter lock throughout; the 195 cadre digests 0.3 s,
  half of it picking the rows (two reads per row, each flushing the claims so far) and
  splitting texts that fit into tokens. Changed: a worker draws the standings charts in its
  chart process (`ChartPool.standings`), runs at a 0.5 ms switch interval instead of 5 ms
  (bot/worker.py), reads a batch's recipients and units in two statements, and sends a text
  that fits without tokenising it (0.55 → 0.004 ms). Runs of 60 s, one after the other on the
  quiet machine: charts in the thread, 5 ms: 27.7 / 27.8/s; charts in the pool, 5 ms: 27.7 /
  27.8 / 26.7/s; the 0.5 ms interval alone: 28.4 / 28.4/s; both: 28.5–28.7/s in ten runs
  (the chart process niced or not, the even spacing at 30/s or 60/s: the same). The batch's
  CPU 2.0–2.8 s → 0.8–1.3 s, the picking and splitting 0.32 → 0.16 s for 195 digests; the
  worker's RSS 387 → about 260 MB. What remains is the budget's own ceiling: every message the
  bot sent came to 29.6/s (the run 28.6 and the taps' answers 1), each slot busy a second plus
  about 14 ms.
- **Updates per second, the floor.** Kaohe's conversations are now measured eight at a time as
  well (the Application still handling one update at a time): one at a time, a conversation
  spent 20 of its 58 ms waiting for the card and the notice to come through the outbox, and
  together it handles about 20 % more updates a second. Per step (median, one at a time): the
  /report list 6.3 ms, the task 5.7, the progress typed 3.8, the two skips 1.8 and 2.6, the
  submission 6.4, the approval 10.6; of each, 1.0–1.7 ms on the event loop (python-telegram-bot,
  the conversation, the answer) and the rest in the database thread. Beside them, the floor
  under any bot that keeps what Kaohe keeps for every update: the echo bot with one SQLite
  transaction per update (duplicate guard, the person, the conversation state, an outbox row)
  through the sqlite3 module itself reached 0.76–0.78 of the echo bot on the event loop and
  0.33–0.53 with its transaction in a worker thread in four runs of the bench (0.57–0.70 and
  0.30–0.35 in earlier quick runs while the echo bot's own rate swung between 2,300 and 3,800):
  the thread hop alone costs about as much as the echo bot's whole update. Half the echo
  bot's rate would leave Kaohe about 0.5 ms an update, less than its event-loop part alone;
  the next step would be conversation steps that only record what was typed kept in memory
  until the step that writes, and the remaining statements run on the raw connection.
- **Updates per second, the floor on Kaohe's stack.** The floor above uses the sqlite3 module
  and a bare MessageHandler, which Kaohe cannot: its conversations are python-telegram-bot's
  ConversationHandler with their states persisted after every update (a restart resumes them),
  and its statements go through SQLAlchemy on its engine (models/store.py `make_engine`). The
  same four-statement transaction on that stack, with none of Kaohe's own work (no ORM, no
  doors, no templates, no scoring), five alternating rounds of 700 updates, medians: the echo
  bot 4,306 updates/s; through sqlite3 0.78 of it on the event loop and 0.48 in a worker
  thread; on Kaohe's stack 0.38 on the event loop and 0.29 in a worker thread. Taken apart
  (an earlier run of nine variants, five rounds): the persisted ConversationHandler alone,
  nothing written, 0.78; a thread hop alone 0.56; SQLAlchemy Core's four statements alone
  0.48 inline and 0.33 in a thread. So the goal of 0.5 is out of reach for any bot built on
  this stack that keeps Kaohe's guarantees, before it does anything of its own; Kaohe's
  conversations, at 0.03, spend the rest on the ORM rows, the doors, the scoring and the
  texts (the profile above). What the figure means for a city: 110–145 updates a second from
  one bot process, where 20,000 cadres reporting in the last two hours before a deadline (a
  seven-update conversation each) are about 20 a second.
"""


def _throughput(compared: Comparison, small: int) -> list[str]:
    c, ratio = compared, compared.ratio

    def row(bot: str, run: Any) -> str:
        share = run.per_second / c.echo.per_second
        return f"| {bot} | {run.updates} | {run.per_second:.1f} | {share:.2f} |"

    lines = [
        "| bot | updates | updates/s | of the echo bot |", "| --- | --- | --- | --- |",
        row(f"Kaohe, report-and-approve conversations one at a time ({small:,}-cadre SQLite)",
            c.ours),
        row(f"Kaohe, the same, {TOGETHER} conversations going on at once", c.together),
        row("python-telegram-bot's echo bot (the median of three runs, as the next two)",
            c.echo),
        row("the echo bot keeping the guarantees at the least cost, on the event loop", c.floor),
        row("the same, its transaction in a worker thread (as Kaohe's)", c.floor_in_a_thread),
        row("the same on Kaohe's stack (a persisted ConversationHandler, SQLAlchemy Core), "
            "on the event loop", c.stack_floor),
        row("the same on Kaohe's stack, its transaction in a worker thread",
            c.stack_floor_in_a_thread),
        "", f"Ratio {ratio:.2f} (goal ≥ {GOAL}: {'met' if ratio >= GOAL else 'missed'}).",
        "", "One at a time, each conversation also waits for the supervisor's card and the "
        "decision's notice to come through the outbox; together, another person's update is "
        "handled meanwhile (the Application still handles one update at a time). The last four "
        "rows are the floor under any bot that keeps what Kaohe keeps for every update: one "
        "SQLite transaction recording the update against duplicates, reading the person, "
        "writing the conversation's state and queueing an outbox row (bench/throughput.py "
        "`_floor`). The first two run it through the sqlite3 module itself; the last two "
        "through what Kaohe is built on and cannot do without (python-telegram-bot's "
        "ConversationHandler with its states persisted after every update, and SQLAlchemy "
        "Core's plain statements on Kaohe's own engine, no ORM), still without any of "
        "Kaohe's own work: no doors, no templates, no scoring.",
        "", f"A Kaohe update ran {c.counted.statements_per_update:.1f} SQL statements and "
        f"{c.counted.commits_per_update:.1f} commits on average ({c.counted.updates} updates "
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
        "The PostgreSQL data sets are vacuumed once after they are built, as autovacuum would do",
        "in production (this machine's server runs with it off).",
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
    lines += ["", "Rendered in one process through `ui/digests.py` `cadre_digests` (without the "
              "优秀 line and the chart, which the configured rules add), in the batches the "
              f"product renders on that database: {WORKER_BATCH} at a time on PostgreSQL, as a "
              f"`kaohe worker` does (`bot/worker.py` BATCH), {SENDER_BATCH} on SQLite, as the "
              "bot's embedded sender does (`bot/sender.py` BATCH: it renders inside the bot's "
              "process, so it keeps batches small). A batch costs a fixed part (its queries) "
              "and a part per cadre, so larger batches take less CPU for the same digests."]
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
