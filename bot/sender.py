"""Delivering the outbox: each pending row becomes a Telegram message, once.

Rows are written by the operations in the same transaction as the change they announce; this
sender renders each in the recipient's language and sends it. It runs after every update and
on a timer. A 429 waits for Telegram's retry_after, a network failure is retried with backoff,
a user who blocked the bot is marked and not retried. Nothing is sent in quiet hours (in the
recipient's unit's time zone); what falls due then goes out when they end. Sends are spaced
under Telegram's limits (overall, per chat, per group) so that a 429 is the exception.
"""

from __future__ import annotations

import asyncio
import logging
import time as time_module
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case
from sqlmodel import Session, col, select
from telegram import Bot, InputFile, InputMediaPhoto
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from models.store import Store
from models.tables import Cadre, OutboxMessage, Unit
from models.vocab import BLOCKED, DROPPED, FAILED, PENDING, SENT
from ui import cards, digests, insight_cards, insight_digest, rating_cards
from ui.i18n import DEFAULT_LOCALE
from ui.render import Renderer

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8

# (session, payload, renderer, recipient) -> the card, or None when there is nothing to send.
CardMaker = Callable[[Session, dict[str, Any], Renderer, Cadre | None], "cards.Card | None"]


CARD_MAKERS: dict[str, CardMaker] = {
    "review_request": lambda s, p, r, _: cards.review_card(s, int(p["report_id"]), r),
    "report_decided": lambda s, p, r, _: cards.report_decided(s, p, r),
    "claim_review_request": lambda s, p, r, _: cards.claim_card(s, int(p["claim_id"]), r),
    "claim_decided": lambda s, p, r, _: cards.claim_decided(s, p, r),
    "deadline_reminder": lambda s, p, r, _: digests.deadline_reminder(s, p, r),
    "overdue_reminder": lambda s, p, r, _: digests.overdue_reminder(s, p, r),
    "overdue_escalation": lambda s, p, r, _: digests.overdue_escalation(s, p, r),
    "review_waiting": lambda s, p, r, _: digests.review_waiting(s, p, r),
    "digest_cadre": lambda s, p, r, c: digests.cadre_digest(s, p, r, c) if c else None,
    "digest_supervisor": lambda s, p, r, _: digests.supervisor_digest(s, p, r, digests.chart),
    "digest_group": lambda s, p, r, _: digests.group_digest(s, p, r, digests.chart),
    # The annual rating (models/rating.py).
    "rating_published": lambda s, p, r, c: rating_cards.rating_published(s, p, r, c),
    "rating_finalised": lambda s, p, r, c: rating_cards.rating_finalised(s, p, r, c),
    "objection_lodged": lambda s, p, r, _: rating_cards.objection_card(
        s, int(p["objection_id"]), r),
    "objection_answered": lambda s, p, r, _: rating_cards.objection_answered(s, p, r),
    # A supervisor's 提醒 from /warn (models/warnings.py).
    "warn_reminder": lambda s, p, r, _: insight_cards.warn_reminder(s, p, r),
}


# What people wait for (a review card, a decision) goes before the scheduler's bulk messages.
_BULK_LAST = case((col(OutboxMessage.kind).in_(
    ("digest_cadre", "digest_supervisor", "digest_group", "digest_office", "deadline_reminder",
     "overdue_reminder", "overdue_escalation", "review_waiting", "rating_published",
     "rating_finalised")), 1),
    else_=0)


@dataclass
class Outgoing:
    row_id: int
    chat_id: int
    card: cards.Card | None
    group: bool = False


@dataclass(frozen=True)
class QuietHours:
    """Nothing is sent from `start` to `end` local time (the span may cross midnight)."""

    start: time = time(22, 0)
    end: time = time(9, 0)

    def resume_at(self, moment: datetime, zone: ZoneInfo) -> datetime | None:
        """None when `moment` is outside quiet hours, else when they end (UTC)."""
        local = moment.astimezone(zone)
        now = local.time()
        crosses = self.start > self.end
        inside = (now >= self.start or now < self.end) if crosses else (
            self.start <= now < self.end)
        if not inside:
            return None
        day = local.date()
        if crosses and now >= self.start:
            day += timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class Pacing:
    """How fast the sender may go: Telegram allows about 30 messages a second in all, one a
    second to a chat and twenty a minute to a group. The clock and sleep are injectable so that
    tests and the sandbox run on virtual time."""

    chat_interval: float = 1.0
    group_interval: float = 3.0
    overall_rate: float = 29.0  # just under 30, so no rolling second ever holds 30
    clock: Callable[[], float] = time_module.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


