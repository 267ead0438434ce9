"""The notification outbox: rows written in the same transaction as the change they announce.

A row names a template (`kind`, one of `Kind`) and its data (`payload`). The sender renders it
in the recipient's language when its turn comes, stores what it rendered on the row (`rendered`:
the parts to send, in order) and only then sends; `parts_sent` says how far it got. So a retry
after a crash re-sends the same text, from the first part Telegram has not confirmed: delivery
is at least once, with at most the one part in flight per chat sent twice (docs/scheduler.md).

A `dedupe_key` makes "send this once" hold across retries, restarts and duplicate updates.
Everything that writes or reads the outbox's state is here; bot/sender.py only talks to
Telegram.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, case, func, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from models.claims import EMBEDDED, free_for, take_turns
from models.store import Ctx, Store
from models.tables import Cadre, OutboxMessage, Unit
from models.vocab import BLOCKED, DROPPED, FAILED, PENDING, SENT

T = TypeVar("T", Cadre, Unit)

CHUNK = 1000  # ids per IN list and rows per INSERT
# 5xx, timeouts and network errors: tried again after 2, 4, 8 ... seconds, at most RETRY_PAUSE
# apart, so that the messages follow within minutes when Telegram (or the network) comes back
# after an outage; a row fails for good only after a day of failed tries (MAX_ATTEMPTS). With 8
# tries in all, every message due in an outage of four minutes or more failed for good.
RETRY_PAUSE = timedelta(minutes=5)
MAX_ATTEMPTS = 8 + int(timedelta(days=1) / RETRY_PAUSE)
# How long a sender holds the rows it picked: far longer than a batch takes to send (seconds),
# renewed before each row goes out; a killed sender's rows wait this long for another.
LEASE = timedelta(minutes=2)


class Kind(StrEnum):
    """Every message the bot sends on its own. The value is stored in outbox_message.kind."""

    # A person's own notifications: caused by someone's action about them, sent at once.
    REVIEW_REQUEST = "review_request"
    REPORT_DECIDED = "report_decided"
    CLAIM_REVIEW_REQUEST = "claim_review_request"
    CLAIM_DECIDED = "claim_decided"
    OBJECTION_LODGED = "objection_lodged"
    OBJECTION_ANSWERED = "objection_answered"
    RATING_FINALISED = "rating_finalised"  # the cadre's final grade, when the office finalises
    JOB_DONE = "job_done"  # heavy work someone asked for is done (models/jobs.py)
    # What the bot sends unbidden: reminders, digests, the rating's publication to everyone.
    DEADLINE_REMINDER = "deadline_reminder"
    OVERDUE_REMINDER = "overdue_reminder"
    OVERDUE_ESCALATION = "overdue_escalation"
    REVIEW_WAITING = "review_waiting"
    DIGEST_CADRE = "digest_cadre"
    DIGEST_SUPERVISOR = "digest_supervisor"
    DIGEST_GROUP = "digest_group"
    RATING_PUBLISHED = "rating_published"
    DIGEST_OFFICE = "digest_office"  # the office's city-wide 预警 counts (ui/insight_digest.py)
    WARN_REMINDER = "warn_reminder"  # a supervisor's 提醒 from /warn

    @property
    def unbidden(self) -> bool:
        """Held during quiet hours and sent after people's own notifications."""
        return self in _UNBIDDEN


_UNBIDDEN = frozenset({
    Kind.DEADLINE_REMINDER, Kind.OVERDUE_REMINDER, Kind.OVERDUE_ESCALATION, Kind.REVIEW_WAITING,
    Kind.DIGEST_CADRE, Kind.DIGEST_SUPERVISOR, Kind.DIGEST_GROUP, Kind.DIGEST_OFFICE,
    Kind.RATING_PUBLISHED, Kind.RATING_FINALISED, Kind.WARN_REMINDER,
})
_KNOWN = frozenset(kind.value for kind in Kind)


@dataclass(frozen=True)
class QuietHours:
    """From `start` to `end` local time (the span may cross midnight) nothing unbidden is sent,
    and a person's own notifications go out silently."""

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


# -- queueing ------------------------------------------------------------------------------


