"""The annual rating in the bot.

Admins (/admin → 年度评定): the preview of the active period with each unit's quota and any tie
at the boundary, then publish (公示), the objections with their answer buttons, finalise, and
unlock with a reason. Cadres: the 公示 notice's 提出异议 button starts a short conversation —
reason → confirm — that lodges their one objection. Every step is a models/rating.py operation
that checks the actor's right on the server.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from handlers.common import (
    Context,
    Person,
    answer,
    app,
    button,
    canceller,
    int_arg,
    menu,
    person,
    read,
    refusal_text,
    run,
)
from models import rating
from models.errors import Refused
from models.rating_preview import preview
from models.tables import Period
from models.views import active_period
from models.vocab import FINAL, PUBLICITY, UNLOCKED
from ui import rating_cards

REASON, CONFIRM = "reason", "confirm"
ADMIN_KEY, CADRE_KEY = "rating_reason", "objection"


async def _admin(update: Update, context: Context) -> Person | None:
    query = update.callback_query
    if query is not None:
        await query.answer()
    p = await person(update, context)
    if p is not None and not p.admin:
        await answer(update, p.r.text("refused.forbidden", action="rating"), menu(p))
        return None
    return p


# -- the office's side ------------------------------------------------------------------------


async def show(update: Update, context: Context) -> None:
    """The active period's rating: the preview and the buttons for the next step."""
    p = await _admin(update, context)
    if p is None:
        return
    rules = app(context).rules
    days = app(context).publicity_days

    def build(session: Session) -> tuple[str, InlineKeyboardMarkup | None]:
        period = active_period(session)
        if period is None or period.id is None:
            return p.r.text("refused.no_active_period"), None
        text = rating_cards.preview_card(session, p.r, period, preview(session, rules, period))
        run_row = rating.run_of(session, period.id)
        state = None if run_row is None else run_row.state
        waiting = len(rating.open_objections(session, period.id))
        rows = []
        if period.locked:
            rows.append([button(p.r.label("rating.unlock_button"), f"rt:unl:{period.id}")])
        elif state != PUBLICITY:
            rows.append([button(p.r.label("rating.publish_button", days=days),
                                f"rt:pub:{period.id}")])
        if state in (PUBLICITY, UNLOCKED, FINAL) and rating.objections(session, period.id):
            rows.append([button(p.r.label("rating.objections_button", open=waiting),
                                f"rt:obj:{period.id}")])
        if state in (PUBLICITY, UNLOCKED) and not period.locked:
            rows.append([button(p.r.label("rating.finalise_button"), f"rt:fin:{period.id}")])
        return text, InlineKeyboardMarkup(rows) if rows else None

    text, markup = await read(context, build)
    await answer(update, text, markup)


async def ask_confirmation(update: Update, context: Context) -> None:
    """Publishing tells every cadre and finalising locks the period: each is confirmed first."""
    p = await _admin(update, context)
    query = update.callback_query
    assert query is not None and query.data is not None
    action, period_id = query.data.split(":")[1], int_arg(query.data, 2)
    if p is None or period_id is None:
        return
    period = await read(context, lambda s: s.get(Period, period_id))
    if period is None:
        return
    key = "rating.confirm_publish" if action == "pub" else "rating.confirm_finalise"
    days = app(context).publicity_days
    await answer(update, p.r.text(key, period=period.name, days=days), InlineKeyboardMarkup([[
        button(p.r.label("rating.confirm_button"), f"rt:ok:{action}:{period_id}"),
        button(p.r.label("objection.cancel"), "adm:x"),
    ]]))


async def confirmed(update: Update, context: Context) -> None:
    p = await _admin(update, context)
    query = update.callback_query
    assert query is not None and query.data is not None
    action, period_id = query.data.split(":")[2], int_arg(query.data, 3)
    if p is None or period_id is None:
        return
    days = app(context).publicity_days
    try:
        if action == "pub":
            run_row = await run(context, lambda ctx: rating.publish(ctx, p.id, period_id, days))
            done = p.r.text("rating.published_done", until=run_row.publicity_ends_on.isoformat())
        else:
            await run(context, lambda ctx: rating.finalise(ctx, p.id, period_id))
            period = await read(context, lambda s: s.get(Period, period_id))
            done = p.r.text("rating.finalised_done", period=period.name if period else "")
    except Refused as refusal:
        await answer(update, refusal_text(p.r, refusal))
        return
    await query.edit_message_reply_markup(None)
    await answer(update, done)


async def list_objections(update: Update, context: Context) -> None:
    p = await _admin(update, context)
    query = update.callback_query
    assert query is not None and query.data is not None
    period_id = int_arg(query.data, 2)
    if p is None or period_id is None:
        return
    found = await read(context, lambda s: rating.objections(s, period_id))
    if not found:
        await answer(update, p.r.text("objection.none"))
    for objection in found[:20]:  # open ones come first
        objection_id = objection.id or 0
        card = await read(context, lambda s: rating_cards.objection_card(
            s, objection_id, p.r))  # noqa: B023
        if card is not None:
            await answer(update, card.text, card.markup)


async def ask_admin_reason(update: Update, context: Context) -> str | int:
    """Upholding, dismissing and unlocking each need a reason: ask for it."""
    p = await _admin(update, context)
    query = update.callback_query
    assert query is not None and query.data is not None
    action = query.data.split(":")[1]  # up, dis (an objection) or unl (a period)
    target = int_arg(query.data, 2)
    if p is None or target is None:
        return ConversationHandler.END
    context.user_data[ADMIN_KEY] = {"action": action, "id": target}  # type: ignore[index]
    key = {"up": "objection.ask_upheld", "dis": "objection.ask_dismissed"}.get(
        action, "rating.ask_unlock_reason")
    await answer(update, p.r.text(key))
    return REASON


