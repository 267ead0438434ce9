"""Supervisors decide submissions: grade A-D to approve, return with a reason, reject with one.

Every decision goes through models.reports, which checks on the server that this person may
decide this report (so a forged callback is refused and audited) and refuses a second decision
("already handled by …"). After a decision every reviewer's card for that report is edited to
show who decided. Also /pending and /delegate.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select
from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from handlers.common import (
    Context,
    KaoheApp,
    Person,
    answer,
    app,
    canceller,
    edit_or_send,
    menu,
    menu_labels,
    pager,
    paginate,
    person,
    read,
    refusal_text,
    refuse,
    run,
)
from handlers.dispatch import on, tapped
from handlers.picker import delegate_picker
from handlers.typed import typed_text
from models import limits
from models.admin import delegate_review
from models.doors import Door
from models.errors import Refused
from models.reports import approve_report, pending_for, reject_report, return_report
from models.store import Ctx
from models.tables import Cadre, OutboxMessage, Report, Task
from models.views import zone_of
from models.vocab import SUBMITTED
from ui import cards
from ui.callbacks import (
    ReviewCancel,
    ReviewGrade,
    ReviewOpen,
    ReviewPage,
    ReviewReason,
)
from ui.render import Renderer

REASON = "reason"
DELEGATE_WHO, DELEGATE_DATES = "delegate_who", "delegate_dates"
KEY = "review"
DELEGATE_PICKER = delegate_picker()
PER_PAGE = 6


async def _refresh_cards(context: Context, report_id: int, tapped: Update | None) -> None:
    """Show the decision on every card of this report: the one tapped and those sent out."""

    def load(session: Session) -> list[tuple[int, int, str]]:
        # Where each card went and its reader's language: three columns in one query (not the
        # rows with their rendered text, nor a cadre per card).
        rows = session.exec(
            select(OutboxMessage.chat_id, OutboxMessage.message_id, Cadre.locale)
            .outerjoin(Cadre, col(Cadre.id) == col(OutboxMessage.recipient_id))
            .where(col(OutboxMessage.dedupe_key).startswith(f"review_request:{report_id}:"),
                   col(OutboxMessage.message_id).is_not(None))
            .order_by(col(OutboxMessage.id))
        ).all()
        return [(chat_id or 0, message_id or 0, locale or "zh_CN")
                for chat_id, message_id, locale in rows]

    targets = await read(context, load)
    query = tapped.callback_query if tapped else None
    tapped_at = None
    if query is not None and query.message is not None:
        tapped_at = (query.message.chat.id, query.message.message_id)
        if tapped_at not in {(c, m) for c, m, _ in targets}:
            user = tapped.effective_user if tapped else None
            locale = "zh_CN"
            if user is not None:
                me = await read(context, lambda s: s.exec(
                    select(Cadre).where(Cadre.telegram_user_id == user.id)).first())
                locale = me.locale if me and me.locale else locale
            targets.append((tapped_at[0], tapped_at[1], locale))
    for chat_id, message_id, locale in targets:
        r = Renderer(locale)
        card = await read(context, _card_maker(report_id, r))
        if card is None:
            continue
        try:
            await context.bot.edit_message_text(card.text, chat_id=chat_id,
                                                message_id=message_id, parse_mode=ParseMode.HTML,
                                                reply_markup=card.markup)
        except BadRequest as exc:  # already shows it ("not modified"), or was deleted
            if "not modified" not in str(exc) and "not found" not in str(exc):
                raise


def _card_maker(report_id: int, r: Renderer) -> Callable[[Session], cards.Card | None]:
    return lambda session: cards.review_card(session, report_id, r)


async def decide(update: Update, context: Context, p: Person, tap: ReviewGrade) -> None:
    """Approve with the grade tapped."""
    query = update.callback_query
    assert query is not None
    try:
        await run(context, lambda ctx: approve_report(ctx, p.id, tap.report, tap.grade))
    except Refused as refusal:
        await _refused(update, context, refusal, tap.report)
        return
    await query.answer(p.r.label("review.approved", grade=p.r.label(f"grade.{tap.grade}")))
    await _refresh_cards(context, tap.report, update)


async def _refused(update: Update, context: Context, refusal: Refused, report_id: int) -> None:
    """Already decided by someone else: say by whom and show it on every card; else refuse."""
    if refusal.code == "already_decided":
        await _tell_already_decided(update, context, str(refusal.params.get("by") or ""))
        await _refresh_cards(context, report_id, update)
        return
    await refuse(update, context, refusal)


async def _tell_already_decided(update: Update, context: Context, by: str) -> None:
    p = context.person
    assert p is not None
    query = update.callback_query
    if query is not None:
        await query.answer(p.r.label("review.already_handled", by=by), show_alert=True)
    else:
        await answer(update, p.r.text("review.already_handled", by=by))


# -- return / reject with a reason ----------------------------------------------------------


async def ask_reason(update: Update, context: Context, p: Person, tap: ReviewReason
                     ) -> str | int:
    query = update.callback_query
    assert query is not None
    state, decider = await read(context, lambda s: _state_of(s, tap.report))
    if state != SUBMITTED:
        await _tell_already_decided(update, context, decider)
        return ConversationHandler.END
    await query.answer()
    context.memory[KEY] = {"report": tap.report, "action": tap.action}
    await answer(update, p.r.text(f"review.ask_reason_{tap.action}"),
                 InlineKeyboardMarkup([[ReviewCancel().button(p.r.label("review.cancel"))]]))
    return REASON


def _state_of(session: Session, report_id: int) -> tuple[str, str]:
    """The report's state and who decided it (the door made sure the report exists)."""
    report = session.get(Report, report_id)
    assert report is not None
    reviewer = None if report.reviewer_id is None else session.get(Cadre, report.reviewer_id)
    return report.state, reviewer.name if reviewer else ""


