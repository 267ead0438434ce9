"""The annual rating in the bot.

Admins (/admin → 年度评定): the preview of the active period with each rating pool's quota and
any tie at the boundary (worked out by a job beside the bot), then publish (公示), the
objections with their answer buttons, finalise, and unlock with a reason. Cadres: the 公示
notice's 提出异议 button starts a short conversation — reason → confirm — that lodges their one
objection. Every step is a models/rating.py operation that checks the actor's right on the
server.
"""

from __future__ import annotations

from typing import Any, Literal

from telegram import InlineKeyboardMarkup, Update
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
    menu,
    person,
    read,
    refusal_text,
    refuse,
    run,
)
from handlers.dispatch import on, tapped
from handlers.typed import typed_text
from models import limits, rating
from models.doors import Door
from models.errors import Refused
from models.rating_preview import ask_preview
from models.tables import Period
from models.views import active_period
from ui import rating_cards
from ui.callbacks import (
    AdminAction,
    ObjectionAnswer,
    ObjectionNew,
    ObjectionStep,
    RatingAction,
    RatingConfirm,
)

REASON, CONFIRM = "reason", "confirm"
ADMIN_KEY, CADRE_KEY = "rating_reason", "objection"


async def _admin(update: Update, context: Context) -> Person | None:
    """An admin typing a reason (the door of the button that asked was checked already; the
    person may have lost the right since)."""
    return await person(update, context, Door.ADMIN)


# -- the office's side ------------------------------------------------------------------------


async def show(update: Update, context: Context, p: Person, tap: AdminAction) -> None:
    """The active period's rating: its preview is a job (models/rating_preview.py:
    preview_job), queued with this tap; the card with the buttons for the next step comes
    through the outbox (ui/rating_cards.py: preview_done), while the bot answers others."""
    assert update.callback_query is not None
    period = await read(context, active_period)
    if period is None or period.id is None:
        await update.callback_query.answer()
        await answer(update, p.r.text("refused.no_active_period"))
        return
    period_id, days = period.id, app(context).publicity_days
    queued = await run(context, lambda ctx: ask_preview(ctx, period_id, days, p.id))
    await update.callback_query.answer(None if queued else p.r.text("rating.preview_pending"))


async def ask_confirmation(update: Update, context: Context, p: Person, tap: RatingAction
                           ) -> None:
    """Publishing tells every cadre and finalising locks the period: each is confirmed first."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    period = await read(context, lambda s: s.get(Period, tap.period))
    if period is None:  # the office's door does not load the period: a forged button's
        await answer(update, p.r.text("admin.period_gone"))
        return
    action: Literal["pub", "fin"] = "pub" if tap.action == "pub" else "fin"
    key = "rating.confirm_publish" if action == "pub" else "rating.confirm_finalise"
    days = app(context).publicity_days
    await answer(update, p.r.text(key, period=period.name, days=days), InlineKeyboardMarkup([[
        RatingConfirm(action, tap.period).button(p.r.label("rating.confirm_button")),
        AdminAction("x").button(p.r.label("objection.cancel")),
    ]]))


async def confirmed(update: Update, context: Context, p: Person, tap: RatingConfirm) -> None:
    query = update.callback_query
    assert query is not None
    action, period_id = tap.action, tap.period
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
        await refuse(update, context, refusal)  # answers the tap: an alert
        return
    await query.answer()
    await query.edit_message_reply_markup(None)
    await answer(update, done)


async def list_objections(update: Update, context: Context, p: Person, tap: RatingAction
                          ) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer()
    period_id = tap.period
    found = await read(context, lambda s: rating.objections(s, period_id))
    if not found:
        await answer(update, p.r.text("objection.none"))
    for objection in found[:20]:  # open ones come first
        objection_id = objection.id or 0
        card = await read(context, lambda s: rating_cards.objection_card(
            s, objection_id, p.r))  # noqa: B023
        if card is not None:
            await answer(update, card.text, card.markup)


async def ask_admin_reason(update: Update, context: Context, p: Person,
                           tap: ObjectionAnswer | RatingAction) -> str | int:
    """Upholding, dismissing and unlocking each need a reason: ask for it."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    action: str = tap.decision if isinstance(tap, ObjectionAnswer) else tap.action
    target = tap.objection if isinstance(tap, ObjectionAnswer) else tap.period
    context.memory[ADMIN_KEY] = {"action": action, "id": target}
    key = {"up": "objection.ask_upheld", "dis": "objection.ask_dismissed"}.get(
        action, "rating.ask_unlock_reason")
    await answer(update, p.r.text(key))
    return REASON


