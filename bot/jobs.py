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
import base64
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot

from bot.config import ScheduleSettings
from bot.scheduler import queue_digests
from models import figures, jobs
from models.claims import EMBEDDED
from models.excel_format import MAX_FILE_BYTES
from models.jobs import FILE, TELEGRAM_FILE, JobKind, Runner
from models.rating_preview import preview_job
from models.store import Ctx, Store
from models.tables import Job
from ui import excel_jobs

log = logging.getLogger(__name__)


def runners(settings: ScheduleSettings) -> dict[str, Runner]:
    """What each kind of job does in one transaction, its completion included."""
    return {
        JobKind.DIGESTS.value: lambda ctx, _: {"count": queue_digests(ctx, settings)},
        JobKind.RECOMPUTE.value: jobs.recompute,
        # Looked up when run (tests hold an import at a gate).
        JobKind.IMPORT.value: lambda ctx, payload: excel_jobs.import_job(ctx, payload),
    }


# Jobs that read for long and write little (the rating's preview: 20 s at 20,000 cadres; the
# dashboard's figures: seconds): what they find is worked out in a reading transaction, so on
# SQLite nobody's writes wait for it, then kept in the short transaction that finishes the job.
Look = Callable[[Ctx, dict[str, Any]], Any]
Keep = Callable[[Ctx, Any], dict[str, Any]]
TWO_STEP: dict[str, tuple[Look, Keep]] = {
    JobKind.PREVIEW.value: (preview_job, lambda _ctx, found: found),  # kept as the job's result
    JobKind.FIGURES.value: (figures.look, figures.write),
}


# Fetches a file sent to the bot by its Telegram file_id (an import's workbook).
Fetch = Callable[[str], Awaitable[bytes]]


def telegram_fetch(bot: Bot) -> Fetch:
    """Fetching through `bot`: the bot's own in the embedded default, a worker's elsewhere (a
    file_id is good for any process of the same bot)."""

    async def fetch(file_id: str) -> bytes:
        content = bytes(await (await bot.get_file(file_id)).download_as_bytearray())
        if len(content) > MAX_FILE_BYTES:  # Telegram said less when it was sent
            raise ValueError(f"the file has {len(content)} bytes, over {MAX_FILE_BYTES}")
        return content

    return fetch


async def _no_fetch(file_id: str) -> bytes:
    raise RuntimeError("this job runner has no bot to fetch files with")


class JobRunner:
    def __init__(self, store: Store, settings: ScheduleSettings, *, claimant: str = EMBEDDED,
                 idle_seconds: float = 5.0, on_done: Callable[[], None] = lambda: None,
                 fetch: Fetch = _no_fetch) -> None:
        self.store = store
        self.fetch = fetch
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
                payload = await self.fetched(job)
                if payload is None:
                    continue
                if await asyncio.to_thread(self.run_one, job, payload):
                    done += 1
                    self.on_done()
            return done

    async def fetched(self, job: Job) -> dict[str, Any] | None:
        """The job's payload, with the file it names by Telegram file_id fetched (kept in
        memory for this run only); None when that failed, and the job was given back."""
        payload = dict(job.payload)
        file_id = payload.get(TELEGRAM_FILE)
        if not isinstance(file_id, str) or FILE in payload:
            return payload
        try:
            content = await self.fetch(file_id)
        except Exception as exc:  # Telegram unreachable meanwhile: another try after a pause
            log.exception("job %s: fetching its file failed", job.id)
            await asyncio.to_thread(jobs.give_back, self.store, job.id or 0, self.claimant,
                                    f"{type(exc).__name__}: {exc}")
            return None
        return {**payload, FILE: base64.b64encode(content).decode("ascii")}

    def run_one(self, job: Job, payload: dict[str, Any] | None = None) -> bool:
        """One claimed job, its completion and its notice in one transaction (retried after a
        deadlock). False: it failed (given back for another try) or another worker has it.
        `payload`: the job's, with what was fetched for it (`fetched`)."""
        payload = dict(job.payload) if payload is None else payload
        runner, two_step = self.runners.get(job.kind), TWO_STEP.get(job.kind)
        assert job.id is not None
        if runner is None and two_step is None:
            jobs.give_back(self.store, job.id, self.claimant, f"unknown job kind {job.kind!r}")
            return False
        log.info("job %s (%s) started", job.id, job.kind)
        found: list[Any] = []  # what a two-step job's read found

        def work(ctx: Ctx) -> bool:
            if two_step is not None:
                result = two_step[1](ctx, found[0])
            else:
                assert runner is not None
                result = runner(ctx, dict(payload))
            finished = jobs.finish(ctx, job.id or 0, self.claimant, result)
            if finished is None:  # its lease ran out and it is someone else's now
                ctx.session.rollback()
                return False
            jobs.tell(ctx, finished, result)
            return True

        try:
            if two_step is not None:
                with self.store.reading() as ctx:
                    found.append(two_step[0](ctx, dict(payload)))
            ran = self.store.run(work)
        except Exception as exc:
            log.exception("job %s (%s) failed", job.id, job.kind)
            jobs.give_back(self.store, job.id, self.claimant, f"{type(exc).__name__}: {exc}")
            return False
        log.info("job %s (%s) %s", job.id, job.kind, "done" if ran else "taken over")
        return ran

