"""The scheduler's tick: plan what fell due since the last tick, queue it, deliver.

The truth is in the database: the last tick's time is kept in bot_state (read under a row
lock, so two workers tick one after the other, the second from where the first stopped),
every planned message becomes an outbox row with a dedupe key (models/outbox.py
`enqueue_planned`), and a tick replans its whole window. So a restart catches up what fell due
while the bot was down (within [schedule] catch_up_hours) and nothing is queued twice. PTB's
JobQueue (or, with workers, bot/worker.py) only provides the ticking; the sender's own loop
delivers (bot/sender.py).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta

from sqlmodel import Session

from bot.config import ScheduleSettings
from models import figures
from models.claims import take_turns
from models.outbox import enqueue_planned
from models.schedule import Planner, ScheduleRules
from models.store import Ctx, Store
from models.tables import BotState
from models.views import active_period
from models.workdays import WorkCalendar

WATERMARK = ("scheduler", "last_tick")


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


def tick(store: Store, settings: ScheduleSettings, figures_every: timedelta | None = None) -> int:
    """Plan (last tick, now] — no further back than catch_up_hours — and queue it; and the
    dashboard's figures when they are older than `figures_every` or not today's (None: the
    dashboard is off)."""
    rules = schedule_rules(settings)
    with store.transaction() as ctx:
        take_turns(ctx, "scheduler")  # workers tick one after another, each from the last
        now = ctx.now
        earliest = now - timedelta(hours=settings.catch_up_hours)
        last = _watermark(ctx.session)
        start = earliest if last is None or last < earliest else last
        planned = Planner(ctx.session, rules, store.tz).plan(start, now)
        added = enqueue_planned(ctx, planned)
        _set_watermark(ctx, now)
        if figures_every is not None:
            figures.queue_when_due(ctx, figures_every)
        return added


def queue_digests(ctx: Ctx, settings: ScheduleSettings) -> int:
    """Queue this week's digests now ("send now", a job: bot/jobs.py); the regular run then
    finds them sent."""
    rules = schedule_rules(settings)
    period = active_period(ctx.session)
    if period is None:
        return 0
    today = ctx.today
    digest_day = today - timedelta(days=(today.isoweekday() - rules.digest_weekday) % 7)
    planner = Planner(ctx.session, rules, ctx.tz)
    return enqueue_planned(ctx, planner.digests_for_week(period, digest_day, at=ctx.now))


async def tick_async(store: Store, settings: ScheduleSettings,
                     figures_every: timedelta | None = None) -> int:
    return await asyncio.to_thread(tick, store, settings, figures_every)
