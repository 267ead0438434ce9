"""Running the heavy jobs of models/jobs.py (the digest run, a recompute after a policy change,
an import sent to the bot, the rating preview, the dashboard's figures): a loop like the
sender's, beside the update loop.

In the embedded default (`kaohe run`) the bot process runs this loop itself; with
[workers] external = true only `kaohe worker` processes run it. Each job runs in a thread, in
one transaction with its completion and the outbox row that tells whoever asked, so a person's
tap is answered by the update loop meanwhile and a job is done once or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from bot.config import ScheduleSettings
from bot.scheduler import queue_digests
from models import figures, jobs
from models.claims import EMBEDDED
from models.jobs import JobKind, Runner
from models.rating_preview import preview_job
from models.store import Ctx, Store
from models.tables import Job
from ui import excel_jobs

log = logging.getLogger(__name__)


def runners(settings: ScheduleSettings) -> dict[str, Runner]:
    """What each kind of job does (its work, in the job's transaction)."""
    return {
        JobKind.DIGESTS.value: lambda ctx, _: {"count": queue_digests(ctx, settings)},
        JobKind.RECOMPUTE.value: jobs.recompute,
        # Looked up when run (tests hold an import at a gate).
        JobKind.IMPORT.value: lambda ctx, payload: excel_jobs.import_job(ctx, payload),
        JobKind.PREVIEW.value: preview_job,
        # Run in two steps by KEEPS below; this is the same work in one transaction.
        JobKind.FIGURES.value: lambda ctx, payload: figures.write(ctx, figures.look(ctx, payload)),
    }


# Jobs that only read (the rating's preview: 20 s of work at 20,000 cadres). They run in a
# reading transaction, so on SQLite nobody's writes wait for them; only finishing the job and
# queueing its message take the write lock.
LOOKS = frozenset({JobKind.PREVIEW.value})

# Jobs that keep what they found (the dashboard's figures: seconds of reading at 20,000
# cadres): worked out in a reading transaction, then written in the short one that finishes
# the job.
Look = Callable[[Ctx, dict[str, Any]], Any]
Write = Callable[[Ctx, Any], dict[str, Any]]
KEEPS: dict[str, tuple[Look, Write]] = {JobKind.FIGURES.value: (figures.look, figures.write)}


class JobRunner:
    def __init__(self, store: Store, settings: ScheduleSettings, *, claimant: str = EMBEDDED,
                 idle_seconds: float = 5.0, on_done: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self.claimant = claimant
        self.runners = runners(settings)
        self.idle_seconds = idle_seconds
        self.on_done = on_done  # wake the sender: the job may have queued messages
        self._wake = asyncio.Event()
        self._stopped = False
        self._lock = asyncio.Lock()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """End `run` after the job in hand."""
        self._stopped = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopped:
            self._wake.clear()
            try:
                await self.drain()
            except Exception:  # the loop must outlive a bad moment (the database restarting)
                log.exception("running jobs failed; trying again shortly")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.idle_seconds):
                    await self._wake.wait()

    async def drain(self) -> int:
        """Run waiting jobs until none is left for this runner; returns how many ran."""
        async with self._lock:
            done = 0
            while not self._stopped:
                job = await asyncio.to_thread(jobs.claim, self.store, self.claimant)
                if job is None:
                    return done
                if await asyncio.to_thread(self.run_one, job):
                    done += 1
                    self.on_done()
            return done

    def run_one(self, job: Job) -> bool:
        """One claimed job, its completion and its notice in one transaction (retried after a
        deadlock). False: it failed (given back for another try) or another worker has it."""
        runner = self.runners.get(job.kind)
        assert job.id is not None
        if runner is None:
            jobs.give_back(self.store, job.id, self.claimant, f"unknown job kind {job.kind!r}")
            return False
        log.info("job %s (%s) started", job.id, job.kind)

        looked: list[Any] = []

        def look(read: Look) -> None:  # worked out without the write lock, finished in a moment
            with self.store.reading() as ctx:
                looked.append(read(ctx, dict(job.payload)))

        def work(ctx: Ctx) -> bool:
            if job.kind in KEEPS:
                result = KEEPS[job.kind][1](ctx, looked[0])
            else:
                result = looked[0] if looked else runner(ctx, dict(job.payload))
            finished = jobs.finish(ctx, job.id or 0, self.claimant, result)
            if finished is None:  # its lease ran out and it is someone else's now
                ctx.session.rollback()
                return False
            jobs.tell(ctx, finished, result)
            return True

        try:
            if job.kind in LOOKS:
                look(runner)
            elif job.kind in KEEPS:
                look(KEEPS[job.kind][0])
            ran = self.store.run(work)
        except Exception as exc:
            log.exception("job %s (%s) failed", job.id, job.kind)
            jobs.give_back(self.store, job.id, self.claimant, f"{type(exc).__name__}: {exc}")
            return False
        log.info("job %s (%s) %s", job.id, job.kind, "done" if ran else "taken over")
        return ran

