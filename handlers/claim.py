"""Innovation claims 创新突破: a cadre claims an item (kind and level from the config table),
describes it and adds evidence; admins approve or reject it with a reason."""

from __future__ import annotations

from typing import Any

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
from models.errors import Refused
from models.innovation import approve_claim, claim_innovation, reject_claim
from ui import cards

KIND, LEVEL, DESCRIBE, EVIDENCE, CONFIRM = "kind", "level", "describe", "evidence", "confirm"
REJECT_REASON = "reject_reason"
KEY = "claim"


def _entered(context: Context) -> dict[str, Any]:
    data: dict[str, Any] = context.user_data.setdefault(KEY, {})  # type: ignore[union-attr]
    return data


async def begin(update: Update, context: Context) -> str | int:
    p = await person(update, context)
    if p is None:
        return ConversationHandler.END
    context.user_data[KEY] = {}  # type: ignore[index]
    kinds = list(app(context).rules.innovation_points)
    rows = [[button(p.r.label(f"innovation.kind.{kind}"), f"cl:k:{kind}")] for kind in kinds]
    rows.append([button(p.r.label("claim.cancel"), "cl:x")])
    await answer(update, p.r.text("claim.ask_kind"), InlineKeyboardMarkup(rows))
    return KIND


async def kind(update: Update, context: Context) -> str | int:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    p = await person(update, context)
    chosen = query.data.split(":")[2]
    levels = app(context).rules.innovation_points.get(chosen)
    if p is None or levels is None:
        return ConversationHandler.END
    _entered(context)["kind"] = chosen
    rows = [[button(p.r.label("claim.level_button", level=p.r.label(f"innovation.level.{lv}"),
                              points=format(points.normalize(), "f")), f"cl:l:{lv}")]
            for lv, points in levels.items()]
    rows.append([button(p.r.label("claim.cancel"), "cl:x")])
    await query.edit_message_text(p.r.text("claim.ask_level"),
                                  reply_markup=InlineKeyboardMarkup(rows))
    return LEVEL


async def level(update: Update, context: Context) -> str | int:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    p = await person(update, context)
    entered = _entered(context)
    chosen = query.data.split(":")[2]
    if p is None or app(context).rules.innovation_value(entered.get("kind", ""), chosen) is None:
        return ConversationHandler.END
    entered["level"] = chosen
    await query.edit_message_text(p.r.text("claim.ask_description"))
    return DESCRIBE


async def describe(update: Update, context: Context) -> str | int:
    p = await person(update, context)
    message = update.effective_message
    if p is None or message is None:
        return ConversationHandler.END
    text = (message.text or "").strip()
    if not text or len(text) > 1000:
        await answer(update, p.r.text("claim.description_length", max=1000))
        return DESCRIBE
    _entered(context)["description"] = text
    await answer(update, p.r.text("claim.ask_evidence"),
                 InlineKeyboardMarkup([[button(p.r.label("report.skip"), "cl:done")]]))
    return EVIDENCE


async def evidence(update: Update, context: Context) -> str | int:
    p = await person(update, context)
    message = update.effective_message
    if p is None or message is None:
        return ConversationHandler.END
    files = _entered(context).setdefault("evidence", [])
    if message.photo:
        files.append({"type": "photo", "file_id": message.photo[-1].file_id})
    elif message.document:
        files.append({"type": "document", "file_id": message.document.file_id,
                      "name": message.document.file_name or ""})
    await answer(update, p.r.text("report.evidence_received", count=len(files)),
                 InlineKeyboardMarkup([[button(p.r.label("report.done"), "cl:done")]]))
    return EVIDENCE


async def summary(update: Update, context: Context) -> str | int:
    query = update.callback_query
    if query is not None:
        await query.answer()
    p = await person(update, context)
    entered = _entered(context)
    if p is None or "level" not in entered:
        return ConversationHandler.END
    points = app(context).rules.innovation_value(entered["kind"], entered["level"])
    text = p.r.render("claim_summary", entered=entered, points=points)
    markup = InlineKeyboardMarkup([[button(p.r.label("claim.submit"), "cl:ok"),
                                    button(p.r.label("claim.cancel"), "cl:x")]])
    await answer(update, text, markup)
    return CONFIRM


