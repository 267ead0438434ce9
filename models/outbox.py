"""The notification outbox: rows written in the same transaction as the change they announce.

A row names a template (`kind`) and its data (`payload`); the sender renders it in the
recipient's language when it sends. A `dedupe_key` makes "send this once" hold across retries,
restarts and duplicate updates.
"""

from datetime import datetime
from typing import Any

from sqlmodel import select

from models.store import Ctx
from models.tables import Cadre, OutboxMessage


def enqueue(
    ctx: Ctx,
    kind: str,
    payload: dict[str, Any],
    *,
    recipient: Cadre | None = None,
    chat_id: int | None = None,
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage | None:
    """Queue a message to a cadre (to their bound Telegram account) or to a group chat.

    Returns None when there is nobody to send to yet (an unbound cadre sees it in the bot's
    lists instead) or when a message with the same dedupe_key was queued before.
    """
    if recipient is not None:
        chat_id = recipient.telegram_user_id
    if chat_id is None:
        return None
    if dedupe_key is not None:
        existing = ctx.session.exec(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
        ).first()
        if existing is not None:
            return None
    message = OutboxMessage(
        created_at=ctx.now,
        recipient_id=None if recipient is None else recipient.id,
        chat_id=chat_id,
        kind=kind,
        payload=payload,
        dedupe_key=dedupe_key,
        not_before=not_before or ctx.now,
    )
    ctx.session.add(message)
    return message
