"""Reporting progress: pick a task, say how far it is, add evidence and a note, confirm.

A persistent conversation: its step is stored after every update (bot/persistence.py) and what
has been entered is kept in the cadre's draft report, so a restart of the bot in the middle
loses nothing. /cancel works at every step and throws the draft away.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlmodel import Session
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from handlers.amounts import read_count, read_progress
from handlers.common import (
    MENU_KEYS,
    Context,
    KaoheApp,
    Person,
    answer,
    app,
    ask,
    choice_markup,
    edit_or_send,
    menu,
    menu_labels,
    person,
    read,
    refusal_text,
    run,
    short,
)
from handlers.dispatch import on, tapped
from handlers.typed import typed_text
from models import limits
from models.access import held
from models.errors import Refused
from models.reports import discard_draft, save_draft, submit_report
from models.tables import Report, Task
from models.views import TaskLine, active_period, latest_report, reportable_tasks, task_line
from models.vocab import RETURNED, SUBMITTED
from ui import render
from ui.callbacks import ReportEdit, ReportPage, ReportStep, ReportTask
from ui.render import typed_quote

PICK, AMOUNT, EVIDENCE, NOTE, CONFIRM = "pick", "amount", "evidence", "note", "confirm"
KEY = "report"  # user_data[KEY]: what has been entered so far (JSON-safe)
PER_PAGE = 8
MAX_EVIDENCE = 10


def _state(context: Context) -> dict[str, Any]:
    data: dict[str, Any] = context.memory.setdefault(KEY, {})
    return data


async def _task(context: Context, task_id: int) -> Task | None:
    return await read(context, lambda session: held(session, Task, task_id))


async def _save(context: Context, p: Person) -> bool:
    """Write what was entered into the draft; False (and the user told why) if refused."""
    entered = _state(context)

    def save(ctx: Any) -> int:
        draft = save_draft(
            ctx, p.id, entered["task"],
            progress=_dec(entered.get("progress")), actual=_dec(entered.get("actual")),
            note=entered.get("note", ""), evidence=entered.get("evidence", []),
            occurrence=entered.get("occurrence"),
        )
        entered["occurrence"] = draft.occurrence
        return draft.id or 0

    try:
        entered["draft"] = await run(context, save)
    except Refused as refusal:
        return await _refused(context, p, refusal)
    return True


async def _refused(context: Context, p: Person, refusal: Refused) -> bool:
    chat_id = p.cadre.telegram_user_id
    if chat_id is not None:
        await context.bot.send_message(chat_id, refusal_text(p.r, refusal), parse_mode="HTML")
    return False


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# -- picking the task ---------------------------------------------------------------------


async def begin(update: Update, context: Context) -> str | int:
    p = await person(update, context)
    if p is None:
        return ConversationHandler.END
    context.memory.pop(KEY, None)
    return await _pick_page(update, context, p, 0)


async def pick_page(update: Update, context: Context, p: Person, tap: ReportPage) -> str | int:
    assert update.callback_query is not None
    await update.callback_query.answer()
    return await _pick_page(update, context, p, tap.page)


async def _pick_page(update: Update, context: Context, p: Person, page: int) -> str | int:
    today = app(context).store.today()

    def load(session: Session) -> list[TaskLine] | None:
        period = active_period(session)
        return None if period is None else reportable_tasks(session, p.cadre, period, today)

    lines = await read(context, load)
    if not lines:
        await answer(update, p.r.text("report.no_tasks" if lines is not None
                                      else "bot.no_active_period"), menu(p))
        return ConversationHandler.END
    markup = choice_markup(p.r, lines, page, PER_PAGE,
                           lambda line: ReportTask(line.task.id).button(_pick_label(p, line)),
                           ReportPage, [[ReportStep("x").button(p.r.label("report.cancel"))]])
    await edit_or_send(update, p.r.text("report.pick"), markup)
    return PICK


def _pick_label(p: Person, line: TaskLine) -> str:
    """A task in the picker: waiting ones marked, an approved amount shown."""
    title = short(line.task.title)
    if line.state == SUBMITTED:
        return p.r.label("report.task_button_waiting", title=title)
    due = line.next_due.strftime("%m-%d") if line.next_due else "—"
    if line.progress is None:
        return p.r.label("report.task_button", title=title, due=due)
    return p.r.label("report.task_button_approved", title=title, due=due,
                     approved=render.amount(line.progress, line.task.target))


async def picked(update: Update, context: Context, p: Person, tap: ReportTask
                 ) -> str | int | None:
    """A task tapped in the list, or under a reminder (which starts the conversation); the door
    made sure it is one this cadre reports on."""
    query = update.callback_query
    assert query is not None
    today = app(context).store.today()

    def load(session: Session) -> tuple[Task | None, TaskLine | None, Report | None]:
        period = active_period(session)
        line = None if period is None else task_line(session, p.cadre, period, today, tap.task)
        returned = None if line is None or line.state != RETURNED else latest_report(
            session, tap.task, line.occurrence, p.id)
        return held(session, Task, tap.task), line, returned

    task, line, returned = await read(context, load)
    assert task is not None
    if line is not None and line.state == SUBMITTED:  # say now, not after everything is typed
        await query.answer(p.r.label("report.already_waiting", title=short(task.title)),
                           show_alert=True)
        return None
    await query.answer()
    entered: dict[str, Any] = {"task": tap.task}
    if line is not None and line.progress is not None:
        entered["approved"] = str(line.progress)
    if returned is not None:  # 重新汇报: start from what was sent back, then change what is asked
        entered.update(progress=_str(returned.progress), actual=_str(returned.actual),
                       note=returned.note, evidence=list(returned.evidence or []),
                       occurrence=returned.occurrence)
    context.memory[KEY] = entered
    if not await _save(context, p):
        context.memory.pop(KEY, None)
        return ConversationHandler.END
    if returned is not None:
        await answer(update, p.r.text("report.resubmit_from_returned",
                                      reason=returned.reason or ""))
        return await _summary(update, context, p)
    await _ask_amount(update, p, task)
    return AMOUNT


async def _ask_amount(update: Update, p: Person, task: Task) -> None:
    if task.target is not None:
        text = p.r.text("report.ask_count", title=task.title,
                        target=_plain(task.target), measure=task.measure or "")
    else:
        text = p.r.text("report.ask_percent", title=task.title)
    await answer(update, text, InlineKeyboardMarkup([[
        ReportStep("x").button(p.r.label("report.cancel"))]]))


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


# -- the amount, evidence and note --------------------------------------------------------


async def amount(update: Update, context: Context) -> str | int:
    p = await person(update, context)
    message = update.effective_message
    entered = _state(context)
    if p is None or message is None or not entered.get("task"):
        return ConversationHandler.END
    task = await _task(context, entered["task"])
    assert task is not None
    text = message.text or ""
    parsed = read_count(text, task.target) if task.target is not None else read_progress(text)
    if not parsed.ok:
        example = p.r.text("amount.example_count" if task.target is not None
                           else "amount.example_percent",
                           target=_plain(task.target) if task.target is not None else "",
                           measure=task.measure or "")
        await answer(update, p.r.text(parsed.error or "", value=typed_quote(text)) + "\n" + example)
        return AMOUNT
    value = parsed.actual if parsed.actual is not None else parsed.progress
    assert value is not None
    doubt = _doubt(p, task, entered, value)
    if doubt is not None:  # ask first; the amount waits until the cadre says yes
        entered["unsure"] = {"progress": _str(parsed.progress), "actual": _str(parsed.actual)}
        await answer(update, doubt, InlineKeyboardMarkup([[
            ReportStep("sure").button(p.r.label("report.sure")),
            ReportStep("x").button(p.r.label("report.cancel"))]]))
        return AMOUNT
    entered.update(progress=_str(parsed.progress), actual=_str(parsed.actual))
    return await _amount_taken(update, context, p)


def _doubt(p: Person, task: Task, entered: dict[str, Any], value: Decimal) -> str | None:
    """Why this amount needs a yes first: it lowers the approved one, or passes the target."""
    approved = _dec(entered.get("approved"))
    if approved is not None and value < approved:
        return p.r.text("report.confirm_lower", value=render.amount(value, task.target),
                        approved=render.amount(approved, task.target))
    if task.target is not None and value > task.target:
        return p.r.text("report.confirm_above_target", value=_plain(value),
                        target=_plain(task.target), measure=task.measure or "")
    return None


async def amount_confirmed(update: Update, context: Context, p: Person, tap: ReportStep
                           ) -> str | int:
    """Yes: use the amount that lowered the approved one or passed the target."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    entered = _state(context)
    unsure = entered.pop("unsure", None)
    if not unsure:
        return AMOUNT
    entered.update(progress=unsure["progress"], actual=unsure["actual"])
    return await _amount_taken(update, context, p)


