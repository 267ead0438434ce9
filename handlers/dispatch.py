"""The one way a button press reaches a handler.

`on(Kind, handler)` builds the CallbackQueryHandler for a kind of ui/callbacks.py: it matches the
kind's shape, parses and bounds-checks the data, and lets models/doors.py decide — on the server,
with the subject row loaded — whether the door opens for the person pressing (and whether it may
be pressed in a group chat). Only then does the handler run, with the person and the typed data.
Any refusal takes one path (handlers/common.py `refuse`): an alert in the person's language,
nothing changed, nothing shown, and an audit row with the actor, the data and the reason.

`unknown_button` is the last handler of all: data no kind has (an old button, or forged).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler

from handlers.common import Context, Person, check, person_of, refuse
from models.doors import Knock, admit, refuse_malformed
from models.errors import Refused
from ui.callbacks import BadCallback, Callback, kind_of

K = TypeVar("K", bound=Callback)
R = TypeVar("R")
Handler = Callable[[Update, Context, Person, K], Awaitable[R]]


def on(kind: type[K], handler: Handler[K, R], *,
       when: Callable[[K], bool] | None = None) -> CallbackQueryHandler[Context, R | None]:
    """The handler for presses of `kind` (those for which `when` holds, if given)."""

    def pattern(data: object) -> bool:
        if not kind.matches(data):
            return False
        if when is None:
            return True
        try:
            return when(kind.parse(str(data)))
        except BadCallback:
            return True  # out of range: let the dispatcher refuse it

    async def dispatch(update: Update, context: Context) -> R | None:
        query = update.callback_query
        assert query is not None and isinstance(query.data, str)
        try:
            tap = kind.parse(query.data)
        except BadCallback:
            await refuse_unparsable(update, context, "id out of range")
            return None
        p = await admitted(update, context, tap)
        if p is None:
            return None
        return await handler(update, context, p, tap)

    return CallbackQueryHandler(dispatch, pattern=pattern)


def tapped(handler: Callable[[Update, Context], Awaitable[R]]) -> Handler[Any, R]:
    """A handler that serves a command too (/cancel and its button): it takes no data."""

    async def on_tap(update: Update, context: Context, p: Person, tap: Callback) -> R:
        return await handler(update, context)

    return on_tap


async def admitted(update: Update, context: Context, tap: Callback) -> Person | None:
    """The person pressing, if the kind's door opens for them; else None, refused."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if isinstance(query.message, Message) and query.message.effective_attachment is not None:
        # None of our photos or documents carries a button (a handler would edit text onto it,
        # which Telegram refuses): a press on one is forged.
        await refuse_unparsable(update, context, "pressed on a photo or document")
        return None
    chat = update.effective_chat
    knock = Knock(
        telegram_user_id=query.from_user.id, door=tap.door, callback=str(query.data),
        subject=tap.subject_id, entity=tap.entity, named=tap.named_id,
        in_group=chat is not None and chat.type != ChatType.PRIVATE, group_ok=tap.in_groups,
    )
    try:
        found = await check(context, lambda ctx: admit(ctx, knock))
    except Refused as refusal:
        await refuse(update, context, refusal)
        return None
    return person_of(update, context, found.cadre, found.supervisor)


async def refuse_unparsable(update: Update, context: Context, reason: str) -> None:
    """Data no button of ours makes (no kind has it, an id out of range, a word the
    configuration does not have): a stale-button alert, audited with `reason`."""
    query = update.callback_query
    assert query is not None
    data = str(query.data)[:64]
    try:
        await check(context, lambda ctx: refuse_malformed(ctx, query.from_user.id, data, reason))
    except Refused as refusal:
        await refuse(update, context, refusal)


async def unknown_button(update: Update, context: Context) -> None:
    """A press no handler took. Data no kind has is forged: refused and audited. A kind of ours
    goes through its door all the same (so a stranger's press is refused and audited here too);
    for someone it is for, it is an old button whose conversation step has passed: said so."""
    query = update.callback_query
    assert query is not None
    kind = kind_of(query.data)
    if kind is None:
        await refuse_unparsable(update, context, "no such button")
        return
    try:
        tap = kind.parse(str(query.data))
    except BadCallback:
        await refuse_unparsable(update, context, "id out of range")
        return
    p = await admitted(update, context, tap)
    if p is not None:
        await query.answer(p.r.label("bot.stale_button"), show_alert=True)


def fallback() -> CallbackQueryHandler[Context, Any]:
    return CallbackQueryHandler(unknown_button)
