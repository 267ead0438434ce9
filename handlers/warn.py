"""/warn: the red and yellow tasks under a supervisor's units, most urgent first, each with a
提醒 button that reminds that person now (models/warnings.py decides who may, and how often).

Callback data (plain strings; the lead ports them to ui/callbacks.py):
  wn:p:<page>   page through the list — supervisors, today's delegates and admins
  wn:r:<task>   remind the task's cadre now — whoever may review the task's unit (checked in
                models/warnings.py `remind`; others are refused and audited)
"""

from __future__ import annotations

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers.common import (
    Context,
    Person,
    answer,
    app,
    button,
    edit_or_send,
    int_arg,
    pager,
    person,
    read,
    refusal_text,
    run,
)
from models.errors import Refused
from models.views import active_period, overseen_units
from models.warnings import GREEN, TaskLight, lights_under, remind
from ui.render import Renderer

PER_PAGE = 10


async def warn(update: Update, context: Context) -> None:
    p = await person(update, context)
    if p is None:
        return
    await _page(update, context, p, 0)


async def page(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    p = await person(update, context)
    if p is not None:
        await _page(update, context, p, int_arg(query.data, 2) or 0)


async def _page(update: Update, context: Context, p: Person, number: int) -> None:
    if not (p.supervisor or p.admin):
        await answer(update, p.r.text("warn.not_supervisor"))
        return
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
    pages = max(1, -(-len(items) // PER_PAGE))
    number = min(max(number, 0), pages - 1)
    shown = items[number * PER_PAGE:(number + 1) * PER_PAGE]
    text = p.r.render("warn", items=shown, first=number * PER_PAGE + 1,
                      red=sum(1 for i in items if i.colour == "red"),
                      yellow=sum(1 for i in items if i.colour == "yellow"), today=today)
    rows = _remind_buttons(p.r, shown, number * PER_PAGE + 1)
    if nav := pager(p.r, "wn:p", number, pages):
        rows.append(nav)
    await edit_or_send(update, text, InlineKeyboardMarkup(rows) if rows else None)


def _remind_buttons(r: Renderer, items: list[TaskLight],
                    first: int) -> list[list[InlineKeyboardButton]]:
    """One 提醒 button per cadre's task, two to a row (a unit's own task has no one person)."""
    buttons = [button(r.label("warn.remind", n=first + index, name=item.owner),
                      f"wn:r:{item.task_id}")
               for index, item in enumerate(items) if item.cadre_id is not None]
    return [buttons[i:i + 2] for i in range(0, len(buttons), 2)]


async def remind_now(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    p = await person(update, context)
    if p is None:
        await query.answer()
        return
    task_id = int_arg(query.data, 2) or 0
    try:
        cadre = await run(context, lambda ctx: remind(ctx, p.id, task_id))
    except Refused as refusal:
        text = refusal_text(p.r, refusal)
        await query.answer(text[:190], show_alert=True)
        await answer(update, text)
        return
    text = p.r.text("warn.reminded", name=cadre.name)
    await query.answer(text[:190])
    await answer(update, text)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("warn", warn))
    application.add_handler(CallbackQueryHandler(page, pattern=r"^wn:p:\d+$"))
    application.add_handler(CallbackQueryHandler(remind_now, pattern=r"^wn:r:\d+$"))
