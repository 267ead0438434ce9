"""Binding an account with an invite code, the menu, help, language, and what is not understood."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, MenuButtonWebApp, Update, WebAppInfo
from telegram.constants import ChatType
from telegram.ext import (
    ApplicationHandlerStop,
    CommandHandler,
    MessageHandler,
    filters,
)

from handlers import dispatch
from handlers.common import (
    Context,
    KaoheApp,
    Person,
    answer,
    app,
    locale_of,
    menu,
    menu_labels,
    person,
    read,
    refusal_text,
    refuse,
    run,
)
from handlers.dispatch import on
from models.errors import Refused
from models.invites import redeem_invite
from models.people import set_locale
from models.views import Role, role_of
from ui.callbacks import Language
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
                                    role=await _role(context, p)), menu(p))
    url = app(context).webapp_url
    if url and update.effective_chat is not None and update.effective_chat.type == "private":
        # 📊 看板 beside the message field: supervisors see their units, cadres their score.
        await context.bot.set_chat_menu_button(update.effective_chat.id, MenuButtonWebApp(
            p.r.label("webapp.button"), WebAppInfo(url)))


async def help_command(update: Update, context: Context) -> None:
    p = await person(update, context)
    if p is None:
        return
    await answer(update, p.r.render("help", admin=p.admin, supervisor=p.supervisor,
                                    role=await _role(context, p)), menu(p))


async def _role(context: Context, p: Person) -> Role | None:
    """Whom they supervise or review for (a delegate is greeted as a delegate); None for a
    cadre who does neither."""
    if not p.supervisor:
        return None
    today = app(context).store.today()
    return await read(context, lambda session: role_of(session, p.cadre, today))


async def lang(update: Update, context: Context) -> None:
    p = await person(update, context)
    if p is None:
        return
    markup = InlineKeyboardMarkup([[Language("zh_CN").button("中文"),
                                    Language("en").button("English")]])
    await answer(update, p.r.text("lang.choose"), markup)


async def lang_chosen(update: Update, context: Context, p: Person, tap: Language) -> None:
    query = update.callback_query
    assert query is not None
    locale = tap.locale
    try:
        await run(context, lambda ctx: set_locale(ctx, p.id, locale))
    except Refused as refusal:
        await refuse(update, context, refusal)
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


async def nothing_to_cancel(update: Update, context: Context) -> None:
    """/cancel when no conversation is going on (each conversation's own /cancel comes first)."""
    p = await person(update, context)
    if p is not None:
        await answer(update, p.r.text("bot.nothing_to_cancel"), menu(p))


async def groups_only(update: Update, context: Context) -> None:
    """/bindgroup or /unbindgroup in a private chat: say where they work."""
    p = await person(update, context)
    if p is not None:
        await answer(update, p.r.text("group.commands_in_groups"), menu(p))


async def edited(update: Update, context: Context) -> None:
    """An edit of a message sent earlier. Taken as input it would feed whatever step the person
    is at now (an old chat line edited became a review's reason), so it is not: they are told
    to send it again, and no other handler sees it. In a group nothing is said."""
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.PRIVATE:
        p = await person(update, context)
        if p is not None:
            await answer(update, p.r.text("bot.edit_ignored"))
    raise ApplicationHandlerStop


async def not_understood(update: Update, context: Context) -> None:
    p = await person(update, context)
    if p is None:
        return
    await answer(update, p.r.text("bot.not_understood"), menu(p))


def register(application: KaoheApp) -> None:
    # Before every other group: conversations' text steps and commands take edits too.
    application.add_handler(MessageHandler(filters.UpdateType.EDITED, edited), group=-1)
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(MessageHandler(filters.Text(menu_labels("help")), help_command))
    application.add_handler(CommandHandler("lang", lang))
    application.add_handler(on(Language, lang_chosen))


def register_fallbacks(application: KaoheApp) -> None:
    """Added last, in the same group as every feature: what no feature handled."""
    application.add_handler(CommandHandler("cancel", nothing_to_cancel))
    application.add_handler(CommandHandler(("bindgroup", "unbindgroup"), groups_only,
                                           filters.ChatType.PRIVATE))
    application.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    application.add_handler(MessageHandler(filters.ALL, not_understood))
    application.add_handler(dispatch.fallback())  # a press no handler took