def enqueue(
    ctx: Ctx,
    kind: Kind,
    payload: dict[str, Any],
    *,
    recipient: Cadre | None = None,
    chat_id: int | None = None,
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Queue a message to a cadre (to their bound Telegram account) or to a group chat.

    False when there is nobody to send to yet (an unbound cadre sees it in the bot's lists
    instead) or when a message with the same dedupe_key was queued before: one statement either
    way, the database's unique key deciding (it also settles two transactions queueing the same
    key at once, where a look first would let both through to a constraint error).
    """
    if recipient is not None:
        chat_id = recipient.telegram_user_id
    if chat_id is None:
        return False
    queued = ctx.session.execute(_insert_once(ctx.session.get_bind().dialect.name), {
        "created_at": ctx.now, "recipient_id": None if recipient is None else recipient.id,
        "chat_id": chat_id, "kind": Kind(kind).value, "payload": payload,
        "dedupe_key": dedupe_key, "not_before": not_before or ctx.now,
    }).first()
    return queued is not None


@lru_cache(maxsize=2)
def _insert_once(dialect: str) -> Any:
    """enqueue's INSERT ... ON CONFLICT DO NOTHING RETURNING id, in the database's own dialect
    (both speak it), built once."""
    columns = ("created_at", "recipient_id", "chat_id", "kind", "payload", "dedupe_key",
               "not_before")
    return ((pg_insert if dialect == "postgresql" else sqlite_insert)(OutboxMessage)
            .values({**{name: bindparam(name) for name in columns},
                     "state": PENDING, "attempts": 0, "parts_sent": 0})
            .on_conflict_do_nothing(index_elements=[col(OutboxMessage.dedupe_key)])
            .returning(col(OutboxMessage.id)))


@dataclass(frozen=True)
class Planned:
    """A message the scheduler planned (models/schedule.py)."""

    recipient_id: int | None  # a cadre; None for a group chat
    chat_id: int | None  # only for group chats
    kind: Kind
    payload: dict[str, Any]
    dedupe_key: str
    at: datetime  # UTC


def enqueue_planned(ctx: Ctx, planned: Sequence[Planned]) -> int:
    """Queue each planned message once (by its dedupe key); returns how many were new.

    In bulk: the Monday run plans a message for every cadre, so the existing keys and the
    recipients' chats are read in a few queries and the new rows inserted in batches."""
    existing: set[str] = set()
    keys = [item.dedupe_key for item in planned]
    for first in range(0, len(keys), CHUNK):
        existing.update(key for key in ctx.session.exec(select(OutboxMessage.dedupe_key).where(
            col(OutboxMessage.dedupe_key).in_(keys[first:first + CHUNK]))).all() if key)
    people = sorted({item.recipient_id for item in planned if item.recipient_id is not None})
    chats: dict[int, int | None] = {}
    for first in range(0, len(people), CHUNK):
        chats.update({cadre_id: chat for cadre_id, chat in ctx.session.exec(
            select(Cadre.id, Cadre.telegram_user_id).where(
                col(Cadre.id).in_(people[first:first + CHUNK]))).all() if cadre_id})
    rows: list[dict[str, Any]] = []
    for item in planned:
        chat = item.chat_id if item.recipient_id is None else chats.get(item.recipient_id)
        if chat is None or item.dedupe_key in existing:
            continue  # nobody bound to send to yet, or queued before
        existing.add(item.dedupe_key)
        rows.append({"created_at": ctx.now, "recipient_id": item.recipient_id, "chat_id": chat,
                     "kind": Kind(item.kind).value, "payload": item.payload,
                     "dedupe_key": item.dedupe_key, "state": PENDING, "attempts": 0,
                     "parts_sent": 0, "not_before": item.at})
    for first in range(0, len(rows), CHUNK):
        ctx.session.execute(insert(OutboxMessage), rows[first:first + CHUNK])
    return len(rows)


# -- picking what is due -------------------------------------------------------------------


@dataclass
class Due:
    """A row whose turn has come, with what the sender needs to render and send it."""

    row: OutboxMessage
    kind: Kind
    recipient: Cadre | None
    silent: bool  # inside the recipient's quiet hours: sent without a notification sound

    @property
    def group(self) -> bool:
        return self.row.recipient_id is None


# People's own notifications before the scheduler's bulk, then oldest first.
_BULK_LAST = case((col(OutboxMessage.kind).in_(sorted(k.value for k in _UNBIDDEN)), 1),
                  else_=0)


