"""The bot in a unit's group chat: linking the group to a unit, and keeping quiet otherwise.

Reports, reviews and scores are private matters and stay in private chats; a group only gets
its unit's standings with the weekly digest. These handlers are registered before every other
feature so that nothing else answers in a group.
"""

from __future__ import annotations

from telegram import ChatMemberUpdated, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus
from telegram.ext import (
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from handlers.common import (
    Context,
    KaoheApp,
    Person,
    answer,
    escape,
    locale_of,
    person,
    run,
)
from handlers.dispatch import on
from models.errors import Refused
from models.groups import link_group, move_group, units_for_group, unlink_group
from ui.callbacks import GroupBind
from ui.render import Renderer

GROUPS = filters.ChatType.GROUPS
GONE = (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)


async def bind(update: Update, context: Context) -> None:
    """/bindgroup: a supervisor makes this group the group of the unit they supervise."""
    chat = update.effective_chat
    p = await person(update, context)
    if p is None or chat is None:
        return
    units = await run(context, lambda ctx: units_for_group(ctx, p.id))
    if not units:
        await answer(update, p.r.text("group.not_allowed"))
        return
    if len(units) == 1:
        await _link(update, context, p, units[0].id or 0)
        return
    markup = InlineKeyboardMarkup([[GroupBind(unit.id or 0, p.id).button(unit.name)]
                                   for unit in units[:20]])
    await answer(update, p.r.text("group.choose_unit"), markup)


async def bind_chosen(update: Update, context: Context, p: Person, tap: GroupBind) -> None:
    """A unit tapped under /bindgroup; the door let only the cadre who asked choose one they
    may link."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    if await _link(update, context, p, tap.unit) and query.message is not None:
        await query.edit_message_reply_markup(None)


async def _link(update: Update, context: Context, p: Person, unit_id: int) -> bool:
    chat = update.effective_chat
    if chat is None:
        return False
    try:
        unit = await run(context, lambda ctx: link_group(ctx, p.id, unit_id, chat.id))
    except Refused:
        await answer(update, p.r.text("group.not_allowed"))
        return False
    await answer(update, p.r.text("group.linked", unit=escape(unit.name)))
    return True


async def unbind(update: Update, context: Context) -> None:
    """/unbindgroup: stop posting standings here."""
    chat = update.effective_chat
    p = await person(update, context)
    if p is None or chat is None:
        return
    try:
        units = await run(context, lambda ctx: unlink_group(ctx, p.id, chat.id))
    except Refused:
        await answer(update, p.r.text("group.not_allowed"))
        return
    await answer(update, p.r.text("group.unlinked" if units else "group.not_linked"))


async def membership(update: Update, context: Context) -> None:
    """The bot was added to a group (say hello) or removed from one (unlink it)."""
    change: ChatMemberUpdated | None = update.my_chat_member
    if change is None or change.chat.type == "private":
        return
    status = change.new_chat_member.status
    if status in GONE:
        await run(context, lambda ctx: unlink_group(ctx, None, change.chat.id))
    elif change.old_chat_member.status in GONE:
        await answer(update, Renderer(locale_of(update, context)).text("group.welcome"))


async def migrated(update: Update, context: Context) -> None:
    """A group became a supergroup: Telegram gives it a new id, the link follows."""
    message = update.effective_message
    if message is None or message.migrate_to_chat_id is None:
        return
    new_id = message.migrate_to_chat_id
    await run(context, lambda ctx: move_group(ctx, message.chat.id, new_id))


async def private_only(update: Update, context: Context) -> None:
    """Any other command in a group: point to the private chat; plain talk is not ours."""
    await answer(update, Renderer(locale_of(update, context)).text("group.only_here"))


async def ignore(update: Update, context: Context) -> None:
    return None


def register(application: KaoheApp) -> None:
    application.add_handler(ChatMemberHandler(membership, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, migrated))
    application.add_handler(CommandHandler("bindgroup", bind, GROUPS))
    application.add_handler(CommandHandler("unbindgroup", unbind, GROUPS))
    application.add_handler(on(GroupBind, bind_chosen))
    application.add_handler(MessageHandler(GROUPS & filters.COMMAND, private_only))
    application.add_handler(MessageHandler(GROUPS, ignore))