async def submit(update: Update, context: Context) -> str | int:
    query = update.callback_query
    assert query is not None
    await query.answer()
    p = await person(update, context)
    entered = context.user_data.pop(KEY, None) or {}  # type: ignore[union-attr]
    if p is None or "level" not in entered:
        return ConversationHandler.END
    try:
        await run(context, lambda ctx: claim_innovation(
            ctx, p.id, entered["kind"], entered["level"], entered.get("description", ""),
            entered.get("evidence", [])))
    except Refused as refusal:
        await answer(update, refusal_text(p.r, refusal), menu(p))
        return ConversationHandler.END
    await query.edit_message_reply_markup(None)
    await answer(update, p.r.text("claim.submitted"), menu(p))
    return ConversationHandler.END


cancel = canceller(KEY, "claim.cancelled")


# -- the admin's side -------------------------------------------------------------------------


async def approve(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    p = await person(update, context)
    claim_id = int_arg(query.data, 1)
    if p is None or claim_id is None:
        await query.answer()
        return
    try:
        await run(context, lambda ctx: approve_claim(ctx, p.id, claim_id))
    except Refused as refusal:
        await query.answer(refusal_text(p.r, refusal)[:190], show_alert=True)
        return
    await query.answer()
    card = await read(context, lambda s: cards.claim_card(s, claim_id, p.r))
    if card is not None:
        await query.edit_message_text(card.text, parse_mode="HTML", reply_markup=card.markup)


async def ask_reject_reason(update: Update, context: Context) -> str | int:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    p = await person(update, context)
    claim_id = int_arg(query.data, 1)
    if p is None or claim_id is None:
        return ConversationHandler.END
    context.user_data["claim_reject"] = claim_id  # type: ignore[index]
    await answer(update, p.r.text("claim.ask_reject_reason"))
    return REJECT_REASON


async def reject_with_reason(update: Update, context: Context) -> str | int:
    p = await person(update, context)
    message = update.effective_message
    claim_id = context.user_data.pop("claim_reject", None)  # type: ignore[union-attr]
    if p is None or message is None or claim_id is None:
        return ConversationHandler.END
    reason = (message.text or "").strip()
    try:
        await run(context, lambda ctx: reject_claim(ctx, p.id, claim_id, reason))
    except Refused as refusal:
        await answer(update, refusal_text(p.r, refusal), menu(p))
        return ConversationHandler.END
    await answer(update, p.r.text("claim.rejected"), menu(p))
    return ConversationHandler.END


def register(application: Application) -> None:  # type: ignore[type-arg]
    typed = filters.TEXT & ~filters.COMMAND
    application.add_handler(ConversationHandler(
        entry_points=[CommandHandler("claim", begin)],
        states={
            KIND: [CallbackQueryHandler(kind, pattern=r"^cl:k:\w+$")],
            LEVEL: [CallbackQueryHandler(level, pattern=r"^cl:l:\w+$")],
            DESCRIBE: [MessageHandler(typed, describe)],
            EVIDENCE: [MessageHandler(filters.PHOTO | filters.Document.ALL, evidence),
                       CallbackQueryHandler(summary, pattern=r"^cl:done$")],
            CONFIRM: [CallbackQueryHandler(submit, pattern=r"^cl:ok$")],
        },
        fallbacks=[CommandHandler("cancel", cancel),
                   CallbackQueryHandler(cancel, pattern=r"^cl:x$")],
        name="claim", persistent=True, allow_reentry=True,
    ))
    application.add_handler(ConversationHandler(
        entry_points=[CallbackQueryHandler(ask_reject_reason, pattern=r"^ic:\d+:no$")],
        states={REJECT_REASON: [MessageHandler(typed, reject_with_reason)]},
        fallbacks=[CommandHandler("cancel", cancel)],
        name="claim_reject", persistent=True, allow_reentry=True,
    ))
    application.add_handler(CallbackQueryHandler(approve, pattern=r"^ic:\d+:ok$"))
