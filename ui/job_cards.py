"""What an admin is told when heavy work they asked for is done (the outbox's JOB_DONE, queued
by the job runner in the job's transaction): the import's answer, the rating preview, or what
a digest run or a recompute did, worded in their language when it is sent; or, when the job
failed for good, the apology the bot gives for an update that broke."""

from __future__ import annotations

import html
from typing import Any

from sqlmodel import Session

from models.jobs import JobKind
from ui import cards, excel_jobs, rating_cards
from ui.cards import Card
from ui.render import Renderer


def job_done(session: Session, payload: dict[str, Any], r: Renderer) -> Card:
    job = payload.get("job")
    if payload.get("failed"):  # it raised every time it was tried (models/jobs.py: give_back)
        return Card(r.text("bot.error_apology"))
    if job == JobKind.IMPORT:
        return Card(_imported(payload, r))
    if job == JobKind.PREVIEW:
        return rating_cards.preview_done(session, payload, r)
    return cards.job_done(payload, r)


def _imported(payload: dict[str, Any], r: Renderer) -> str:
    if "refusal" in payload:  # an operation refused the import (a locked period, say)
        return r.refusal(payload["refusal"], payload.get("params") or {})
    lines = excel_jobs.import_done_lines(r.t, payload)
    return "\n".join(html.escape(line, quote=False) for line in lines)