def pick_due(ctx: Ctx, quiet: QuietHours, *, limit: int,
             busy_chats: Iterable[int] = (), claimant: str = EMBEDDED,
             lease: timedelta = LEASE) -> list[Due]:
    """Rows to send now, claimed for `claimant` for `lease`: at most one per chat (a chat's
    messages go out one after another), none for a chat in `busy_chats` (paced or held by a
    429) or with a row another sender holds, none another sender holds.

    Senders pick one at a time (models/claims.py `take_turns`), so two never claim the same row
    or the same chat. Unbidden rows that fall in their recipient's quiet hours are moved to when
    those end; a row of a kind this version does not know is marked failed, so it shows in the
    admins' list instead of vanishing. Commits nothing itself: the caller's transaction does.
    """
    take_turns(ctx, "outbox")
    busy = set(busy_chats)
    held_elsewhere = select(OutboxMessage.chat_id).where(
        OutboxMessage.state == PENDING, col(OutboxMessage.claimed_until) > ctx.now,
        col(OutboxMessage.claimed_by) != claimant, col(OutboxMessage.chat_id).is_not(None))
    query = select(OutboxMessage).where(
        OutboxMessage.state == PENDING, col(OutboxMessage.not_before) <= ctx.now,
        free_for(claimant, OutboxMessage.claimed_by, OutboxMessage.claimed_until, ctx.now),
        col(OutboxMessage.chat_id).not_in(held_elsewhere))
    if busy:
        query = query.where(col(OutboxMessage.chat_id).not_in(sorted(busy)))
    rows = ctx.session.exec(
        query.order_by(_BULK_LAST, col(OutboxMessage.id)).limit(limit)).all()
    # The recipients and their units in two statements, not two a row (each of which would
    # also have flushed the claims made so far one by one).
    recipients = _by_id(ctx.session, Cadre, {row.recipient_id for row in rows})
    units = _by_id(ctx.session, Unit, {recipient.unit_id for recipient in recipients.values()}
                   | {row.payload.get("unit_id") for row in rows})
    due: list[Due] = []
    for row in rows:
        if row.chat_id in busy:
            continue
        if row.kind not in _KNOWN:
            row.state, row.last_error = FAILED, f"unknown kind {row.kind!r}"
            continue
        kind = Kind(row.kind)
        recipient = recipients.get(row.recipient_id)
        unit = units.get(recipient.unit_id if recipient is not None
                         else row.payload.get("unit_id"))
        resume = quiet.resume_at(ctx.now, ZoneInfo(unit.timezone)
                                 if unit is not None and unit.timezone else ctx.tz)
        if resume is not None and kind.unbidden:  # goes out when quiet hours end
            row.not_before = resume
            continue
        busy.add(row.chat_id or 0)
        row.claimed_by, row.claimed_until = claimant, ctx.now + lease
        due.append(Due(row, kind, recipient, silent=resume is not None))
    return due


def _by_id(session: Session, table: type[T], ids: set[Any]) -> dict[int | None, T]:
    """Rows of `table` by id (None and ids of no row left out)."""
    wanted = sorted(i for i in ids if isinstance(i, int))
    if not wanted:
        return {}
    found = session.exec(select(table).where(col(table.id).in_(wanted))).all()
    return {row.id: row for row in found}


def claimed(ctx: Ctx, picked: Sequence[tuple[int, bool]]) -> list[Due]:
    """The rows `pick_due` claimed (id, silent), read again in ctx's transaction, in order, to
    be rendered there; a row no longer pending (or gone) is left out."""
    ids = [row_id for row_id, _ in picked]
    rows = {row.id: row for row in ctx.session.exec(select(OutboxMessage).where(
        col(OutboxMessage.id).in_(ids), OutboxMessage.state == PENDING)).all()}
    recipients = _by_id(ctx.session, Cadre, {row.recipient_id for row in rows.values()})
    return [Due(rows[row_id], Kind(rows[row_id].kind), recipients.get(rows[row_id].recipient_id),
                silent) for row_id, silent in picked if row_id in rows]


def any_due(ctx: Ctx, chats: Iterable[int], claimant: str = EMBEDDED) -> bool:
    """Whether any of these chats has a row due now that `claimant` may take (they wait for
    their turn)."""
    return ctx.session.exec(select(OutboxMessage.id).where(
        OutboxMessage.state == PENDING, col(OutboxMessage.not_before) <= ctx.now,
        free_for(claimant, OutboxMessage.claimed_by, OutboxMessage.claimed_until, ctx.now),
        col(OutboxMessage.chat_id).in_(sorted(chats))).limit(1)).first() is not None


def fail(row: OutboxMessage, error: str) -> None:
    """For good, in the caller's transaction (the row could not be rendered)."""
    row.state, row.last_error = FAILED, error[:500]


def save_rendered(row: OutboxMessage, parts: list[dict[str, Any]] | None) -> None:
    """What the row will be sent as, stored before the first send. None: nothing to send any
    more (the reminder's task was reported meanwhile, the report is gone): dropped."""
    if parts is None:
        row.state = DROPPED
        return
    row.rendered = parts


# -- marking rows --------------------------------------------------------------------------


