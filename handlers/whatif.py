"""/whatif: pick one of your tasks, a progress and a grade → the projected total, both ranks and
the gap to the next person above in your unit. Nothing is stored (models/insight.py computes it).

Callback data (plain strings; the lead ports them to ui/callbacks.py):
  wi:t:<task>   start a projection for that task (the cadre's own; others are refused)
  wi:p:<page>   page through the task list
  wi:v:<n>      a quick progress value (0-100) while a projection waits for one
  wi:g:<grade>  the grade (A-D) while a projection waits for one
  wi:x          cancel
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from handlers.amounts import read_progress
from handlers.common import (
    MENU_KEYS,
    Context,
    Person,
    answer,
    app,
    button,
    edit_or_send,
    int_arg,
    menu_labels,
    pager,
    person,
    read,
    refusal_text,
)
from models.errors import Refused
from models.insight import WhatIf, own_tasks, whatif
from models.views import TaskLine, active_period
from ui.render import Renderer

KEY = "whatif"
PICK, PROGRESS, GRADE = range(3)
PER_PAGE = 8
GRADES = ("A", "B", "C", "D")
QUICK_VALUES = (100, 80, 60)


def _short(title: str, limit: int = 24) -> str:
    return title if len(title) <= limit else title[:limit - 1] + "…"


def task_buttons(r: Renderer, lines: Sequence[TaskLine],
                 cadre_id: int) -> list[list[InlineKeyboardButton]]:
    """A 推演 button per own task on a 我的任务 page (a unit's tasks are not in one's score)."""
    return [[button(r.label("tasks.whatif", title=_short(line.task.title, 18)),
                    f"wi:t:{line.task.id}")]
            for line in lines if line.task.cadre_id == cadre_id]


async def begin(update: Update, context: Context) -> int:
    p = await person(update, context)
    if p is None:
        return ConversationHandler.END
    context.user_data.pop(KEY, None)  # type: ignore[union-attr]
    return await _pick_page(update, context, p, 0)


async def pick_page(update: Update, context: Context) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    p = await person(update, context)
    if p is None:
        return ConversationHandler.END
    return await _pick_page(update, context, p, int_arg(query.data, 2) or 0)


async def _pick_page(update: Update, context: Context, p: Person, page: int) -> int:
    def load(session: Session) -> list[tuple[int, str]] | None:
        period = active_period(session)
        return None if period is None else own_tasks(session, period, p.cadre)

    tasks = await read(context, load)
    if not tasks:
        await answer(update, p.r.text("bot.no_active_period" if tasks is None
                                      else "whatif.no_tasks"))
        return ConversationHandler.END
    pages = -(-len(tasks) // PER_PAGE)
    page = min(max(page, 0), pages - 1)
    rows = [[button(_short(title), f"wi:t:{task_id}")]
            for task_id, title in tasks[page * PER_PAGE:(page + 1) * PER_PAGE]]
    if nav := pager(p.r, "wi:p", page, pages):
        rows.append(nav)
    rows.append([button(p.r.label("whatif.cancel"), "wi:x")])
    await edit_or_send(update, p.r.text("whatif.pick"), InlineKeyboardMarkup(rows))
    return PICK


async def picked(update: Update, context: Context) -> int:
    """wi:t:<task> — from the list, or a 推演 button under 我的任务."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    p = await person(update, context)
    if p is None:
        return ConversationHandler.END
    task_id = int_arg(query.data, 2) or 0
    titles = dict(await read(context, lambda session: _own(session, p)))
    if task_id not in titles:
        await answer(update, p.r.text("refused.whatif_not_yours"))
        return ConversationHandler.END
    context.user_data[KEY] = {"task": task_id, "title": titles[task_id]}  # type: ignore[index]
    rows = [[button(f"{value}%", f"wi:v:{value}") for value in QUICK_VALUES],
            [button(p.r.label("whatif.cancel"), "wi:x")]]
    await answer(update, p.r.text("whatif.ask_progress", task=titles[task_id]),
                 InlineKeyboardMarkup(rows))
    return PROGRESS


def _own(session: Session, p: Person) -> list[tuple[int, str]]:
    period = active_period(session)
    return [] if period is None else own_tasks(session, period, p.cadre)