async def _amount_taken(update: Update, context: Context, p: Person) -> str | int:
    if not await _save(context, p):
        return AMOUNT
    if _state(context).get("confirming"):
        return await _summary(update, context, p)
    await ask(update, p, "report.ask_evidence", "report.skip", ReportStep("skip"))
    return EVIDENCE


async def evidence(update: Update, context: Context) -> str | int:
    p = await person(update, context)
    message = update.effective_message
    if p is None or message is None:
        return ConversationHandler.END
    entered = _state(context)
    files = entered.setdefault("evidence", [])
    if len(files) >= MAX_EVIDENCE:
        await answer(update, p.r.text("report.evidence_full", max=MAX_EVIDENCE),
                     InlineKeyboardMarkup([[ReportStep("done").button(p.r.label("report.done"))]]))
        return EVIDENCE
    if message.photo:
        files.append({"type": "photo", "file_id": message.photo[-1].file_id})
    elif message.document:
        files.append({"type": "document", "file_id": message.document.file_id,
                      "name": message.document.file_name or ""})
    if not await _save(context, p):
        files.pop()
        return EVIDENCE
    await answer(update, p.r.text("report.evidence_received", count=len(files)),
                 InlineKeyboardMarkup([[ReportStep("done").button(p.r.label("report.done"))]]))
    return EVIDENCE