def release(store: Store, claimant: str) -> int:
    """A sender stopping cleanly lets go of the rows it claimed and did not send, so that
    another takes them at once rather than after the lease."""
    with store.transaction() as ctx:
        released = ctx.session.execute(
            update(OutboxMessage).where(col(OutboxMessage.claimed_by) == claimant,
                                        col(OutboxMessage.state) == PENDING)
            .values(claimed_by=None, claimed_until=None))
        return int(released.rowcount)  # type: ignore[attr-defined]


def renew(store: Store, row_id: int, claimant: str, lease: timedelta = LEASE) -> bool:
    """Just before a row goes out: still ours? Then the lease starts again. False: its lease
    ran out and another sender took it (or it is no longer pending): leave it alone."""
    with store.transaction() as ctx:
        renewed = ctx.session.execute(
            update(OutboxMessage).where(
                col(OutboxMessage.id) == row_id, col(OutboxMessage.state) == PENDING,
                col(OutboxMessage.claimed_by) == claimant)
            .values(claimed_until=ctx.now + lease))
        return bool(renewed.rowcount)  # type: ignore[attr-defined]


@contextmanager
def _update(store: Store, row_id: int) -> Iterator[tuple[Ctx, OutboxMessage | None]]:
    """A transaction holding the row (None if it is gone)."""
    with store.transaction() as ctx:
        yield ctx, ctx.session.get(OutboxMessage, row_id)


def mark_part_sent(store: Store, row_id: int, parts_sent: int,
                   message_id: int | None) -> None:
    """Telegram confirmed the part: a retry starts after it."""
    with _update(store, row_id) as (_, row):
        if row is not None:
            row.parts_sent = parts_sent
            if message_id is not None:
                row.message_id = message_id


def mark_sent(store: Store, row_id: int, parts_sent: int, message_id: int | None) -> None:
    """Every part confirmed; `message_id` is the last one's (the text with the buttons, which
    a later change may edit)."""
    with _update(store, row_id) as (ctx, row):
        if row is None:
            return
        row.state, row.sent_at, row.last_error = SENT, ctx.now, None
        row.parts_sent, row.message_id = parts_sent, message_id
        row.attempts += 1
        # Keep the text that was sent, not the picture's bytes.
        row.rendered = [{k: v for k, v in part.items() if k != "png"}
                        for part in row.rendered or []]


def mark_blocked(store: Store, row_id: int, error: str) -> None:
    """Telegram says 403: the person blocked the bot (or the bot left the group)."""
    _finish(store, row_id, BLOCKED, error)


def mark_failed(store: Store, row_id: int, error: str) -> None:
    """For good: Telegram refused the message (400) or it could not be rendered."""
    _finish(store, row_id, FAILED, error)


def _finish(store: Store, row_id: int, state: str, error: str) -> None:
    with _update(store, row_id) as (_, row):
        if row is not None:
            row.state, row.last_error = state, error[:500]
            row.attempts += 1


def hold(store: Store, row_id: int, until: datetime, error: str | None = None) -> None:
    """Not yet: Telegram asked to wait (429) or the chat is held. Uses up no attempt."""
    with _update(store, row_id) as (_, row):
        if row is not None:
            row.not_before = until
            row.claimed_by = row.claimed_until = None  # any sender may take it then
            if error is not None:
                row.last_error = error


def retry(store: Store, row_id: int, error: str) -> None:
    """A 5xx, timeout or network failure: try again later, doubling the wait each time up to
    RETRY_PAUSE, and fail for good after MAX_ATTEMPTS (a day of tries)."""
    with _update(store, row_id) as (ctx, row):
        if row is None:
            return
        row.attempts += 1
        row.last_error = error[:500]
        if row.attempts >= MAX_ATTEMPTS:
            row.state = FAILED
        else:
            row.not_before = ctx.now + min(timedelta(seconds=2 ** min(row.attempts, 20)),
                                           RETRY_PAUSE)
            row.claimed_by = row.claimed_until = None  # any sender may take it then


# -- what admins see -------------------------------------------------------------------------


@dataclass(frozen=True)
class FailedDelivery:
    name: str  # the recipient, or "" for a group chat
    kind: str
    at: datetime  # when it was queued
    error: str


def failed_deliveries(session: Session, limit: int = 10) -> tuple[int, list[FailedDelivery]]:
    """How many rows failed for good, and the latest `limit` of them."""
    count = session.exec(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.state == FAILED)).one()
    rows = session.exec(
        select(OutboxMessage, Cadre.name)
        .join(Cadre, col(Cadre.id) == col(OutboxMessage.recipient_id), isouter=True)
        .where(OutboxMessage.state == FAILED)
        .order_by(col(OutboxMessage.id).desc()).limit(limit)).all()
    return count, [FailedDelivery(name or "", row.kind, row.created_at, row.last_error or "")
                   for row, name in rows]