async def progress_typed(update: Update, context: Context) -> int:
    message = update.effective_message
    p = await person(update, context)
    if p is None or message is None:
        return ConversationHandler.END
    text = message.text or ""
    amount = read_progress(text)
    if amount.progress is None:
        await answer(update, p.r.text(amount.error or "amount.unreadable_percent",
                                      value=text.strip()[:20]))
        return PROGRESS
    return await _ask_grade(update, context, p, amount.progress)


async def progress_tapped(update: Update, context: Context) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    p = await person(update, context)
    if p is None:
        return ConversationHandler.END
    value = int_arg(query.data, 2)
    if value is None or value > 100:
        await answer(update, p.r.text("refused.progress_out_of_range", value=query.data[5:]))
        return PROGRESS
    return await _ask_grade(update, context, p, Decimal(value))


async def _ask_grade(update: Update, context: Context, p: Person, progress: Decimal) -> int:
    entered = _entered(context)
    if entered is None:
        await answer(update, p.r.text("whatif.expired"))
        return ConversationHandler.END
    entered["progress"] = str(progress)
    rows = [[button(p.r.label(f"grade.{g}"), f"wi:g:{g}") for g in GRADES],
            [button(p.r.label("whatif.cancel"), "wi:x")]]
    await answer(update, p.r.text("whatif.ask_grade"), InlineKeyboardMarkup(rows))
    return GRADE


def _entered(context: Context) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (context.user_data or {}).get(KEY)
    return found


async def grade_tapped(update: Update, context: Context) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    return await _result(update, context, query.data.split(":")[-1])


async def grade_typed(update: Update, context: Context) -> int:
    message = update.effective_message
    text = (message.text or "") if message else ""
    return await _result(update, context, text.strip().upper()[:8])


async def _result(update: Update, context: Context, grade: str) -> int:
    p = await person(update, context)
    entered = _entered(context)
    if p is None:
        return ConversationHandler.END
    if entered is None or "progress" not in entered:
        await answer(update, p.r.text("whatif.expired"))
        return ConversationHandler.END
    rules, today = app(context).rules, app(context).store.today()

    def project(session: Session) -> WhatIf | None:
        period = active_period(session)
        if period is None:
            return None
        return whatif(session, rules, period, p.cadre, today, int(entered["task"]),
                      Decimal(entered["progress"]), grade)

    try:
        result = await read(context, project)
    except Refused as refusal:
        await answer(update, refusal_text(p.r, refusal))
        return GRADE if refusal.code == "unknown_grade" else ConversationHandler.END
    context.user_data.pop(KEY, None)  # type: ignore[union-attr]
    if result is None:
        await answer(update, p.r.text("bot.no_active_period"))
        return ConversationHandler.END
    markup = InlineKeyboardMarkup([[button(p.r.label("whatif.again"),
                                           f"wi:t:{result.task_id}")]])
    await answer(update, p.r.render("whatif", w=result, o=result.outcome), markup)
    return ConversationHandler.END


async def cancel(update: Update, context: Context) -> int:
    if update.callback_query is not None:
        await update.callback_query.answer()
    context.user_data.pop(KEY, None)  # type: ignore[union-attr]
    p = await person(update, context)
    if p is not None:
        await answer(update, p.r.text("whatif.cancelled"))
    return ConversationHandler.END


def conversation() -> ConversationHandler[Context]:
    typed = filters.TEXT & ~filters.COMMAND & ~filters.Text(
        [label for key in MENU_KEYS for label in menu_labels(key)])
    return ConversationHandler(
        entry_points=[CommandHandler("whatif", begin),
                      CallbackQueryHandler(picked, pattern=r"^wi:t:\d+$")],
        states={
            PICK: [CallbackQueryHandler(picked, pattern=r"^wi:t:\d+$"),
                   CallbackQueryHandler(pick_page, pattern=r"^wi:p:\d+$")],
            PROGRESS: [MessageHandler(typed, progress_typed),
                       CallbackQueryHandler(progress_tapped, pattern=r"^wi:v:\d+$")],
            GRADE: [CallbackQueryHandler(grade_tapped, pattern=r"^wi:g:[A-Z]$"),
                    MessageHandler(typed, grade_typed)],
        },
        fallbacks=[CommandHandler("cancel", cancel),
                   CallbackQueryHandler(cancel, pattern=r"^wi:x$")],
        name="whatif",
        persistent=True,
        allow_reentry=True,
    )


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(conversation())