async def reason(update: Update, context: Context) -> str | int:
    p = await person(update, context)
    message = update.effective_message
    pending: dict[str, Any] = context.memory.get(KEY) or {}
    if p is None or message is None or not pending:
        return ConversationHandler.END
    text = await typed_text(update, p, limits.REASON)
    if text is None:
        return REASON
    report_id, action = int(pending["report"]), pending["action"]
    operation = return_report if action == "ret" else reject_report
    try:
        await run(context, lambda ctx: operation(ctx, p.id, report_id, text))
    except Refused as refusal:
        context.memory.pop(KEY, None)
        await _refused(update, context, refusal, report_id)
        return ConversationHandler.END
    context.memory.pop(KEY, None)
    await answer(update, p.r.text(f"review.done_{action}"), menu(p))
    await _refresh_cards(context, report_id, None)
    return ConversationHandler.END


cancel_reason = canceller(KEY, "review.cancelled")
cancel_reason_tap = tapped(cancel_reason)


# -- what waits ---------------------------------------------------------------------------


async def pending(update: Update, context: Context) -> None:
    """/pending and the 待审批 menu button: the first page."""
    p = await person(update, context, Door.REVIEWER)
    if p is not None:
        await _pending_page(update, context, p, 0)


async def pending_page(update: Update, context: Context, p: Person, tap: ReviewPage) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer()
    await _pending_page(update, context, p, tap.page)


async def _pending_page(update: Update, context: Context, p: Person, number: int) -> None:
    def load(ctx: Ctx) -> tuple[ZoneInfo, list[tuple[Report, Task, Cadre]]]:
        result = []
        for report in pending_for(ctx, p.id, limit=200):
            task = ctx.session.get(Task, report.task_id)
            reporter = ctx.session.get(Cadre, report.reporter_id)
            assert task is not None and reporter is not None
            result.append((report, task, reporter))
        return zone_of(ctx.session, p.cadre, ctx.tz), result

    zone, waiting = await run(context, load)
    if not waiting:
        await edit_or_send(update, p.r.text("review.nothing_waits"), None)
        return
    page = paginate(waiting, number, PER_PAGE)
    rows = [[ReviewOpen(report.id or 0).button(
        p.r.label("review.open", name=reporter.name, title=task.title[:20]))]
        for report, task, reporter in page.shown]
    nav = pager(p.r, ReviewPage, page)
    if nav:
        rows.append(nav)
    text = p.r.render("pending_list", count=len(waiting), items=page.shown, zone=zone)
    await edit_or_send(update, text, InlineKeyboardMarkup(rows))


