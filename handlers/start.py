"""Binding an account with an invite code, the menu, help, language, and what is not understood."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from handlers.common import (
    Context,
    answer,
    button,
    locale_of,
    menu,
    menu_labels,
    person,
    refusal_text,
    run,
)
from models.errors import Refused
from models.invites import redeem_invite
from models.people import set_locale
from ui.render import Renderer


async def start(update: Update, context: Context) -> None:
    """/start [code] and the deep link t.me/<bot>?start=<code>."""
    user = update.effective_user
    if user is None:
        return
    code = context.args[0] if context.args else ""
    if code:
        r = Renderer(locale_of(update, context))
        try:
            cadre = await run(context, lambda ctx: redeem_invite(ctx, code, user.id))
        except Refused as refusal:
            await answer(update, refusal_text(r, refusal))
            return
        del cadre
    p = await person(update, context)
    if p is None:
        return
    await answer(update, p.r.render("welcome", name=p.cadre.name, admin=p.admin,
                                    supervisor=p.supervisor), menu(p))


async def help_command(update: Update, context: Context) -> None:
    p = await person(update, context)
    if p is None:
        return
    await answer(update, p.r.render("help", admin=p.admin, supervisor=p.supervisor), menu(p))


async def lang(update: Update, context: Context) -> None:
    p = await person(update, context)
    if p is None:
        return
    markup = InlineKeyboardMarkup([[button("中文", "lang:zh_CN"), button("English", "lang:en")]])
    await answer(update, p.r.text("lang.choose"), markup)


async def lang_chosen(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    p = await person(update, context)
    if p is None:
        await query.answer()
        return
    locale = query.data.split(":", 1)[1]
    try:
        await run(context, lambda ctx: set_locale(ctx, p.id, locale))
    except Refused as refusal:
        await query.answer(refusal_text(p.r, refusal), show_alert=True)
        return
    p.r = Renderer(locale)
    p.cadre.locale = locale
    await query.answer()
    await query.edit_message_text(p.r.text("lang.set"))
    await answer(update, p.r.text("lang.menu"), menu(p))


async def unknown_command(update: Update, context: Context) -> None:
    p = await person(update, context)
    if p is None:
        return
    await answer(update, p.r.text("bot.unknown_command"), menu(p))


async def not_understood(update: Update, context: Context) -> None:
    p = await person(update, context)
    if p is None:
        return
    await answer(update, p.r.text("bot.not_understood"), menu(p))


async def stale_button(update: Update, context: Context) -> None:
    """A tap on a button no handler (or conversation step) expects any more."""
    query = update.callback_query
    assert query is not None
    r = Renderer(locale_of(update, context))
    await query.answer(r.label("bot.stale_button"), show_alert=True)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(MessageHandler(filters.Text(menu_labels("help")), help_command))
    application.add_handler(CommandHandler("lang", lang))
    application.add_handler(CallbackQueryHandler(lang_chosen, pattern=r"^lang:(zh_CN|en)$"))


def register_fallbacks(application: Application) -> None:  # type: ignore[type-arg]
    """Added last, in the same group as every feature: what no feature handled."""
    application.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    application.add_handler(MessageHandler(filters.ALL, not_understood))
    application.add_handler(CallbackQueryHandler(stale_button))
