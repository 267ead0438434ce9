"""What every handler shares: who is writing, in which language, the menu, and running
operations off the event loop with refusals turned into the user's language."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlmodel import Session
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import ContextTypes, ConversationHandler

from handlers.services import Services
from models.errors import Refused
from models.store import Ctx
from models.tables import Cadre
from models.views import cadre_by_telegram, is_supervisor
from ui.i18n import LOCALES, Translator, normalize_locale
from ui.render import Renderer

T = TypeVar("T")
Context = ContextTypes.DEFAULT_TYPE
APP_KEY = "kaohe"

# The reply-keyboard menu: a key per button; labels come from the catalog ("menu.<key>").
MENU_KEYS = ("report", "tasks", "score", "rank", "pending", "admin", "help")


def app(context: Context) -> Services:
    kaohe: Services = context.application.bot_data[APP_KEY]
    return kaohe


async def run(context: Context, operation: Callable[[Ctx], T]) -> T:
    """Run one models operation in its own transaction, in a worker thread."""
    store = app(context).store

    def in_transaction() -> T:
        with store.transaction() as ctx:
            return operation(ctx)

    return await asyncio.to_thread(in_transaction)


async def read(context: Context, query: Callable[[Session], T]) -> T:
    """Run a read-only query in a worker thread."""
    store = app(context).store

    def in_session() -> T:
        with store.session() as session:
            return query(session)

    return await asyncio.to_thread(in_session)


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


def locale_of(update: Update, context: Context, cadre: Cadre | None = None) -> str:
    if cadre is not None and cadre.locale in LOCALES:
        return cadre.locale
    user = update.effective_user
    default = app(context).default_locale
    return normalize_locale(user.language_code if user else None, default)


async def person(update: Update, context: Context) -> Person | None:
    """The bound cadre writing, or None (and the unbound user is told how to get a code)."""
    user = update.effective_user
    if user is None:
        return None
    today = app(context).store.today()

    def load(session: Session) -> tuple[Cadre | None, bool]:
        cadre = cadre_by_telegram(session, user.id)
        return cadre, bool(cadre and is_supervisor(session, cadre, today))

    cadre, supervisor = await read(context, load)
    if cadre is None:
        r = Renderer(locale_of(update, context))
        await answer(update, r.text("bot.unbound"))
        return None
    return Person(cadre, Renderer(locale_of(update, context, cadre)), supervisor)


def refusal_text(r: Renderer, refusal: Refused) -> str:
    key = f"refused.{refusal.code}"
    if not r.t.has(key):
        return r.text("refused.generic", code=refusal.code)
    return r.text(key, **{k: str(v) for k, v in refusal.params.items()})


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


# Telegram's limit is 4096 characters after parsing; stay below it with the tags counted too.
MESSAGE_LIMIT = 4000


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Long text in pieces at line ends (our templates never span a tag across lines)."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # one line too long on its own: cut it
            if current:
                pieces.append(current)
            current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            candidate = line
        current = candidate
    if current:
        pieces.append(current)
    return pieces or [text]


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


def button(label: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=data)


def pager(r: Renderer, prefix: str, page: int, pages: int) -> list[InlineKeyboardButton]:
    """◀ 2/5 ▶ buttons, only the ones that lead somewhere."""
    row = []
    if page > 0:
        row.append(button(r.label("page.prev"), f"{prefix}:{page - 1}"))
    if pages > 1:
        row.append(button(f"{page + 1}/{pages}", f"{prefix}:{page}"))
    if page < pages - 1:
        row.append(button(r.label("page.next"), f"{prefix}:{page + 1}"))
    return row


def canceller(
    data_key: str, message_key: str
) -> Callable[[Update, Context], Coroutine[Any, Any, int]]:
    """A conversation's /cancel: forget what was entered under `data_key`, say `message_key`."""

    async def cancel(update: Update, context: Context) -> int:
        if update.callback_query is not None:
            await update.callback_query.answer()
        context.user_data.pop(data_key, None)  # type: ignore[union-attr]
        p = await person(update, context)
        if p is not None:
            await answer(update, p.r.text(message_key), menu(p))
        return ConversationHandler.END

    return cancel


async def ask(update: Update, p: Person, key: str, button_key: str, data: str) -> None:
    """A question with one button under it (Skip, Done, Cancel)."""
    await answer(update, p.r.text(key), InlineKeyboardMarkup([[button(p.r.label(button_key),
                                                                      data)]]))


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def int_arg(data: str, index: int) -> int | None:
    """The index-th ':'-separated field of callback data as an int, or None if it is not one."""
    parts = data.split(":")
    if len(parts) <= index or not parts[index].isdigit():
        return None
    return int(parts[index])