class OutboxSender:
    def __init__(self, store: Store, bot: Bot, default_locale: str = DEFAULT_LOCALE, *,
                 quiet: QuietHours | None = None, pacing: Pacing | None = None) -> None:
        self.store = store
        self.bot = bot
        self.default_locale = default_locale
        # The digests with issue 15's parts need the configured rules (ui/insight_digest.py).
        self.card_makers = {**CARD_MAKERS, **insight_digest.makers(store.rules)}
        self.quiet = quiet or QuietHours()
        pacing = pacing or Pacing()
        self.chat_interval = pacing.chat_interval
        self.group_interval = pacing.group_interval
        self._clock = pacing.clock
        self._sleep = pacing.sleep
        self._last_sent: dict[int, float] = {}
        self._held: dict[int, datetime] = {}  # chat -> when Telegram's 429 for it runs out
        # Spacing sends evenly keeps every rolling second below the overall limit.
        self._spacing = 1 / pacing.overall_rate if pacing.overall_rate > 0 else 0.0
        self._next_slot = 0.0
        self._lock = asyncio.Lock()
        self._look_again = False
        self.flood_waits = 0  # 429s received, for the admin's view and the benchmark

    async def drain(self, limit: int = 200, *, until_empty: bool = False) -> int:
        """Send what is due now, a batch of `limit` rows at a time; returns how many were sent.

        One drain runs at a time. A drain asked for while one runs returns at once and makes the
        running one look again, so a handler never waits behind a digest run. `until_empty`
        keeps going until nothing is due (the timer's drain); otherwise one batch.
        """
        if self._lock.locked():
            self._look_again = True
            return 0
        async with self._lock:
            sent = 0
            while True:
                self._look_again = False
                batch = await asyncio.to_thread(self._due, limit)
                for item in batch:
                    sent += await self._deliver(item)
                if not (self._look_again or (until_empty and batch)):
                    return sent

    def _due(self, limit: int) -> list[Outgoing]:
        now = self.store.clock()
        with self.store.session() as session:
            rows = session.exec(
                select(OutboxMessage).where(
                    OutboxMessage.state == PENDING, col(OutboxMessage.not_before) <= now
                ).order_by(_BULK_LAST, col(OutboxMessage.id)).limit(limit)
            ).all()
            ready: list[tuple[OutboxMessage, Cadre | None]] = []
            for row in rows:
                recipient = (None if row.recipient_id is None
                             else session.get(Cadre, row.recipient_id))
                resume = self.quiet.resume_at(now, self._zone(session, recipient, row))
                if resume is not None:  # quiet hours: it goes out when they end
                    row.not_before = resume
                else:
                    ready.append((row, recipient))
            premade = self._premade_digests(session, ready)
            due = []
            for row, recipient in ready:
                try:
                    card = (premade[row.id] if row.id in premade
                            else self._card(session, row, recipient))
                except Exception as exc:  # one broken row must not hold up the queue
                    log.exception("outbox %s could not be rendered", row.id)
                    row.state, row.last_error = FAILED, f"{type(exc).__name__}: {exc}"[:500]
                    continue
                due.append(Outgoing(row.id or 0, row.chat_id or 0, card,
                                    group=row.recipient_id is None))
            session.commit()
            return due

    def _premade_digests(self, session: Session, ready: list[tuple[OutboxMessage, Cadre | None]]
                         ) -> dict[int | None, cards.Card | None]:
        """The cadres' weekly digests of this batch, rendered together (a few queries for all,
        not a few per person); a failure leaves them to be rendered one by one."""
        weeks: dict[tuple[Any, Any], list[tuple[OutboxMessage, Cadre]]] = {}
        for row, recipient in ready:
            if row.kind == "digest_cadre" and recipient is not None:
                key = (row.payload.get("period_id"), row.payload.get("week"))
                weeks.setdefault(key, []).append((row, recipient))
        premade: dict[int | None, cards.Card | None] = {}
        for batch in weeks.values():
            try:
                made = digests.cadre_digests(session, dict(batch[0][0].payload),
                                             [recipient for _, recipient in batch],
                                             lambda cadre: Renderer(self._locale(cadre)),
                                             rules=self.store.rules)
            except Exception:
                log.exception("digests rendered together failed; rendering one by one")
                continue
            premade.update({row.id: made.get(recipient.id or 0) for row, recipient in batch})
        return premade

    def _locale(self, recipient: Cadre | None) -> str:
        return recipient.locale if recipient and recipient.locale else self.default_locale

    def _zone(self, session: Session, recipient: Cadre | None, row: OutboxMessage) -> ZoneInfo:
        unit = None
        if recipient is not None:
            unit = session.get(Unit, recipient.unit_id)
        elif row.payload.get("unit_id"):
            unit = session.get(Unit, row.payload["unit_id"])
        return ZoneInfo(unit.timezone) if unit is not None and unit.timezone else self.store.tz

    def _card(self, session: Session, row: OutboxMessage,
              recipient: Cadre | None) -> cards.Card | None:
        maker = self.card_makers.get(row.kind)
        if maker is None:
            return None
        return maker(session, dict(row.payload), Renderer(self._locale(recipient)), recipient)

    async def _slot(self) -> None:
        """Wait for the next send slot under the overall rate."""
        now = self._clock()
        if self._next_slot > now:
            await self._sleep(self._next_slot - now)
            now = self._next_slot
        self._next_slot = now + self._spacing

    async def _pace(self, chat_id: int, group: bool) -> None:
        interval = self.group_interval if group else self.chat_interval
        last = self._last_sent.get(chat_id)
        if last is not None and interval > 0:
            wait = last + interval - self._clock()
            if wait > 0:
                await self._sleep(wait)
        self._last_sent[chat_id] = self._clock()

    def _held_until(self, chat_id: int) -> datetime | None:
        until = self._held.get(chat_id)
        if until is not None and until <= self.store.clock():
            del self._held[chat_id]
            return None
        return until

    async def _deliver(self, item: Outgoing) -> int:
        if item.card is None:  # obsolete (reported meanwhile) or its rows are gone
            await asyncio.to_thread(self._finish, item.row_id, DROPPED, None, None)
            return 0
        if (held := self._held_until(item.chat_id)) is not None:
            # Telegram asked us to wait for this chat: the row waits as long.
            await asyncio.to_thread(self._postpone, item.row_id, held)
            return 0
        await self._pace(item.chat_id, item.group)
        try:
            if item.card.photo is not None:
                await self._slot()
                await self.bot.send_photo(item.chat_id, InputFile(item.card.photo,
                                                                  filename="chart.png"))
            card = await self._with_evidence(item.chat_id, item.card)
            await self._slot()
            message = await self.bot.send_message(
                item.chat_id, card.text, parse_mode=ParseMode.HTML,
                reply_markup=card.markup, disable_web_page_preview=True,
            )
        except RetryAfter as exc:
            delay = exc.retry_after
            seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
            self.flood_waits += 1
            self._held[item.chat_id] = self.store.clock() + timedelta(seconds=seconds)
            await asyncio.to_thread(self._wait_flood, item.row_id, seconds, str(exc))
            return 0
        except Forbidden as exc:
            await asyncio.to_thread(self._finish, item.row_id, BLOCKED, None, str(exc))
            return 0
        except BadRequest as exc:
            log.error("outbox %s refused by Telegram: %s", item.row_id, exc)
            await asyncio.to_thread(self._finish, item.row_id, FAILED, None, str(exc))
            return 0
        except (NetworkError, TelegramError) as exc:
            await asyncio.to_thread(self._retry, item.row_id, str(exc))
            return 0
        await asyncio.to_thread(self._finish, item.row_id, SENT, message.message_id, None)
        return 1

    async def _with_evidence(self, chat_id: int, card: cards.Card) -> cards.Card:
        """Send the card's evidence first. Telegram refusing it (a file id it does not know)
        must not lose the card: it goes without the evidence and says so."""
        try:
            await self._send_evidence(chat_id, card.evidence)
        except BadRequest as exc:
            log.warning("evidence for chat %s could not be sent: %s", chat_id, exc)
            return card.without_evidence()
        return card

    async def _send_evidence(self, chat_id: int, evidence: list[dict[str, Any]]) -> None:
        photos = [e["file_id"] for e in evidence if e.get("type") == "photo"]
        if photos:
            await self._slot()
        if len(photos) > 1:
            await self.bot.send_media_group(chat_id, [InputMediaPhoto(f) for f in photos[:10]])
        elif photos:
            await self.bot.send_photo(chat_id, photos[0])
        for item in evidence:
            if item.get("type") == "document":
                await self._slot()
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

    def _postpone(self, row_id: int, until: datetime) -> None:
        with self.store.session() as session:
            row = session.get(OutboxMessage, row_id)
            if row is not None:
                row.not_before = until
                session.commit()

    def _wait_flood(self, row_id: int, seconds: float, error: str) -> None:
        """A 429 is Telegram saying "later", not a failure: it never uses up an attempt."""
        with self.store.session() as session:
            row = session.get(OutboxMessage, row_id)
            if row is None:
                return
            row.last_error = error
            row.not_before = self.store.clock() + timedelta(seconds=seconds)
            session.commit()

    def _retry(self, row_id: int, error: str) -> None:
        """A 5xx, timeout or network failure: try again later, doubling the wait each time."""
        with self.store.session() as session:
            row = session.get(OutboxMessage, row_id)
            if row is None:
                return
            row.attempts += 1
            row.last_error = error
            if row.attempts >= MAX_ATTEMPTS:
                row.state = FAILED
            else:
                row.not_before = self.store.clock() + timedelta(seconds=2 ** row.attempts)
            session.commit()