async def evidence_expected(update: Update, context: Context) -> str:
    p = await person(update, context)
    if p is not None:
        await ask(update, p, "report.evidence_expected", "report.skip", ReportStep("skip"))
    return EVIDENCE


async def evidence_done(update: Update, context: Context, p: Person, tap: ReportStep
                        ) -> str | int:
    assert update.callback_query is not None
    await update.callback_query.answer()
    if _state(context).get("confirming"):
        return await _summary(update, context, p)
    await ask(update, p, "report.ask_note", "report.skip", ReportStep("skip"))
    return NOTE


async def evidence_cleared(update: Update, context: Context, p: Person, tap: ReportStep
                           ) -> str | int:
    assert update.callback_query is not None
    await update.callback_query.answer()
    _state(context)["evidence"] = []
    if not await _save(context, p):
        return EVIDENCE
    await ask(update, p, "report.evidence_cleared", "report.skip", ReportStep("skip"))
    return EVIDENCE


async def note(update: Update, context: Context) -> str | int:
    p = await person(update, context)
    message = update.effective_message
    if p is None or message is None:
        return ConversationHandler.END
    text = await typed_text(update, p, limits.NOTE)
    if text is None:
        return NOTE
    _state(context)["note"] = text
    if not await _save(context, p):
        return NOTE
    return await _summary(update, context, p)


async def note_skipped(update: Update, context: Context, p: Person, tap: ReportStep
                       ) -> str | int:
    assert update.callback_query is not None
    await update.callback_query.answer()
    return await _summary(update, context, p)


# -- confirm ------------------------------------------------------------------------------


async def _summary(update: Update, context: Context, p: Person) -> str:
    entered = _state(context)
    entered["confirming"] = True
    task = await _task(context, entered["task"])
    assert task is not None
    text = p.r.render("report_summary", task=task, progress=_dec(entered.get("progress")),
                      actual=_dec(entered.get("actual")), note=entered.get("note", ""),
                      files=len(entered.get("evidence", [])),
                      occurrence=entered.get("occurrence", ""),
                      approved=_dec(entered.get("approved")))
    markup = InlineKeyboardMarkup([
        [ReportStep("ok").button(p.r.label("report.submit"))],
        [ReportEdit("a").button(p.r.label("report.edit_amount")),
         ReportEdit("f").button(p.r.label("report.edit_evidence")),
         ReportEdit("n").button(p.r.label("report.edit_note"))],
        [ReportStep("x").button(p.r.label("report.cancel"))],
    ])
    await answer(update, text, markup)
    return CONFIRM