async def admin_reason(update: Update, context: Context) -> str | int:
    p = await _admin(update, context)
    message = update.effective_message
    entered: dict[str, Any] = context.memory.get(ADMIN_KEY) or {}
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
        context.memory.pop(ADMIN_KEY, None)
        return ConversationHandler.END
    context.memory.pop(ADMIN_KEY, None)
    await answer(update, done, menu(p))
    return ConversationHandler.END


# -- the cadre's objection --------------------------------------------------------------------


async def begin_objection(update: Update, context: Context, p: Person, tap: ObjectionNew
                          ) -> str | int:
    assert update.callback_query is not None
    await update.callback_query.answer()
    period_id = tap.period
    try:  # say now, not after the cadre has typed a reason, when an objection is not possible
        await run(context, lambda ctx: rating.ensure_may_object(ctx, p.id, period_id))
    except Refused as refusal:
        await answer(update, refusal_text(p.r, refusal), menu(p))
        return ConversationHandler.END
    context.memory[CADRE_KEY] = {"period": period_id}
    await answer(update, p.r.text("objection.ask_reason", max=rating.MAX_REASON))
    return REASON


async def objection_reason(update: Update, context: Context) -> str | int:
    p = await person(update, context)
    message = update.effective_message
    entered: dict[str, Any] = context.memory.get(CADRE_KEY) or {}
    if p is None or message is None or not entered:
        return ConversationHandler.END
    reason = await typed_text(update, p, limits.REASON)
    if reason is None:
        return REASON
    entered["reason"] = reason
    await answer(update, p.r.text("objection.confirm", reason=reason), InlineKeyboardMarkup([[
        ObjectionStep("ok").button(p.r.label("objection.submit")),
        ObjectionStep("x").button(p.r.label("objection.cancel")),
    ]]))
    return CONFIRM


async def lodge(update: Update, context: Context, p: Person, tap: ObjectionStep) -> str | int:
    query = update.callback_query
    assert query is not None
    await query.answer()
    entered = context.memory.pop(CADRE_KEY, None) or {}
    if "reason" not in entered:
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


def register(application: KaoheApp) -> None:
    typed = filters.TEXT & ~filters.COMMAND
    application.add_handler(ConversationHandler(
        entry_points=[on(ObjectionNew, begin_objection)],
        states={REASON: [MessageHandler(typed, objection_reason)],
                CONFIRM: [on(ObjectionStep, lodge, when=lambda tap: tap.step == "ok")]},
        fallbacks=[CommandHandler("cancel", cancel_objection),
                   on(ObjectionStep, tapped(cancel_objection), when=lambda tap: tap.step == "x")],
        name="objection", persistent=True, allow_reentry=True,
    ))
    application.add_handler(ConversationHandler(
        entry_points=[on(ObjectionAnswer, ask_admin_reason),
                      on(RatingAction, ask_admin_reason, when=lambda tap: tap.action == "unl")],
        states={REASON: [MessageHandler(typed, admin_reason)]},
        fallbacks=[CommandHandler("cancel", cancel_reason)],
        name="rating_reason", persistent=True, allow_reentry=True,
    ))
    application.add_handler(on(AdminAction, show, when=lambda tap: tap.action == "rating"))
    application.add_handler(on(RatingAction, ask_confirmation,
                               when=lambda tap: tap.action in ("pub", "fin")))
    application.add_handler(on(RatingConfirm, confirmed))
    application.add_handler(on(RatingAction, list_objections,
                               when=lambda tap: tap.action == "obj"))