async def admin_reason(update: Update, context: Context) -> str | int:
    p = await _admin(update, context)
    message = update.effective_message
    entered: dict[str, Any] = context.user_data.get(ADMIN_KEY) or {}  # type: ignore[union-attr]
    if p is None or message is None or not entered:
        return ConversationHandler.END
    reason, target = message.text or "", int(entered["id"])
    try:
        if entered["action"] == "unl":
            period = await run(context, lambda ctx: rating.unlock(ctx, p.id, target, reason))
            done = p.r.text("rating.unlocked", period=period.name)
        else:
            upheld = entered["action"] == "up"
            objection = await run(context, lambda ctx: rating.answer_objection(
                ctx, p.id, target, upheld, reason))
            done = p.r.text("objection.answered", id=objection.id,
                            state=p.r.label(f"objection.state.{objection.state}"))
    except Refused as refusal:
        await answer(update, refusal_text(p.r, refusal))
        if refusal.code in ("reason_required", "reason_too_long"):
            return REASON  # ask again
        context.user_data.pop(ADMIN_KEY, None)  # type: ignore[union-attr]
        return ConversationHandler.END
    context.user_data.pop(ADMIN_KEY, None)  # type: ignore[union-attr]
    await answer(update, done, menu(p))
    return ConversationHandler.END


# -- the cadre's objection --------------------------------------------------------------------


async def begin_objection(update: Update, context: Context) -> str | int:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    p = await person(update, context)
    period_id = int_arg(query.data, 2)
    if p is None or period_id is None:
        return ConversationHandler.END
    try:  # say now, not after the cadre has typed a reason, when an objection is not possible
        await run(context, lambda ctx: rating.ensure_may_object(ctx, p.id, period_id))
    except Refused as refusal:
        await answer(update, refusal_text(p.r, refusal), menu(p))
        return ConversationHandler.END
    context.user_data[CADRE_KEY] = {"period": period_id}  # type: ignore[index]
    await answer(update, p.r.text("objection.ask_reason", max=rating.MAX_REASON))
    return REASON


async def objection_reason(update: Update, context: Context) -> str | int:
    p = await person(update, context)
    message = update.effective_message
    entered: dict[str, Any] = context.user_data.get(CADRE_KEY) or {}  # type: ignore[union-attr]
    if p is None or message is None or not entered:
        return ConversationHandler.END
    reason = (message.text or "").strip()
    if not reason or len(reason) > rating.MAX_REASON:
        await answer(update, p.r.text("objection.reason_length", max=rating.MAX_REASON))
        return REASON
    entered["reason"] = reason
    await answer(update, p.r.text("objection.confirm", reason=reason), InlineKeyboardMarkup([[
        button(p.r.label("objection.submit"), "obj:ok"),
        button(p.r.label("objection.cancel"), "obj:x"),
    ]]))
    return CONFIRM


async def lodge(update: Update, context: Context) -> str | int:
    query = update.callback_query
    assert query is not None
    await query.answer()
    p = await person(update, context)
    entered = context.user_data.pop(CADRE_KEY, None) or {}  # type: ignore[union-attr]
    if p is None or "reason" not in entered:
        return ConversationHandler.END
    try:
        await run(context, lambda ctx: rating.lodge_objection(
            ctx, p.id, int(entered["period"]), entered["reason"]))
    except Refused as refusal:
        await answer(update, refusal_text(p.r, refusal), menu(p))
        return ConversationHandler.END
    await query.edit_message_reply_markup(None)
    await answer(update, p.r.text("objection.lodged"), menu(p))
    return ConversationHandler.END


cancel_objection = canceller(CADRE_KEY, "objection.cancelled")
cancel_reason = canceller(ADMIN_KEY, "rating.cancelled")


def register(application: Application) -> None:  # type: ignore[type-arg]
    typed = filters.TEXT & ~filters.COMMAND
    application.add_handler(ConversationHandler(
        entry_points=[CallbackQueryHandler(begin_objection, pattern=r"^obj:new:\d+$")],
        states={REASON: [MessageHandler(typed, objection_reason)],
                CONFIRM: [CallbackQueryHandler(lodge, pattern=r"^obj:ok$")]},
        fallbacks=[CommandHandler("cancel", cancel_objection),
                   CallbackQueryHandler(cancel_objection, pattern=r"^obj:x$")],
        name="objection", persistent=True, allow_reentry=True,
    ))
    application.add_handler(ConversationHandler(
        entry_points=[CallbackQueryHandler(ask_admin_reason,
                                           pattern=r"^(obj:(up|dis)|rt:unl):\d+$")],
        states={REASON: [MessageHandler(typed, admin_reason)]},
        fallbacks=[CommandHandler("cancel", cancel_reason)],
        name="rating_reason", persistent=True, allow_reentry=True,
    ))
    application.add_handler(CallbackQueryHandler(show, pattern=r"^adm:rating$"))
    application.add_handler(CallbackQueryHandler(ask_confirmation, pattern=r"^rt:(pub|fin):\d+$"))
    application.add_handler(CallbackQueryHandler(confirmed, pattern=r"^rt:ok:(pub|fin):\d+$"))
    application.add_handler(CallbackQueryHandler(list_objections, pattern=r"^rt:obj:\d+$"))
