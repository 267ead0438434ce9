"""/whatif: pick one of your tasks, a progress and a grade → the projected total, both ranks and
the gap to the next person above in your unit. Nothing is stored (models/insight.py computes it).

Buttons (ui/callbacks.py): WhatifTask `wi:t:<task>` (door TASK_OWNER: only one's own task),
WhatifPage `wi:p:<page>`, WhatifProgress `wi:v:<percent>`, WhatifGrade `wi:g:<A-D>`,
WhatifCancel `wi:x`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Literal

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
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
    choice_markup,
    edit_or_send,
    menu_labels,
    person,
    read,
    refusal_text,
    short,
)
from handlers.dispatch import on, tapped
from models.errors import Refused
from models.insight import WhatIf, own_tasks, whatif
from models.views import TaskLine, active_period
from ui.callbacks import WhatifCancel, WhatifGrade, WhatifPage, WhatifProgress, WhatifTask
from ui.render import Renderer, typed_quote

KEY = "whatif"  # context.memory[KEY]: the task and the progress entered so far
PICK, PROGRESS, GRADE = "pick", "progress", "grade"
PER_PAGE = 8
GRADES: tuple[Literal["A", "B", "C", "D"], ...] = ("A", "B", "C", "D")
QUICK_VALUES: tuple[Literal["100", "80", "60"], ...] = ("100", "80", "60")


def task_buttons(r: Renderer, lines: Sequence[TaskLine],
                 cadre_id: int) -> list[list[InlineKeyboardButton]]:
    """A 推演 button per own task on a 我的任务 page (a unit's tasks are not in one's score)."""
    return [[WhatifTask(line.task.id).button(r.label("tasks.whatif",
                                                      title=short(line.task.title, 18)))]
            for line in lines if line.task.cadre_id == cadre_id]


async def begin(update: Update, context: Context) -> str | int:
    p = await person(update, context)
    if p is None:
        return ConversationHandler.END
    context.memory.pop(KEY, None)
    return await _pick_page(update, context, p, 0)


async def pick_page(update: Update, context: Context, p: Person, tap: WhatifPage) -> str | int:
    assert update.callback_query is not None
    await update.callback_query.answer()
    return await _pick_page(update, context, p, tap.page)


async def _pick_page(update: Update, context: Context, p: Person, page: int) -> str | int:
    def load(session: Session) -> list[tuple[int, str]] | None:
        period = active_period(session)
        return None if period is None else own_tasks(session, period, p.cadre)

    tasks = await read(context, load)
    if not tasks:
        await answer(update, p.r.text("bot.no_active_period" if tasks is None
                                      else "whatif.no_tasks"))
        return ConversationHandler.END
    markup = choice_markup(p.r, tasks, page, PER_PAGE,
                           lambda task: WhatifTask(task[0]).button(short(task[1])), WhatifPage,
                           [[WhatifCancel().button(p.r.label("whatif.cancel"))]])
    await edit_or_send(update, p.r.text("whatif.pick"), markup)
    return PICK


async def picked(update: Update, context: Context, p: Person, tap: WhatifTask) -> str | int:
    """From the list, a 推演 button under 我的任务, or 再推演一次 (the door: one's own task)."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    task_id = tap.task
    titles = dict(await read(context, lambda session: _own(session, p)))
    if task_id not in titles:
        await answer(update, p.r.text("refused.whatif_not_yours"))
        return ConversationHandler.END
    context.memory[KEY] = {"task": task_id, "title": titles[task_id]}
    rows = [[WhatifProgress(value).button(f"{value}%") for value in QUICK_VALUES],
            [WhatifCancel().button(p.r.label("whatif.cancel"))]]
    await answer(update, p.r.text("whatif.ask_progress", task=titles[task_id]),
                 InlineKeyboardMarkup(rows))
    return PROGRESS


def _own(session: Session, p: Person) -> list[tuple[int, str]]:
    period = active_period(session)
    return [] if period is None else own_tasks(session, period, p.cadre)


async def progress_typed(update: Update, context: Context) -> str | int:
    message = update.effective_message
    p = await person(update, context)
    if p is None or message is None:
        return ConversationHandler.END
    text = message.text or ""
    amount = read_progress(text)
    if amount.progress is None:
        await answer(update, p.r.text(amount.error or "amount.unreadable_percent",
                                      value=typed_quote(text)))
        return PROGRESS
    return await _ask_grade(update, context, p, amount.progress)


async def progress_tapped(update: Update, context: Context, p: Person,
                          tap: WhatifProgress) -> str | int:
    assert update.callback_query is not None
    await update.callback_query.answer()
    return await _ask_grade(update, context, p, Decimal(tap.percent))


async def _ask_grade(update: Update, context: Context, p: Person,
                     progress: Decimal) -> str | int:
    entered = _entered(context)
    if entered is None:
        await answer(update, p.r.text("whatif.expired"))
        return ConversationHandler.END
    entered["progress"] = str(progress)
    rows = [[WhatifGrade(g).button(p.r.label(f"grade.{g}")) for g in GRADES],
            [WhatifCancel().button(p.r.label("whatif.cancel"))]]
    await answer(update, p.r.text("whatif.ask_grade"), InlineKeyboardMarkup(rows))
    return GRADE


def _entered(context: Context) -> dict[str, Any] | None:
    found: dict[str, Any] | None = context.memory.get(KEY)
    return found


async def grade_tapped(update: Update, context: Context, p: Person,
                       tap: WhatifGrade) -> str | int:
    assert update.callback_query is not None
    await update.callback_query.answer()
    return await _result(update, context, tap.grade)


async def grade_typed(update: Update, context: Context) -> str | int:
    message = update.effective_message
    text = (message.text or "") if message else ""
    return await _result(update, context, typed_quote(text, 8).upper())  # quoted if unknown


async def _result(update: Update, context: Context, grade: str) -> str | int:
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
    context.memory.pop(KEY, None)
    if result is None:
        await answer(update, p.r.text("bot.no_active_period"))
        return ConversationHandler.END
    markup = InlineKeyboardMarkup([[WhatifTask(result.task_id).button(
        p.r.label("whatif.again"))]])
    await answer(update, p.r.render("whatif", w=result, o=result.outcome), markup)
    return ConversationHandler.END


async def cancel(update: Update, context: Context) -> int:
    if update.callback_query is not None:
        await update.callback_query.answer()
    context.memory.pop(KEY, None)
    p = await person(update, context)
    if p is not None:
        await answer(update, p.r.text("whatif.cancelled"))
    return ConversationHandler.END


def conversation() -> ConversationHandler[Context]:
    typed = filters.TEXT & ~filters.COMMAND & ~filters.Text(
        [label for key in MENU_KEYS for label in menu_labels(key)])
    return ConversationHandler(
        entry_points=[CommandHandler("whatif", begin), on(WhatifTask, picked)],
        states={
            PICK: [on(WhatifTask, picked), on(WhatifPage, pick_page)],
            PROGRESS: [MessageHandler(typed, progress_typed), on(WhatifProgress, progress_tapped)],
            GRADE: [on(WhatifGrade, grade_tapped), MessageHandler(typed, grade_typed)],
        },
        fallbacks=[CommandHandler("cancel", cancel), on(WhatifCancel, tapped(cancel))],
        name="whatif",
        persistent=True,
        allow_reentry=True,
    )


def register(application: Application[Any, Context, Any, Any, Any, Any]) -> None:
    application.add_handler(conversation())