async def open_card(update: Update, context: Context, p: Person, tap: ReviewOpen) -> None:
    """A waiting report's card with its evidence; the door checked this reviewer may see it."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    card = await read(context, lambda s: cards.review_card(s, tap.report, p.r))
    chat = update.effective_chat
    assert card is not None and chat is not None
    for item in card.evidence:
        if item.get("type") == "photo":
            await chat.send_photo(item["file_id"])
        elif item.get("type") == "document":
            await chat.send_document(item["file_id"])
    await answer(update, card.text, card.markup)


# -- delegation -----------------------------------------------------------------------------


async def delegate_start(update: Update, context: Context) -> str | int:
    p = await person(update, context, Door.REVIEWER)
    if p is None:
        return ConversationHandler.END
    context.memory.pop("delegate", None)
    await DELEGATE_PICKER.start(update, context, p)
    return DELEGATE_WHO


async def delegate_who(update: Update, context: Context, p: Person, cadre_id: int) -> str | int:
    """The delegate tapped or found (models/admin.py delegate_review checks them again)."""
    found = await read(context, lambda s: s.get(Cadre, cadre_id))
    if found is None or not found.active:
        await answer(update, p.r.text("picker.no_cadre"))
        return DELEGATE_WHO
    if found.id == p.id:  # said now, not after the dates
        await answer(update, p.r.text("refused.delegate_self"))
        return DELEGATE_WHO
    context.memory["delegate"] = {"to": found.id, "name": found.name}
    await answer(update, p.r.text("delegate.ask_dates", name=found.name))
    return DELEGATE_DATES


async def delegate_dates(update: Update, context: Context) -> str | int:
    p = await person(update, context)
    message = update.effective_message
    chosen: dict[str, Any] = context.memory.get("delegate") or {}
    if p is None or message is None or not chosen:
        return ConversationHandler.END
    typed = unicodedata.normalize("NFKC", message.text or "")  # full-width digits, ～
    parts = typed.replace("~", " ").split()
    try:
        starts, ends = date.fromisoformat(parts[0]), date.fromisoformat(parts[-1])
    except (ValueError, IndexError):
        await answer(update, p.r.text("delegate.bad_dates"))
        return DELEGATE_DATES
    try:
        await run(context, lambda ctx: delegate_review(
            ctx, p.id, chosen["to"], starts, ends, max_days=app(context).max_delegation_days))
    except Refused as refusal:
        await answer(update, refusal_text(p.r, refusal))
        return DELEGATE_DATES
    context.memory.pop("delegate", None)
    await answer(update, p.r.text("delegate.done", name=chosen["name"], starts=starts,
                                  ends=ends), menu(p))
    return ConversationHandler.END


async def delegate_cancel(update: Update, context: Context) -> int:
    """/cancel in /delegate: says that no delegation was made (to whom, if one was chosen) and
    that those already given stay, with where to see and revoke them."""
    chosen: dict[str, Any] = context.memory.pop("delegate", None) or {}
    p = await person(update, context)
    if p is not None:
        text = (p.r.text("delegate.cancelled_named", name=chosen["name"]) if "name" in chosen
                else p.r.text("delegate.cancelled_nothing"))
        await answer(update, text + "\n" + p.r.text("delegate.cancelled_others"), menu(p))
    return ConversationHandler.END


def register(application: KaoheApp) -> None:
    typed = filters.TEXT & ~filters.COMMAND
    application.add_handler(ConversationHandler(
        entry_points=[on(ReviewReason, ask_reason)],
        states={REASON: [MessageHandler(typed, reason)]},
        fallbacks=[CommandHandler("cancel", cancel_reason), on(ReviewCancel, cancel_reason_tap)],
        name="review_reason", persistent=True, allow_reentry=True,
    ))
    application.add_handler(ConversationHandler(
        entry_points=[CommandHandler("delegate", delegate_start)],
        states={DELEGATE_WHO: DELEGATE_PICKER.handlers(DELEGATE_WHO, delegate_who),
                DELEGATE_DATES: [MessageHandler(typed, delegate_dates)]},
        fallbacks=[CommandHandler("cancel", delegate_cancel)],
        name="delegate", persistent=True, allow_reentry=True,
    ))
    application.add_handler(on(ReviewGrade, decide))
    application.add_handler(on(ReviewOpen, open_card))
    application.add_handler(on(ReviewPage, pending_page))
    application.add_handler(CommandHandler("pending", pending))
    application.add_handler(MessageHandler(filters.Text(menu_labels("pending")), pending))
