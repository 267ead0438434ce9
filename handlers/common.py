"""What every handler shares: who is writing, in which language, the menu, and running
operations off the event loop with refusals turned into the user's language."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlmodel import Session
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, CallbackContext, ConversationHandler, ExtBot

from handlers.services import Services
from models.doors import Door, Knock, admit
from models.errors import Refused
from models.store import Ctx, Unit, current_unit
from models.tables import Cadre
from models.views import cadre_by_telegram, writer_by_telegram
from ui.callbacks import Callback
from ui.i18n import LOCALES, Translator, normalize_locale
from ui.messages import split_message
from ui.render import Renderer

T = TypeVar("T")
APP_KEY = "kaohe"

# The reply-keyboard menu: a key per button; labels come from the catalog ("menu.<key>").
MENU_KEYS = ("report", "tasks", "score", "rank", "pending", "admin", "help")


@dataclass
class Person:
    """The bound cadre behind an update, with their language and roles."""

    cadre: Cadre
    r: Renderer
    supervisor: bool

    @property
    def id(self) -> int:
        assert self.cadre.id is not None
        return self.cadre.id

    @property
    def t(self) -> Translator:
        return self.r.t

    @property
    def admin(self) -> bool:
        return self.cadre.is_admin


class Context(CallbackContext[ExtBot[None], dict[str, Any], dict[Any, Any], dict[str, Any]]):
    """The context every Kaohe handler gets (ContextTypes in bot/application.py): the services,
    what the person has entered so far, and the person behind the update, looked up once."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any],
                 chat_id: int | None = None, user_id: int | None = None) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.person: Person | None = None  # set by `person()` or the dispatcher

    @property
    def kaohe(self) -> Services:
        services: Services = self.bot_data[APP_KEY]
        return services

    @property
    def memory(self) -> dict[str, Any]:
        """What this user has entered in their conversations (persisted, bot/persistence.py)."""
        if self.user_data is None:  # only for updates without a user, which we never handle
            raise RuntimeError("no user behind this update")
        return self.user_data


# The Application as every Kaohe module sees it (bot/application.py builds it with Context as
# its context type). Its other type parameters are left open: PTB's own annotations leave
# them unbound in `context.application`, so tying them down here would buy nothing.
KaoheApp = Application[Any, Any, Any, Any, Any, Any]


def app(context: Context) -> Services:
    return context.kaohe


def _unit(context: Context) -> Unit | None:
    """The transaction of the update being handled (bot/updates.py), when this code runs as
    part of handling it; not for work the update started beside itself (an Excel import)."""
    unit = current_unit()
    if unit is None or unit.store is not context.kaohe.store:
        return None
    return unit if unit.owner is asyncio.current_task() else None


async def run(context: Context, operation: Callable[[Ctx], T]) -> T:
    """Run one models operation in a worker thread: inside the update's transaction (a
    savepoint of it) when there is one, else in its own; retried after a deadlock."""
    unit = _unit(context)
    if unit is not None:
        return await asyncio.to_thread(unit.run, operation)
    return await asyncio.to_thread(context.kaohe.store.run, operation)


async def check(context: Context, look: Callable[[Ctx], T]) -> T:
    """Run a models check that only reads and may refuse (a door) in a worker thread: in the
    update's transaction when there is one (no savepoint: nothing to undo), else in its own."""
    unit = _unit(context)
    if unit is not None:
        return await asyncio.to_thread(unit.check, look)
    return await asyncio.to_thread(context.kaohe.store.run, look)


async def read(context: Context, query: Callable[[Session], T]) -> T:
    """Run a read-only query in a worker thread (in the update's transaction, if any)."""
    unit = _unit(context)
    if unit is not None:
        return await asyncio.to_thread(unit.read, query)
    store = context.kaohe.store

    def in_session() -> T:
        with store.session() as session:
            return query(session)

    return await asyncio.to_thread(in_session)


async def on_its_own(context: Context, work: Callable[[], T]) -> T:
    """Work that opens transactions of its own (queueing everyone's digests, an export), in a
    worker thread. What the update did so far is committed first: on SQLite the update's
    transaction holds the write lock, and the work would wait for it forever."""
    unit = _unit(context)
    if unit is not None:
        await asyncio.to_thread(unit.commit)
    return await asyncio.to_thread(work)


def locale_of(update: Update, context: Context, cadre: Cadre | None = None) -> str:
    if cadre is not None and cadre.locale in LOCALES:
        return cadre.locale
    user = update.effective_user
    return normalize_locale(user.language_code if user else None, context.kaohe.default_locale)


def person_of(update: Update, context: Context, cadre: Cadre, supervisor: bool) -> Person:
    found = Person(cadre, Renderer(locale_of(update, context, cadre)), supervisor)
    context.person = found
    return found


async def person(update: Update, context: Context, door: Door = Door.ANYONE) -> Person | None:
    """The bound cadre writing, if `door` opens for them; else None, and they were told why
    (an unbound user how to get a code; anyone else refused, audited)."""
    if context.person is not None and door is Door.ANYONE:
        return context.person
    user = update.effective_user
    if user is None:
        return None
    if door is not Door.ANYONE:  # a gated command: the refusal is audited like a forged tap
        knock = Knock(user.id, door, callback=_command_of(update))
        try:
            admitted = await check(context, lambda ctx: admit(ctx, knock))
        except Refused as refusal:
            await refuse(update, context, refusal)
            return None
        return person_of(update, context, admitted.cadre, admitted.supervisor)

    today = context.kaohe.store.today()
    found = await read(context, lambda session: writer_by_telegram(session, user.id, today))
    if found is None:
        await answer(update, Renderer(locale_of(update, context)).text("bot.unbound"))
        return None
    return person_of(update, context, *found)


