"""Delivering the outbox to Telegram: its own loop, beside the update loop, never inside it.

The outbox is models/outbox.py's: it says what is due (holding reminders and digests in quiet
hours, marking people's own notifications silent then) and keeps every row's state. This loop
renders each due row through ui/ in the recipient's language, stores the rendered parts on the
row, and only then sends them, so a retry after a crash re-sends the same text from the first
part Telegram did not confirm. It runs as an asyncio task (`run`), woken when an update queued
something and every few seconds; a user's tap is answered by the update loop while a digest run
goes out here.

Pacing: at most one message in flight per chat, one a second to a chat and one every three
seconds to a group, and in all no more than Telegram's 30 in any rolling second, counted
together with the bot's answers to people and every other sender (the send budget,
bot/budget.py), so that a 429 is the exception. A chat waiting for its turn does not hold up
the others. A 429 holds that chat for Telegram's retry_after, a
network failure or 5xx is retried with backoff, a 403 marks the row blocked, a 400 failed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import math
import time as time_module
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlmodel import Session
from telegram import Bot, InlineKeyboardMarkup, InputFile, InputMediaPhoto, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.budget import COUNTED, LocalBudget, SendBudget
from models import outbox
from models.claims import EMBEDDED
from models.outbox import Due, Kind, QuietHours
from models.store import Store
from models.tables import Cadre
from ui import cards, digests, insight_cards, insight_digest, job_cards, rating_cards
from ui.i18n import DEFAULT_LOCALE
from ui.messages import split_message
from ui.render import Renderer

__all__ = ["OutboxSender", "Pacing", "QuietHours", "parts_of"]

log = logging.getLogger(__name__)
T = TypeVar("T")

# (session, payload, renderer, recipient) -> the card, or None when there is nothing to send.
CardMaker = Callable[[Session, dict[str, Any], Renderer, Cadre | None], "cards.Card | None"]

CARD_MAKERS: dict[Kind, CardMaker] = {
    Kind.REVIEW_REQUEST: lambda s, p, r, _: cards.review_card(s, int(p["report_id"]), r),
    Kind.REPORT_DECIDED: lambda s, p, r, _: cards.report_decided(s, p, r),
    Kind.CLAIM_REVIEW_REQUEST: lambda s, p, r, _: cards.claim_card(s, int(p["claim_id"]), r),
    Kind.CLAIM_DECIDED: lambda s, p, r, _: cards.claim_decided(s, p, r),
    Kind.DEADLINE_REMINDER: lambda s, p, r, _: digests.deadline_reminder(s, p, r),
    Kind.OVERDUE_REMINDER: lambda s, p, r, _: digests.overdue_reminder(s, p, r),
    Kind.OVERDUE_ESCALATION: lambda s, p, r, _: digests.overdue_escalation(s, p, r),
    Kind.REVIEW_WAITING: lambda s, p, r, _: digests.review_waiting(s, p, r),
    Kind.DIGEST_CADRE: lambda s, p, r, c: digests.cadre_digest(s, p, r, c) if c else None,
    Kind.DIGEST_SUPERVISOR: lambda s, p, r, _: digests.supervisor_digest(s, p, r, digests.chart),
    Kind.DIGEST_GROUP: lambda s, p, r, _: digests.group_digest(s, p, r, digests.chart),
    # The annual rating (models/rating.py).
    Kind.RATING_PUBLISHED: lambda s, p, r, c: rating_cards.rating_published(s, p, r, c),
    Kind.RATING_FINALISED: lambda s, p, r, c: rating_cards.rating_finalised(s, p, r, c),
    Kind.OBJECTION_LODGED: lambda s, p, r, _: rating_cards.objection_card(
        s, int(p["objection_id"]), r),
    Kind.OBJECTION_ANSWERED: lambda s, p, r, _: rating_cards.objection_answered(s, p, r),
    Kind.JOB_DONE: lambda s, p, r, _: job_cards.job_done(s, p, r),
    # A supervisor's 提醒 from /warn (models/warnings.py).
    Kind.WARN_REMINDER: lambda s, p, r, _: insight_cards.warn_reminder(s, p, r),
}


def parts_of(card: cards.Card) -> list[dict[str, Any]]:
    """A card as the messages it is sent as, in order: the chart, the evidence, the text in
    pieces Telegram accepts (the buttons under the last)."""
    parts: list[dict[str, Any]] = []
    if card.photo is not None:
        parts.append({"type": "chart", "png": base64.b64encode(card.photo).decode()})
    photos = [e["file_id"] for e in card.evidence if e.get("type") == "photo"]
    if len(photos) > 1:
        parts.append({"type": "album", "file_ids": photos[:10], "lost": card.evidence_lost})
    elif photos:
        parts.append({"type": "photo", "file_id": photos[0], "lost": card.evidence_lost})
    parts.extend({"type": "document", "file_id": e["file_id"], "lost": card.evidence_lost}
                 for e in card.evidence if e.get("type") == "document")
    pieces = split_message(card.text)
    markup = card.markup.to_dict() if card.markup is not None else None
    parts.extend({"type": "text", "text": piece,
                  "markup": markup if index == len(pieces) - 1 else None}
                 for index, piece in enumerate(pieces))
    return parts


@dataclass
class Outgoing:
    row_id: int
    chat_id: int
    parts: list[dict[str, Any]]
    parts_sent: int
    silent: bool
    group: bool


@dataclass(frozen=True)
class Pacing:
    """How fast the sender may go: Telegram allows about 30 messages a second in all, one a
    second to a chat and twenty a minute to a group. The clock and sleep are injectable so that
    tests and the sandbox run on virtual time."""

    chat_interval: float = 1.0
    group_interval: float = 3.0
    overall_rate: float = 30.0  # sends spaced evenly at this rate; the budget holds to it
    clock: Callable[[], float] = time_module.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


def local_budget(pacing: Pacing) -> LocalBudget:
    """The send budget of one process, on the pacing's clock: its overall rate in any rolling
    second (0: no limit)."""
    rate = pacing.overall_rate
    return LocalBudget(pacing.clock, pacing.sleep,
                       cap=max(math.floor(rate), 1) if rate > 0 else 0)


# Outbox rows the embedded sender picks and renders at once: it renders in a thread of the bot's
# own process, and a bigger batch keeps the bot's answers waiting longer for the interpreter
# (a `kaohe worker`, with no one to answer, takes bot/worker.py BATCH).
BATCH = 50


class OutboxSender:
    def __init__(self, store: Store, bot: Bot, default_locale: str = DEFAULT_LOCALE, *,
                 quiet: QuietHours | None = None, pacing: Pacing | None = None,
                 idle_seconds: float = 5.0, claimant: str = EMBEDDED,
                 batch: int = BATCH, lanes: int = 1, budget: SendBudget | None = None,
                 draw: insight_digest.ChartDrawer = insight_digest.draw_here,
                 chart: Callable[..., bytes] | None = None) -> None:
        self.store = store
        # Who this sender is to the other senders on the database (models/claims.py).
        self.claimant = claimant
        # Rows picked and rendered together: a digest batch costs a fixed part (the rating
        # pools, read once per batch) plus a little per person, so a worker takes more.
        self.batch = batch
        # Rows of a batch delivered at once, each to its own chat: a send and the database
        # writes around it (the lease renewed, the part and the row marked) take longer than
        # Telegram's pace leaves between two sends, so one at a time falls behind the pace.
        self.lanes = max(lanes, 1)
        # The digests' charts: the cadres' trends (`draw`), the supervisors' and groups'
        # standings (`chart`, None: ui/digests.py `chart`, here); a worker draws both in
        # processes of its own.
        self.draw = draw
        self.bot = bot
        self.default_locale = default_locale
        # The digests with issue 15's parts need the configured rules (ui/insight_digest.py).
        self.card_makers: dict[Kind, CardMaker] = {
            **CARD_MAKERS,
            **{Kind(kind): maker
               for kind, maker in insight_digest.makers(store.rules, chart).items()}}
        self.quiet = quiet or QuietHours()
        self.pacing = pacing or Pacing()
        self.idle_seconds = idle_seconds
        self._clock = self.pacing.clock
        self._sleep = self.pacing.sleep
        self._free_at: dict[int, float] = {}  # chat -> when (pacing clock) it may get the next
        self._held: dict[int, datetime] = {}  # chat -> when Telegram's 429 for it runs out
        # Telegram's overall limit, shared with the bot's answers and the other senders
        # (bot/budget.py); spacing the sends evenly keeps them from bunching within it.
        self.budget: SendBudget = budget or local_budget(self.pacing)
        self._spacing = 0.0
        self.share_rate(1)
        self._next_slot = 0.0
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopped = False
        self.flood_waits = 0  # 429s received, for the admin's view and the benchmark
        self._last_sent = -math.inf  # when (pacing clock) a message last went out

    def share_rate(self, senders: int) -> None:
        """With `senders` workers at work, each spaces its sends at its share of the rate (the
        budget they share holds them all to Telegram's limit)."""
        rate = self.pacing.overall_rate / max(senders, 1)
        self._spacing = 1 / rate if rate > 0 else 0.0

    # -- the loop -----------------------------------------------------------------------------

    def idle_for(self) -> float:
        """Seconds since a message last went out (infinite: none yet)."""
        return self._clock() - self._last_sent

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled: whenever woken, and every `idle_seconds` for rows whose
        time has come (quiet hours ended, a retry's backoff ran out)."""
        while not self._stopped:
            self._wake.clear()
            try:
                await self.drain(self.batch)
            except Exception:  # the loop must outlive a bad moment (the database restarting)
                log.exception("delivering the outbox failed; trying again shortly")
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
            # that arrives as its timeout fires, and the loop would never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.idle_seconds):
                    await self._wake.wait()

    def stop(self) -> None:
        """End `run` after the row in hand (cancelling the task works too); the batch's other
        rows stay claimed by this sender (models/outbox.py `release`)."""
        self._stopped = True
        self._wake.set()

    async def drain(self, limit: int = BATCH, *, until_empty: bool = True) -> int:
        """Send what is due now, `limit` chats at a time; returns how many rows were sent.
        `until_empty` keeps going until nothing is due (waiting for a paced chat's turn);
        otherwise one batch. Going until empty, the next batch is picked and rendered (in a
        thread) while this one goes out: a digest run renders charts, and Telegram's pace
        leaves the time for it."""
        async with self._lock:
            sent = 0
            ahead: asyncio.Task[tuple[list[Outgoing], bool]] | None = None
            try:
                while True:
                    if ahead is None:
                        batch, waiting = await self._next_batch(limit, set())
                    else:
                        batch, waiting = await ahead
                        ahead = None
                    if batch and until_empty:
                        in_hand = {item.chat_id for item in batch}
                        ahead = asyncio.create_task(self._next_batch(limit, in_hand))
                    sent += await self._deliver_batch(batch)
                    if self._stopped:  # the rest stay claimed by this sender: a restart
                        return sent    # or, after the lease, another takes them
                    if not until_empty:
                        return sent
                    if not batch:
                        if not waiting:
                            return sent
                        await self._sleep_until_a_chat_is_free()
            finally:
                if ahead is not None:  # stopped or failed meanwhile: its rows stay claimed
                    ahead.cancel()     # by this sender, which picks them again next time

    async def _deliver_batch(self, batch: list[Outgoing]) -> int:
        """The batch's rows, `lanes` at a time (a batch has one row per chat, so a chat still
        has one message in flight at most); until stopped."""
        rows = iter(batch)

        async def lane() -> int:
            sent = 0
            for item in rows:  # shared: each row is taken by one lane
                if self._stopped:
                    break
                sent += await self._deliver(item)
            return sent

        if self.lanes == 1:
            return await lane()
        try:
            async with asyncio.TaskGroup() as lanes:  # one failing stops the others
                running = [lanes.create_task(lane())
                           for _ in range(min(self.lanes, len(batch)))]
        except BaseExceptionGroup as failed:  # as one lane alone would have raised it
            raise failed.exceptions[0] from None
        return sum(task.result() for task in running)

    async def _next_batch(self, limit: int, in_hand: set[int]) -> tuple[list[Outgoing], bool]:
        paced, held = self._busy_chats()
        return await asyncio.to_thread(self._prepare, limit, paced | in_hand, held)

    def _busy_chats(self) -> tuple[set[int], set[int]]:
        """Chats waiting for their pacing turn, and chats Telegram told us to leave alone
        (429) until a moment of the store's clock; the rows of the latter wait for it."""
        now, moment = self._clock(), self.store.clock()
        self._free_at = {chat: at for chat, at in self._free_at.items() if at > now}
        self._held = {chat: until for chat, until in self._held.items() if until > moment}
        return set(self._free_at), set(self._held)

    async def _sleep_until_a_chat_is_free(self) -> None:
        await self._sleep(max(min(self._free_at.values(), default=0.0) - self._clock(), 0.0))

    # -- picking and rendering (one transaction per batch) --------------------------------------

    def _prepare(self, limit: int, paced: set[int], held: set[int]
                 ) -> tuple[list[Outgoing], bool]:
        """The next batch, each row rendered and stored before anything is sent; and whether
        chats waiting for their pacing turn have due rows too. Claiming is brief (senders
        take turns on it), rendering happens after, beside the other senders."""
        with self.store.transaction() as ctx:
            picked = [(item.row.id or 0, item.silent) for item in outbox.pick_due(
                ctx, self.quiet, limit=limit, busy_chats=paced | held, claimant=self.claimant)]
            waiting = bool(paced) and outbox.any_due(ctx, paced, self.claimant)
        if not picked:
            return [], waiting
        with self.store.transaction() as ctx:
            due = outbox.claimed(ctx, picked)
            fresh = [item for item in due if item.row.rendered is None]
            premade = self._premade_digests(ctx.session, fresh)
            batch = []
            for item in due:
                row = item.row
                if row.rendered is None:
                    try:
                        card = (premade[row.id] if row.id in premade
                                else self._card(ctx.session, item))
                    except Exception as exc:  # one broken row must not hold up the queue
                        log.exception("outbox %s could not be rendered", row.id)
                        outbox.fail(row, f"{type(exc).__name__}: {exc}")
                        continue
                    outbox.save_rendered(row, None if card is None else parts_of(card))
                    if card is None:
                        continue
                batch.append(Outgoing(row.id or 0, row.chat_id or 0, list(row.rendered or []),
                                      row.parts_sent, item.silent, item.group))
        return batch, waiting

    def _premade_digests(self, session: Session, due: list[Due]
                         ) -> dict[int | None, cards.Card | None]:
        """The cadres' weekly digests of this batch, rendered together (a few queries for all,
        not a few per person); a failure leaves them to be rendered one by one."""
        weeks: dict[tuple[Any, Any], list[tuple[int | None, Cadre]]] = {}
        payloads: dict[tuple[Any, Any], dict[str, Any]] = {}
        for item in due:
            if item.kind is Kind.DIGEST_CADRE and item.recipient is not None:
                key = (item.row.payload.get("period_id"), item.row.payload.get("week"))
                weeks.setdefault(key, []).append((item.row.id, item.recipient))
                payloads[key] = dict(item.row.payload)
        premade: dict[int | None, cards.Card | None] = {}
        renderers: dict[str, Renderer] = {}  # one per language, not one per digest

        def renderer(cadre: Cadre) -> Renderer:
            locale = self._locale(cadre)
            found = renderers.get(locale)
            if found is None:
                found = renderers[locale] = Renderer(locale)
            return found

        for key, batch in weeks.items():
            try:
                made = digests.cadre_digests(session, payloads[key],
                                             [recipient for _, recipient in batch], renderer,
                                             rules=self.store.rules, draw=self.draw)
            except Exception:
                log.exception("digests rendered together failed; rendering one by one")
                continue
            premade.update({row_id: made.get(recipient.id or 0) for row_id, recipient in batch})
        return premade

    def _locale(self, recipient: Cadre | None) -> str:
        return recipient.locale if recipient and recipient.locale else self.default_locale

    def _card(self, session: Session, item: Due) -> cards.Card | None:
        maker = self.card_makers.get(item.kind)
        if maker is None:  # a kind without a template is a bug: fail it visibly
            raise LookupError(f"no template for kind {item.kind.value!r}")
        return maker(session, dict(item.row.payload), Renderer(self._locale(item.recipient)),
                     item.recipient)

    # -- sending --------------------------------------------------------------------------------

    async def _slot(self) -> None:
        """Wait for the next send slot under the overall rate. The slot is taken before the
        wait, so lanes waiting together each get their own."""
        now = self._clock()
        slot = max(now, self._next_slot)
        self._next_slot = slot + self._spacing
        if slot > now:
            await self._sleep(slot - now)

    async def _deliver(self, item: Outgoing) -> int:
        interval = self.pacing.group_interval if item.group else self.pacing.chat_interval
        if not await asyncio.to_thread(outbox.renew, self.store, item.row_id, self.claimant):
            log.warning("outbox %s: another sender took it over; not sent here", item.row_id)
            return 0
        message_id = None
        try:
            for index in range(item.parts_sent, len(item.parts)):
                if index > item.parts_sent:  # Telegram confirmed the one before: remember it
                    await asyncio.to_thread(outbox.mark_part_sent, self.store, item.row_id,
                                            index, message_id)
                await self._slot()
                message_id = await self._send(item.chat_id, item.parts[index], item.silent)
                self._last_sent = self._clock()
                self._free_at[item.chat_id] = self._last_sent + interval
        except RetryAfter as exc:
            delay = exc.retry_after
            seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
            self.flood_waits += 1
            until = self.store.clock() + timedelta(seconds=seconds)
            self._held[item.chat_id] = until
            await asyncio.to_thread(outbox.hold, self.store, item.row_id, until, str(exc))
            return 0
        except Forbidden as exc:
            await asyncio.to_thread(outbox.mark_blocked, self.store, item.row_id, str(exc))
            return 0
        except BadRequest as exc:
            log.error("outbox %s refused by Telegram: %s", item.row_id, exc)
            await asyncio.to_thread(outbox.mark_failed, self.store, item.row_id, str(exc))
            return 0
        except (NetworkError, TelegramError) as exc:
            await asyncio.to_thread(outbox.retry, self.store, item.row_id, str(exc))
            return 0
        await asyncio.to_thread(outbox.mark_sent, self.store, item.row_id, len(item.parts),
                                message_id)
        return 1

    async def _send(self, chat_id: int, part: dict[str, Any], silent: bool) -> int | None:
        """One part; the id of the message it became (an album: its first). Evidence Telegram
        refuses (a file id it no longer knows) must not lose the card: a line says it is
        missing, and the card's text follows as the next part."""
        try:
            return await self._send_part(chat_id, part, silent)
        except BadRequest as exc:
            if part["type"] not in ("album", "photo", "document") or not part.get("lost"):
                raise
            log.warning("evidence for a card could not be sent: %s", exc)
            said = await self._budgeted(lambda: self.bot.send_message(
                chat_id, part["lost"], parse_mode=ParseMode.HTML, disable_notification=silent))
            return said.message_id

    async def _budgeted(self, call: Callable[[], Awaitable[T]]) -> T:
        """One call to Telegram in a slot of the budget (the bot's rate limiter, seeing
        COUNTED, does not take another for it)."""
        async with self.budget.slot(priority=False):
            counted = COUNTED.set(True)
            try:
                return await call()
            finally:
                COUNTED.reset(counted)

    async def _send_part(self, chat_id: int, part: dict[str, Any], silent: bool) -> int | None:
        sent = await self._budgeted(lambda: self._call_for(chat_id, part, silent))
        first = sent[0] if isinstance(sent, tuple) else sent
        return first.message_id if first is not None else None

    async def _call_for(self, chat_id: int, part: dict[str, Any], silent: bool
                        ) -> Message | tuple[Message, ...]:
        kind = part["type"]
        sent: Message | tuple[Message, ...]
        if kind == "chart":
            chart = InputFile(base64.b64decode(part["png"]), filename="chart.png")
            sent = await self.bot.send_photo(chat_id, chart, disable_notification=silent)
        elif kind == "album":
            album = [InputMediaPhoto(f) for f in part["file_ids"]]
            sent = await self.bot.send_media_group(chat_id, album, disable_notification=silent)
        elif kind == "photo":
            sent = await self.bot.send_photo(chat_id, part["file_id"], disable_notification=silent)
        elif kind == "document":
            sent = await self.bot.send_document(chat_id, part["file_id"],
                                                disable_notification=silent)
        else:
            markup = part.get("markup")
            sent = await self.bot.send_message(
                chat_id, part["text"], parse_mode=ParseMode.HTML,
                reply_markup=InlineKeyboardMarkup.de_json(markup, self.bot) if markup else None,
                disable_web_page_preview=True, disable_notification=silent)
        return sent
