"""Excel in the bot, for admins: the active period's results as an .xlsx document (a button in
/admin), and an .xlsx sent to the bot imported with the same checks and the same answer as
`kaohe import` (docs/excel.md), as a job beside the bot. Anyone else who sends a file is told it
is not for them."""

from __future__ import annotations

import asyncio
from io import BytesIO

from telegram import InputFile, Update
from telegram.ext import MessageHandler, filters

from handlers.common import (
    Context,
    KaoheApp,
    Person,
    answer,
    app,
    escape,
    menu,
    on_its_own,
    person,
    read,
    run,
)
from handlers.dispatch import on
from models import jobs
from models.excel_format import MAX_FILE_BYTES, ROSTER, TASKS
from models.importing import file_too_large
from models.jobs import JobKind
from models.views import active_period
from ui import excel_jobs
from ui.callbacks import AdminAction


async def _admin(update: Update, context: Context) -> Person | None:
    """An admin sending a file; anyone else is told files are for the office (not a door
    forced: sending a document is an ordinary mistake, so it is not audited)."""
    p = await person(update, context)
    if p is not None and not p.admin:
        await answer(update, p.r.text("excel.bot.not_admin"), menu(p))
        return None
    return p


async def export(update: Update, context: Context, p: Person, tap: AdminAction) -> None:
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None and chat is not None
    await query.answer()
    period = await read(context, active_period)
    if period is None:
        await answer(update, p.r.text("bot.no_active_period"))
        return
    store = app(context).store
    content = await on_its_own(context, lambda: excel_jobs.export_results(store, period, p.t))
    await chat.send_document(InputFile(BytesIO(content), filename=f"kaohe-{period.code}.xlsx"),
                             caption=p.r.label("excel.bot.export_caption", period=period.name))


async def how_to_import(update: Update, context: Context, p: Person, tap: AdminAction) -> None:
    """What to send, then the blank templates themselves as documents (a phone has no
    `kaohe template`), each with a caption saying what it is for."""
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None and chat is not None
    await query.answer()
    await answer(update, p.r.text("excel.bot.send_filled"))
    store = app(context).store
    for kind in (ROSTER, TASKS):
        content = await asyncio.to_thread(excel_jobs.template, kind, store, p.t)
        await chat.send_document(
            InputFile(BytesIO(content), filename=p.r.label(f"excel.bot.template_file.{kind}")),
            caption=p.r.label(f"excel.bot.template_caption.{kind}"))


async def received(update: Update, context: Context) -> None:
    """An admin's .xlsx: queued as an import job (ui/excel_jobs.py: import_job) with Telegram's
    file_id, in this update's transaction, so a crash at any moment leaves it queued once or
    the update handled again; the job runner fetches the file beside the update loop, checks
    it and imports all or nothing, and the answer comes through the outbox."""
    message = update.effective_message
    p = await _admin(update, context)
    if p is None or message is None or message.document is None:
        return
    document = message.document
    size = document.file_size or 0
    if size > MAX_FILE_BYTES:  # not even fetched, nor queued
        lines = excel_jobs.refused_lines(p.t, file_too_large(size))
        await answer(update, "\n".join(escape(line) for line in lines), menu(p))
        return
    payload = excel_jobs.sent_payload(document.file_id, p.id)
    await run(context, lambda ctx: jobs.enqueue(ctx, JobKind.IMPORT, payload,
                                                requested_by=p.id))
    await answer(update, p.r.text("excel.bot.checking", file=document.file_name or "file"))


def register(application: KaoheApp) -> None:
    application.add_handler(on(AdminAction, export, when=lambda tap: tap.action == "xlsx"))
    application.add_handler(on(AdminAction, how_to_import,
                               when=lambda tap: tap.action == "xlsx_in"))
    # Registered after the report and claim conversations: a file sent as evidence there is
    # theirs; any other document in a private chat comes here.
    application.add_handler(MessageHandler(
        filters.ChatType.PRIVATE & filters.Document.ALL, received))