def _command_of(update: Update) -> str:
    message = update.effective_message
    return ((message.text or "") if message else "")[:64]


def refusal_text(r: Renderer, refusal: Refused) -> str:
    """A refusal in the person's words; a code without a sentence gets the generic one."""
    return r.refusal(refusal.code, refusal.params)


async def refuse(update: Update, context: Context, refusal: Refused) -> None:
    """The one way a refusal reaches a person: a tap gets an alert only they see (nothing is
    posted, not even in a group); a message gets an answer in the chat. A tap is answered once,
    so a handler whose operation may refuse answers it only after the operation ran."""
    p = context.person
    r = p.r if p is not None else Renderer(await _chosen_locale(update, context))
    text = r.text("bot.unbound") if refusal.code == "unbound" else refusal_text(r, refusal)
    query = update.callback_query
    if query is not None:
        try:  # False or BadRequest: the tap was answered already (refused afterwards)
            if await query.answer(_alert(text), show_alert=True):
                return
        except BadRequest:
            pass
    await answer(update, text, menu(p) if p is not None else None)


async def _chosen_locale(update: Update, context: Context) -> str:
    """The language of whoever wrote: a bound cadre's chosen one (a door refuses before the
    person is loaded), else their Telegram client's."""
    user = update.effective_user
    if user is None:
        return locale_of(update, context)
    cadre = await read(context, lambda session: cadre_by_telegram(session, user.id))
    return locale_of(update, context, cadre)


def _alert(text: str) -> str:
    """Telegram shows at most 200 characters in an alert, as plain text."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    return plain if len(plain) <= 200 else plain[:199] + "…"


def menu(p: Person) -> ReplyKeyboardMarkup:
    keys = ["report", "tasks", "score", "rank"]
    if p.supervisor or p.admin:
        keys.append("pending")
    if p.admin:
        keys.append("admin")
    keys.append("help")
    labels = [KeyboardButton(p.r.label(f"menu.{key}")) for key in keys]
    rows = [labels[i:i + 2] for i in range(0, len(labels), 2)]
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, is_persistent=True)


def menu_labels(key: str) -> list[str]:
    """The menu button's label in every language (what a user's tap sends as text)."""
    return [Translator(locale)(f"menu.{key}") for locale in LOCALES]


async def answer(update: Update, text: str, markup: Any = None) -> None:
    """Reply in the chat the update came from (HTML); long text goes out in several messages,
    the buttons under the last."""
    chat = update.effective_chat
    if chat is None:
        return
    pieces = split_message(text)
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        await chat.send_message(piece, parse_mode=ParseMode.HTML,
                                reply_markup=markup if last else None,
                                disable_web_page_preview=True)


async def edit_or_send(update: Update, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Replace the message a button was tapped on (pages), or send a new one."""
    query = update.callback_query
    if query is not None and query.message is not None:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup,
                                      disable_web_page_preview=True)
        return
    await answer(update, text, markup)


Item = TypeVar("Item")


@dataclass(frozen=True)
class Page(Generic[Item]):
    """One page of a list: what is shown, which page it is (clamped) and how many there are."""

    shown: list[Item]
    number: int
    count: int


def paginate(items: Sequence[Item], page: int, per_page: int) -> Page[Item]:
    count = max(1, -(-len(items) // per_page))
    number = min(max(page, 0), count - 1)
    return Page(list(items[number * per_page:(number + 1) * per_page]), number, count)


def pager(r: Renderer, to_page: Callable[[int], Callback], page: Page[Any]
          ) -> list[InlineKeyboardButton]:
    """◀ 2/5 ▶ buttons, only the ones that lead somewhere."""
    row = []
    if page.number > 0:
        row.append(to_page(page.number - 1).button(r.label("page.prev")))
    if page.count > 1:
        row.append(to_page(page.number).button(f"{page.number + 1}/{page.count}"))
    if page.number < page.count - 1:
        row.append(to_page(page.number + 1).button(r.label("page.next")))
    return row


def choice_markup(r: Renderer, items: Sequence[Item], page: int, per_page: int,
                  button: Callable[[Item], InlineKeyboardButton],
                  to_page: Callable[[int], Callback],
                  last: Sequence[Sequence[InlineKeyboardButton]] = (), *,
                  columns: int = 1) -> InlineKeyboardMarkup:
    """A page of a list to choose from: a button per item (`columns` to a row), ◀ n/m ▶, then
    the `last` rows."""
    shown = paginate(items, page, per_page)
    buttons = [button(item) for item in shown.shown]
    rows = [buttons[i:i + columns] for i in range(0, len(buttons), columns)]
    if nav := pager(r, to_page, shown):
        rows.append(nav)
    rows.extend(list(row) for row in last)
    return InlineKeyboardMarkup(rows)


def short(title: str, limit: int = 24) -> str:
    """A title that fits on a button."""
    return title if len(title) <= limit else title[:limit - 1] + "…"


def canceller(
    data_key: str, message_key: str
) -> Callable[[Update, Context], Coroutine[Any, Any, int]]:
    """A conversation's /cancel: forget what was entered under `data_key`, say `message_key`."""

    async def cancel(update: Update, context: Context) -> int:
        if update.callback_query is not None:
            await update.callback_query.answer()
        context.memory.pop(data_key, None)
        p = await person(update, context)
        if p is not None:
            await answer(update, p.r.text(message_key), menu(p))
        return ConversationHandler.END

    return cancel


async def ask(update: Update, p: Person, key: str, button_key: str, tap: Callback) -> None:
    """A question with one button under it (Skip, Done, Cancel)."""
    await answer(update, p.r.text(key), InlineKeyboardMarkup([[tap.button(p.r.label(button_key))]]))


def escape(text: str) -> str:
    return html.escape(text, quote=False)
