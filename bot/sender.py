"""Delivering the outbox: each pending row becomes a Telegram message, once.

Rows are written by the operations in the same transaction as the change they announce; this
sender renders each in the recipient's language and sends it. It runs after every update and
on a timer. A 429 waits for Telegram's retry_after, a network failure is retried with backoff,
a user who blocked the bot is marked and not retried. (Issue 4 adds quiet hours and the
scheduler's own messages on top of this.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select
from telegram import Bot, InputMediaPhoto
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot import cards
from bot.i18n import DEFAULT_LOCALE
from bot.render import Renderer
from models.store import Store
from models.tables import Cadre, OutboxMessage
from models.vocab import BLOCKED, FAILED, PENDING, SENT

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8

CardMaker = Callable[[Session, dict[str, Any], Renderer], "cards.Card | None"]
CARD_MAKERS: dict[str, CardMaker] = {
    "review_request": lambda s, p, r: cards.review_card(s, int(p["report_id"]), r),
    "report_decided": cards.report_decided,
    "claim_review_request": lambda s, p, r: cards.claim_card(s, int(p["claim_id"]), r),
    "claim_decided": cards.claim_decided,
}


@dataclass
class Outgoing:
    row_id: int
    chat_id: int
    card: cards.Card | None


class OutboxSender:
    def __init__(self, store: Store, bot: Bot, default_locale: str = DEFAULT_LOCALE) -> None:
        self.store = store
        self.bot = bot
        self.default_locale = default_locale
        self._lock = asyncio.Lock()

    async def drain(self, limit: int = 200) -> int:
        """Send what is due now; returns how many were sent. One drain at a time."""
        async with self._lock:
            batch = await asyncio.to_thread(self._due, limit)
            sent = 0
            for item in batch:
                sent += await self._deliver(item)
            return sent

    def _due(self, limit: int) -> list[Outgoing]:
        now = self.store.clock()
        with self.store.session() as session:
            rows = session.exec(
                select(OutboxMessage).where(
                    OutboxMessage.state == PENDING, col(OutboxMessage.not_before) <= now
                ).order_by(col(OutboxMessage.id)).limit(limit)
            ).all()
            return [Outgoing(row.id or 0, row.chat_id or 0, self._card(session, row))
                    for row in rows]

    def _card(self, session: Session, row: OutboxMessage) -> cards.Card | None:
        maker = CARD_MAKERS.get(row.kind)
        if maker is None:
            return None
        recipient = None if row.recipient_id is None else session.get(Cadre, row.recipient_id)
        locale = (recipient.locale if recipient and recipient.locale else self.default_locale)
        return maker(session, dict(row.payload), Renderer(locale))

    async def _deliver(self, item: Outgoing) -> int:
        if item.card is None:
            await asyncio.to_thread(self._finish, item.row_id, FAILED, None, "nothing to send")
            return 0
        try:
            await self._send_evidence(item.chat_id, item.card.evidence)
            message = await self.bot.send_message(
                item.chat_id, item.card.text, parse_mode=ParseMode.HTML,
                reply_markup=item.card.markup, disable_web_page_preview=True,
            )
        except RetryAfter as exc:
            delay = exc.retry_after
            seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
            await asyncio.to_thread(self._retry, item.row_id, seconds, str(exc))
            return 0
        except Forbidden as exc:
            await asyncio.to_thread(self._finish, item.row_id, BLOCKED, None, str(exc))
            return 0
        except BadRequest as exc:
            log.error("outbox %s refused by Telegram: %s", item.row_id, exc)
            await asyncio.to_thread(self._finish, item.row_id, FAILED, None, str(exc))
            return 0
        except (NetworkError, TelegramError) as exc:
            await asyncio.to_thread(self._retry, item.row_id, None, str(exc))
            return 0
        await asyncio.to_thread(self._finish, item.row_id, SENT, message.message_id, None)
        return 1

    async def _send_evidence(self, chat_id: int, evidence: list[dict[str, Any]]) -> None:
        photos = [e["file_id"] for e in evidence if e.get("type") == "photo"]
        if len(photos) > 1:
            await self.bot.send_media_group(chat_id, [InputMediaPhoto(f) for f in photos[:10]])
        elif photos:
            await self.bot.send_photo(chat_id, photos[0])
        for item in evidence:
            if item.get("type") == "document":
                await self.bot.send_document(chat_id, item["file_id"])

    def _finish(self, row_id: int, state: str, message_id: int | None, error: str | None) -> None:
        with self.store.session() as session:
            row = session.get(OutboxMessage, row_id)
            if row is None:
                return
            row.state, row.message_id, row.last_error = state, message_id, error
            row.attempts += 1
            if state == SENT:
                row.sent_at = self.store.clock()
            session.commit()

    def _retry(self, row_id: int, after_seconds: float | None, error: str) -> None:
        with self.store.session() as session:
            row = session.get(OutboxMessage, row_id)
            if row is None:
                return
            row.attempts += 1
            row.last_error = error
            if row.attempts >= MAX_ATTEMPTS:
                row.state = FAILED
            else:
                backoff = after_seconds if after_seconds is not None else 2 ** row.attempts
                row.not_before = self.store.clock() + timedelta(seconds=backoff)
            session.commit()
