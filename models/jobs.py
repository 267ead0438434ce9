"""Heavy work, queued durably and run beside the bot: the `job` table.

The bot enqueues a job in the transaction of the tap that asks for it and answers at once; a
worker (`kaohe worker`, bot/worker.py) or, in the embedded default, the bot process's own job
loop claims it with a lease (models/claims.py), runs it in one transaction that also marks it
done and queues the outbox row telling whoever asked. A killed worker's job is taken over when
its lease runs out; every job kind is safe to run again (its work is replanned or recomputed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlmodel import col, select

from models import outbox
from models.claims import free_for, take_turns
from models.outbox import Kind
from models.store import Ctx, Store
from models.tables import BotState, Cadre, Job, Period
from models.views import active_period
from models.vocab import FAILED, PENDING

DONE = "done"
LEASE = timedelta(minutes=15)  # longer than any job runs (a full recompute: about a minute)
MAX_ATTEMPTS = 3  # a job that failed this often is left failed, for the admins to see
# A failed try waits this long times its number before the next (a database restarting, a
# disk filling up): tried again at once, it would fail again at once.
RETRY_AFTER = timedelta(seconds=30)
POLICY = ("policy", "fingerprint")  # bot_state: the scoring policy the standings were made with


class JobKind(StrEnum):
    DIGESTS = "digests"  # 管理 → 立即发送本周简报: queue this week's digests for everyone
    RECOMPUTE = "recompute"  # every standing of a period, after the scoring policy changed
    IMPORT = "import"  # an .xlsx an admin sent to the bot (ui/excel_jobs.py: import_job)
    PREVIEW = "preview"  # 管理 → 年度评定: the rating preview (models/rating_preview.py)
    FIGURES = "figures"  # the dashboard's per-unit 总览 figures, kept (models/figures.py)


# A job's payload may carry a file (an import's workbook, base64, at most MAX_FILE_BYTES): it
# is dropped from the row once the job is done or has failed for good, so the table does not
# keep rosters' personal data nor grow by megabytes per import.
FILE = "file"
# An import sent to the bot is queued with Telegram's file_id in the update's own transaction
# (so kill -9 at any moment leaves it queued or not sent at all, never lost) and the runner
# fetches the file when it runs it (bot/jobs.py).
TELEGRAM_FILE = "telegram_file"


def enqueue(ctx: Ctx, kind: JobKind, payload: dict[str, Any] | None = None, *,
            requested_by: int | None = None, dedupe_key: str | None = None) -> Job | None:
    """Queue a job in ctx's transaction; None when one with this dedupe_key exists already."""
    if dedupe_key is not None and ctx.session.exec(
            select(Job.id).where(Job.dedupe_key == dedupe_key)).first() is not None:
        return None
    job = Job(kind=kind.value, payload=payload or {}, dedupe_key=dedupe_key,
              requested_by=requested_by, state=PENDING, created_at=ctx.now)
    ctx.session.add(job)
    return job


def claim(store: Store, claimant: str, lease: timedelta = LEASE) -> Job | None:
    """The oldest waiting job nobody holds, now held by `claimant`; None when there is none."""
    with store.transaction() as ctx:
        take_turns(ctx, "jobs")
        job = ctx.session.exec(select(Job).where(
            Job.state == PENDING, free_for(claimant, Job.claimed_by, Job.claimed_until, ctx.now)
        ).order_by(col(Job.id)).limit(1)).first()
        if job is None:
            return None
        job.claimed_by, job.claimed_until = claimant, ctx.now + lease
        job.attempts += 1
        return job


def waiting(store: Store) -> int:
    """Jobs not done yet (held or not)."""
    with store.session() as session:
        return len(session.exec(select(Job.id).where(Job.state == PENDING)).all())


def finish(ctx: Ctx, job_id: int, claimant: str, result: dict[str, Any]) -> Job | None:
    """Mark the job done in the transaction of its work; None (and the caller rolls back) when
    it is no longer ours: its lease ran out and another worker took it."""
    job = ctx.session.exec(select(Job).where(Job.id == job_id).with_for_update()).first()
    if job is None or job.state != PENDING or job.claimed_by != claimant:
        return None
    job.state, job.finished_at, job.result, job.last_error = DONE, ctx.now, result, None
    job.claimed_by = job.claimed_until = None
    _drop_file(job)
    return job


def give_back(store: Store, job_id: int, claimant: str, error: str) -> None:
    """The job raised: another try later (by any worker), or failed for good."""
    with store.transaction() as ctx:
        job = ctx.session.get(Job, job_id)
        if job is None or job.claimed_by != claimant:
            return
        job.last_error = error[:500]
        # Nobody's, and free for anyone once the pause has run out (claims.free_for).
        job.claimed_by, job.claimed_until = None, ctx.now + RETRY_AFTER * job.attempts
        if job.attempts >= MAX_ATTEMPTS:
            job.state, job.finished_at, job.claimed_until = FAILED, ctx.now, None
            _drop_file(job)
            tell(ctx, job, {"failed": True})  # as the bot apologises for an update that broke


def tell(ctx: Ctx, job: Job, result: dict[str, Any]) -> None:
    """Whoever asked for the job hears what came of it (through the outbox, once)."""
    if job.requested_by is None:
        return
    recipient = ctx.session.get(Cadre, job.requested_by)
    if recipient is not None:
        outbox.enqueue(ctx, Kind.JOB_DONE, {"job": job.kind, **result}, recipient=recipient,
                       dedupe_key=f"job-done:{job.id}")


def _drop_file(job: Job) -> None:
    if FILE in job.payload:
        job.payload = {key: value for key, value in job.payload.items() if key != FILE}


# -- a changed scoring policy ----------------------------------------------------------------


def fingerprint(ctx: Ctx) -> str:
    """Names the scoring policy in force (config.toml [scoring]): a change of a category's
    weight, a grade factor, … gives another."""
    return hashlib.sha256(repr(ctx.rules).encode()).hexdigest()[:16]


def recompute_if_policy_changed(ctx: Ctx) -> Job | None:
    """At start: when the standings were made under another policy, queue their recompute
    (once, however many processes start with the new policy). The first start only notes it."""
    # The bot and its workers start together: one at a time here, or on a fresh database each
    # finds no note and all but one die at start on its primary key.
    take_turns(ctx, "policy")
    now_in_force = fingerprint(ctx)
    row = ctx.session.get(BotState, POLICY)
    if row is not None and row.data == now_in_force:
        return None
    if row is None:
        ctx.session.add(BotState(kind=POLICY[0], key=POLICY[1], data=now_in_force,
                                 updated_at=ctx.now))
        return None
    period = active_period(ctx.session)
    row.data, row.updated_at = now_in_force, ctx.now
    if period is None:
        return None
    return enqueue(ctx, JobKind.RECOMPUTE, {"period_id": period.id},
                   dedupe_key=f"recompute:{period.id}:{now_in_force}")


def recompute(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    """The RECOMPUTE job: every standing of the period, under the policy in force."""
    from models.standings import refresh_all  # the heavy part, imported where it is used

    period = ctx.session.get(Period, int(payload["period_id"]))
    if period is None or period.locked:
        return {"count": 0}
    return {"count": refresh_all(ctx, period)}


Runner = Callable[[Ctx, dict[str, Any]], dict[str, Any]]
