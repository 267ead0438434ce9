"""Free text a user types at a step: checked where it is typed, by the rule the operation that
stores it applies (models/limits.py), so the answer comes at once and in the user's language."""

from __future__ import annotations

from telegram import Update

from handlers.common import Person, answer, refusal_text
from models.errors import Refused
from models.limits import TextRule, checked_text


async def typed_text(update: Update, p: Person, rule: TextRule) -> str | None:
    """The message's text cleaned and checked; None after telling the user what is wrong."""
    message = update.effective_message
    try:
        return checked_text(rule, message.text if message is not None else None)
    except Refused as refusal:
        await answer(update, refusal_text(p.r, refusal))
        return None
