"""Innovation claims 创新突破: a cadre claims an item (kind and level from the config table),
describes it and adds evidence; admins approve or reject it with a reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
    check,
    menu,
    person,
    read,
    refusal_text,
    refuse,
    run,
)
from handlers.dispatch import on, refuse_unparsable, tapped
from handlers.typed import typed_text
from models import limits
from models.errors import Refused
from models.innovation import approve_claim, claim_innovation, ensure_rejectable, reject_claim
from ui import cards
from ui.callbacks import ClaimDecision, ClaimKind, ClaimLevel, ClaimStep

KIND, LEVEL, DESCRIBE, EVIDENCE, CONFIRM = "kind", "level", "describe", "evidence", "confirm"
REJECT_REASON = "reject_reason"
KEY = "claim"


def _entered(context: Context) -> dict[str, Any]:
    data: dict[str, Any] = context.memory.setdefault(KEY, {})
    return data


async def begin(update: Update, context: Context) -> str | int:
    p = await person(update, context)
    if p is None:
        return ConversationHandler.END
    context.memory[KEY] = {}
    kinds = list(app(context).rules.innovation_points)
    rows = [[ClaimKind(kind).button(p.r.label(f"innovation.kind.{kind}"))] for kind in kinds]
    rows.append([ClaimStep("x").button(p.r.label("claim.cancel"))])
    await answer(update, p.r.text("claim.ask_kind"), InlineKeyboardMarkup(rows))
    return KIND


async def kind(update: Update, context: Context, p: Person, tap: ClaimKind) -> str | int:
    query = update.callback_query
    assert query is not None
    chosen = tap.kind
    levels = app(context).rules.innovation_points.get(chosen)
    if levels is None:  # not a kind of the configured table: refused as forged data is
        await refuse_unparsable(update, context, "no such innovation kind")
        return KIND
    await query.answer()
    _entered(context)["kind"] = chosen
    rows = [[ClaimLevel(lv).button(p.r.label(
        "claim.level_button", level=p.r.label(f"innovation.level.{lv}"),
        points=format(points.normalize(), "f")))] for lv, points in levels.items()]
    rows.append([ClaimStep("x").button(p.r.label("claim.cancel"))])
    await query.edit_message_text(p.r.text("claim.ask_level"),
                                  reply_markup=InlineKeyboardMarkup(rows))
    return LEVEL


async def level(update: Update, context: Context, p: Person, tap: ClaimLevel) -> str | int:
    query = update.callback_query
    assert query is not None
    entered = _entered(context)
    chosen = tap.level
    if app(context).rules.innovation_value(entered.get("kind", ""), chosen) is None:
        await refuse_unparsable(update, context, "no such innovation level")
        return LEVEL
    await query.answer()
    entered["level"] = chosen
    await query.edit_message_text(p.r.text("claim.ask_description"))
    return DESCRIBE


async def describe(update: Update, context: Context) -> str | int:
    p = await person(update, context)
    message = update.effective_message
    if p is None or message is None:
        return ConversationHandler.END
    text = await typed_text(update, p, limits.DESCRIPTION)
    if text is None:
        return DESCRIBE
    _entered(context)["description"] = text
    await answer(update, p.r.text("claim.ask_evidence"),
                 InlineKeyboardMarkup([[ClaimStep("done").button(p.r.label("report.skip"))]]))
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
                 InlineKeyboardMarkup([[ClaimStep("done").button(p.r.label("report.done"))]]))
    return EVIDENCE


async def summary(update: Update, context: Context, p: Person, tap: ClaimStep) -> str | int:
    assert update.callback_query is not None
    await update.callback_query.answer()
    entered = _entered(context)
    if "level" not in entered:
        return ConversationHandler.END
    points = app(context).rules.innovation_value(entered["kind"], entered["level"])
    text = p.r.render("claim_summary", entered=entered, points=points)
    markup = InlineKeyboardMarkup([[ClaimStep("ok").button(p.r.label("claim.submit")),
                                    ClaimStep("x").button(p.r.label("claim.cancel"))]])
    await answer(update, text, markup)
    return CONFIRM


async def submit(update: Update, context: Context, p: Person, tap: ClaimStep) -> str | int:
    query = update.callback_query
    assert query is not None
    await query.answer()
    entered = context.memory.pop(KEY, None) or {}
    if "level" not in entered:
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


async def approve(update: Update, context: Context, p: Person, tap: ClaimDecision) -> None:
    query = update.callback_query
    assert query is not None
    try:
        await run(context, lambda ctx: approve_claim(ctx, p.id, tap.claim))
    except Refused as refusal:
        await refuse(update, context, refusal)
        return
    await query.answer()
    card = await read(context, lambda s: cards.claim_card(s, tap.claim, p.r))
    if card is not None:
        await query.edit_message_text(card.text, reply_markup=card.markup)


async def ask_reject_reason(update: Update, context: Context, p: Person, tap: ClaimDecision
                            ) -> str | int:
    assert update.callback_query is not None
    try:  # say now, not after a reason is typed, that the claim was decided (or is one's own)
        await check(context, lambda ctx: ensure_rejectable(ctx, p.id, tap.claim))
    except Refused as refusal:
        await refuse(update, context, refusal)
        return ConversationHandler.END
    await update.callback_query.answer()
    context.memory["claim_reject"] = tap.claim
    await answer(update, p.r.text("claim.ask_reject_reason"))
    return REJECT_REASON


async def reject_with_reason(update: Update, context: Context) -> str | int:
    p = await person(update, context)
    message = update.effective_message
    claim_id = context.memory.get("claim_reject")
    if p is None or message is None or claim_id is None:
        return ConversationHandler.END
    reason = await typed_text(update, p, limits.REASON)
    if reason is None:
        return REJECT_REASON  # asked again, the claim still chosen
    context.memory.pop("claim_reject", None)
    try:
        await run(context, lambda ctx: reject_claim(ctx, p.id, claim_id, reason))
    except Refused as refusal:
        await answer(update, refusal_text(p.r, refusal), menu(p))
        return ConversationHandler.END
    await answer(update, p.r.text("claim.rejected"), menu(p))
    return ConversationHandler.END


def _step(step: str) -> Callable[[ClaimStep], bool]:
    return lambda tap: tap.step == step


def register(application: KaoheApp) -> None:
    typed = filters.TEXT & ~filters.COMMAND
    application.add_handler(ConversationHandler(
        entry_points=[CommandHandler("claim", begin)],
        states={
            KIND: [on(ClaimKind, kind)],
            LEVEL: [on(ClaimLevel, level)],
            DESCRIBE: [MessageHandler(typed, describe)],
            EVIDENCE: [MessageHandler(filters.PHOTO | filters.Document.ALL, evidence),
                       on(ClaimStep, summary, when=_step("done"))],
            CONFIRM: [on(ClaimStep, submit, when=_step("ok"))],
        },
        fallbacks=[CommandHandler("cancel", cancel),
                   on(ClaimStep, tapped(cancel), when=_step("x"))],
        name="claim", persistent=True, allow_reentry=True,
    ))
    application.add_handler(ConversationHandler(
        entry_points=[on(ClaimDecision, ask_reject_reason,
                         when=lambda tap: tap.decision == "no")],
        states={REJECT_REASON: [MessageHandler(typed, reject_with_reason)]},
        fallbacks=[CommandHandler("cancel", cancel)],
        name="claim_reject", persistent=True, allow_reentry=True,
    ))
    application.add_handler(on(ClaimDecision, approve, when=lambda tap: tap.decision == "ok"))
