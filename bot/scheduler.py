"""The scheduler's tick: plan what fell due since the last tick, queue it, deliver.

The truth is in the database: the last tick's time is kept in bot_state, every planned message
becomes an outbox row with a dedupe key, and a tick replans its whole window. So a restart
catches up what fell due while the bot was down (within [schedule] catch_up_hours) and nothing
is queued twice. PTB's JobQueue only provides the ticking.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from bot.config import ScheduleSettings
from models.schedule import Planned, Planner, ScheduleRules
from models.store import Ctx, Store
from models.tables import BotState, Cadre, OutboxMessage
from models.views import active_period
from models.vocab import PENDING
from models.workdays import WorkCalendar

WATERMARK = ("scheduler", "last_tick")
CHUNK = 1000  # ids per IN list and rows per INSERT


def schedule_rules(settings: ScheduleSettings) -> ScheduleRules:
    return ScheduleRules(
        offsets_days=tuple(settings.reminder_offsets_days),
        reminder_time=time.fromisoformat(settings.reminder_time),
        overdue_reminders=settings.overdue_reminders,
        review_waiting=timedelta(hours=settings.review_waiting_hours),
        digest_weekday=settings.digest_weekday,
        digest_time=time.fromisoformat(settings.digest_time),
        calendar=WorkCalendar(settings.extra_holidays, settings.extra_workdays),
    )


def _watermark(session: Session) -> datetime | None:
    row = session.get(BotState, WATERMARK)
    return None if row is None or not row.data else datetime.fromisoformat(row.data)


def _set_watermark(ctx: Ctx, moment: datetime) -> None:
    row = ctx.session.get(BotState, WATERMARK)
    if row is None:
        ctx.session.add(BotState(kind=WATERMARK[0], key=WATERMARK[1],
                                 data=moment.isoformat(), updated_at=ctx.now))
    else:
        row.data, row.updated_at = moment.isoformat(), ctx.now


def enqueue_planned(ctx: Ctx, planned: list[Planned]) -> int:
    """Queue each planned message once (by its dedupe key); returns how many were new.

    In bulk: the Monday run plans a message for every cadre, so the existing keys and the
    recipients' chats are read in a few queries and the new rows inserted in batches."""
    existing: set[str] = set()
    keys = [item.dedupe_key for item in planned]
    for first in range(0, len(keys), CHUNK):
        existing.update(key for key in ctx.session.exec(select(OutboxMessage.dedupe_key).where(
            col(OutboxMessage.dedupe_key).in_(keys[first:first + CHUNK]))).all() if key)
    people = sorted({item.recipient_id for item in planned if item.recipient_id is not None})
    chats: dict[int, int | None] = {}
    for first in range(0, len(people), CHUNK):
        chats.update({cadre_id: chat for cadre_id, chat in ctx.session.exec(
            select(Cadre.id, Cadre.telegram_user_id).where(
                col(Cadre.id).in_(people[first:first + CHUNK]))).all() if cadre_id})
    rows: list[dict[str, Any]] = []
    for item in planned:
        chat = item.chat_id if item.recipient_id is None else chats.get(item.recipient_id)
        if chat is None or item.dedupe_key in existing:
            continue  # nobody bound to send to yet, or queued before
        existing.add(item.dedupe_key)
        rows.append({"created_at": ctx.now, "recipient_id": item.recipient_id, "chat_id": chat,
                     "kind": item.kind, "payload": item.payload, "dedupe_key": item.dedupe_key,
                     "state": PENDING, "attempts": 0, "not_before": item.at})
    for first in range(0, len(rows), CHUNK):
        ctx.session.execute(insert(OutboxMessage), rows[first:first + CHUNK])
    return len(rows)


def tick(store: Store, settings: ScheduleSettings) -> int:
    """Plan (last tick, now] — no further back than catch_up_hours — and queue it."""
    rules = schedule_rules(settings)
    with store.transaction() as ctx:
        now = ctx.now
        earliest = now - timedelta(hours=settings.catch_up_hours)
        last = _watermark(ctx.session)
        start = earliest if last is None or last < earliest else last
        planned = Planner(ctx.session, rules, store.tz).plan(start, now)
        added = enqueue_planned(ctx, planned)
        _set_watermark(ctx, now)
        return added


def digests_now(store: Store, settings: ScheduleSettings) -> int:
    """Queue this week's digests now ("send now"); the regular run then finds them sent."""
    rules = schedule_rules(settings)
    with store.transaction() as ctx:
        period = active_period(ctx.session)
        if period is None:
            return 0
        today = ctx.today
        digest_day = today - timedelta(days=(today.isoweekday() - rules.digest_weekday) % 7)
        planner = Planner(ctx.session, rules, store.tz)
        return enqueue_planned(ctx, planner.digests_for_week(period, digest_day, at=ctx.now))


async def tick_async(store: Store, settings: ScheduleSettings) -> int:
    return await asyncio.to_thread(tick, store, settings)
