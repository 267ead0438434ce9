"""/warn: the red and yellow tasks under a supervisor's units, most urgent first, each with a
提醒 button that reminds that person now (models/warnings.py decides who may, and how often).

Buttons (ui/callbacks.py): WarnPage `wn:p:<page>` (door REVIEWER: supervisors, today's
delegates, admins) and WarnRemind `wn:r:<task>` (door TASK_REVIEWER: whoever may review the
task's unit; models/warnings.py `remind` checks the same again and audits the reminder).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler

from handlers.common import (
    Context,
    Person,
    answer,
    app,
    edit_or_send,
    pager,
    paginate,
    person,
    read,
    refuse,
    run,
)
from handlers.dispatch import on
from models.doors import Door
from models.errors import Refused
from models.views import active_period, overseen_units
from models.warnings import GREEN, TaskLight, lights_under, remind
from ui.callbacks import WarnPage, WarnRemind
from ui.render import Renderer

PER_PAGE = 10


async def warn(update: Update, context: Context) -> None:
    p = await person(update, context, Door.REVIEWER)  # others are refused, audited
    if p is None:
        return
    await _page(update, context, p, 0)


async def page(update: Update, context: Context, p: Person, tap: WarnPage) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer()
    await _page(update, context, p, tap.page)


async def _page(update: Update, context: Context, p: Person, number: int) -> None:
    services = app(context)
    today, margins = services.store.today(), services.rules.warnings

    def load(session: Session) -> list[TaskLight] | None:
        period = active_period(session)
        if period is None:
            return None
        units = [u.id for u in overseen_units(session, p.cadre, today) if u.id is not None]
        return [light for light in lights_under(session, period, units, today, margins)
                if light.colour != GREEN]

    items = await read(context, load)
    if items is None:
        await answer(update, p.r.text("bot.no_active_period"))
        return
    shown = paginate(items, number, PER_PAGE)
    first = shown.number * PER_PAGE + 1
    text = p.r.render("warn", items=shown.shown, first=first,
                      red=sum(1 for i in items if i.colour == "red"),
                      yellow=sum(1 for i in items if i.colour == "yellow"), today=today)
    rows = _remind_buttons(p.r, shown.shown, first)
    if nav := pager(p.r, WarnPage, shown):
        rows.append(nav)
    await edit_or_send(update, text, InlineKeyboardMarkup(rows) if rows else None)


def _remind_buttons(r: Renderer, items: list[TaskLight],
                    first: int) -> list[list[InlineKeyboardButton]]:
    """One 提醒 button per cadre's task, two to a row (a unit's own task has no one person)."""
    buttons = [WarnRemind(item.task_id).button(r.label("warn.remind", n=first + index,
                                                       name=item.owner))
               for index, item in enumerate(items) if item.cadre_id is not None]
    return [buttons[i:i + 2] for i in range(0, len(buttons), 2)]


async def remind_now(update: Update, context: Context, p: Person, tap: WarnRemind) -> None:
    query = update.callback_query
    assert query is not None
    task_id = tap.task
    try:
        cadre = await run(context, lambda ctx: remind(ctx, p.id, task_id))
    except Refused as refusal:  # already today, a unit's task, done, not bound: an alert
        await refuse(update, context, refusal)
        return
    text = p.r.text("warn.reminded", name=cadre.name)
    await query.answer(text[:190])
    await answer(update, text)


def register(application: Application[Any, Context, Any, Any, Any, Any]) -> None:
    application.add_handler(CommandHandler("warn", warn))
    application.add_handler(on(WarnPage, page))
    application.add_handler(on(WarnRemind, remind_now))