async def edit(update: Update, context: Context, p: Person, tap: ReportEdit) -> str | int:
    assert update.callback_query is not None
    await update.callback_query.answer()
    entered = _state(context)
    if not entered.get("task"):
        return ConversationHandler.END
    part = tap.part
    if part == "a":
        task = await _task(context, entered["task"])
        assert task is not None
        await _ask_amount(update, p, task)
        return AMOUNT
    if part == "f":  # keep what was added; the cadre adds more, or clears them on purpose
        kept = len(entered.get("evidence", []))
        if not kept:
            await ask(update, p, "report.ask_evidence", "report.skip", ReportStep("skip"))
            return EVIDENCE
        await answer(update, p.r.text("report.evidence_kept", count=kept), InlineKeyboardMarkup([[
            ReportStep("done").button(p.r.label("report.done")),
            ReportStep("clear").button(p.r.label("report.clear_evidence"))]]))
        return EVIDENCE
    await ask(update, p, "report.ask_note", "report.skip", ReportStep("skip"))
    return NOTE


async def confirm(update: Update, context: Context, p: Person, tap: ReportStep) -> str | int:
    query = update.callback_query
    assert query is not None
    await query.answer()
    entered = _state(context)
    if not entered.get("task"):
        return ConversationHandler.END

    def submit(ctx: Any) -> int:
        report = submit_report(
            ctx, p.id, entered["task"], progress=_dec(entered.get("progress")),
            actual=_dec(entered.get("actual")), note=entered.get("note", ""),
            evidence=entered.get("evidence", []), occurrence=entered.get("occurrence"),
        )
        return report.id or 0

    try:
        await run(context, submit)
    except Refused as refusal:
        await answer(update, refusal_text(p.r, refusal), menu(p))
        context.memory.pop(KEY, None)
        return ConversationHandler.END
    if query.message is not None:
        await query.edit_message_reply_markup(None)
    context.memory.pop(KEY, None)
    await answer(update, p.r.text("report.submitted"), menu(p))
    return ConversationHandler.END


async def cancel(update: Update, context: Context) -> int:
    if update.callback_query is not None:
        await update.callback_query.answer()
    p = await person(update, context)
    entered = context.memory.pop(KEY, None) or {}
    if p is None:
        return ConversationHandler.END
    draft = entered.get("draft")
    if draft:
        await run(context, lambda ctx: discard_draft(ctx, p.id, draft))
    await answer(update, p.r.text("report.cancelled"), menu(p))
    return ConversationHandler.END


def _step(*steps: str) -> Callable[[ReportStep], bool]:
    return lambda tap: tap.step in steps


def conversation() -> ConversationHandler[Context]:
    typed = filters.TEXT & ~filters.COMMAND & ~filters.Text(
        [label for key in MENU_KEYS for label in menu_labels(key)])
    return ConversationHandler(
        entry_points=[
            CommandHandler("report", begin),
            MessageHandler(filters.Text(menu_labels("report")), begin),
            on(ReportTask, picked),
        ],
        states={
            PICK: [on(ReportTask, picked), on(ReportPage, pick_page)],
            AMOUNT: [MessageHandler(typed, amount),
                     on(ReportStep, amount_confirmed, when=_step("sure"))],
            EVIDENCE: [MessageHandler(filters.PHOTO | filters.Document.ALL, evidence),
                       on(ReportStep, evidence_done, when=_step("skip", "done")),
                       on(ReportStep, evidence_cleared, when=_step("clear")),
                       MessageHandler(typed, evidence_expected)],
            NOTE: [MessageHandler(typed, note),
                   on(ReportStep, note_skipped, when=_step("skip"))],
            CONFIRM: [on(ReportStep, confirm, when=_step("ok")), on(ReportEdit, edit)],
        },
        fallbacks=[CommandHandler("cancel", cancel),
                   on(ReportStep, tapped(cancel), when=_step("x"))],
        name="report",
        persistent=True,
        allow_reentry=True,
    )


def register(application: KaoheApp) -> None:
    application.add_handler(conversation())
