"""The Bot the Application uses: PTB's ExtBot, tolerant of one thing a re-delivered update does.

An update is marked handled only after its handlers ran (bot/application.py), so after a crash
Telegram may deliver a button tap again whose callback query was already answered. Telegram
refuses a second answer ("query is too old … or query ID is invalid"); answering only stops
the button's spinner, so that refusal must not fail the handler that is doing the real work.
Likewise the handler's edit of the tapped message was made before: Telegram answers "message
is not modified", which means the message already shows what we want.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import AIORateLimiter, Defaults, ExtBot
from telegram.request import BaseRequest, HTTPXRequest

from bot.config import TelegramSettings

log = logging.getLogger(__name__)


class KaoheBot(ExtBot[Any]):
    async def answer_callback_query(self, *args: Any, **kwargs: Any) -> bool:
        try:
            return await super().answer_callback_query(*args, **kwargs)
        except BadRequest as exc:
            if "query is too old" not in str(exc).lower():
                raise
            log.info("callback query answered before (a re-delivered update): %s", exc)
            return False

    async def edit_message_reply_markup(self, *args: Any, **kwargs: Any) -> Message | bool:
        try:
            return await super().edit_message_reply_markup(*args, **kwargs)
        except BadRequest as exc:
            if "message is not modified" not in str(exc).lower():
                raise
            return True

    async def edit_message_text(self, *args: Any, **kwargs: Any) -> Message | bool:
        try:
            return await super().edit_message_text(*args, **kwargs)
        except BadRequest as exc:
            if "message is not modified" not in str(exc).lower():
                raise
            return True


def make_bot(settings: TelegramSettings, token: str | None = None, *,
             request: BaseRequest | None = None, updates_request: BaseRequest | None = None,
             rate_limiter: bool = True) -> KaoheBot:
    """The bot as the Application and `kaohe worker` both talk to Telegram with."""
    return KaoheBot(
        token or settings.token.get_secret_value(),
        base_url=settings.base_url, base_file_url=settings.base_file_url,
        # The sender's loop and the updates send at the same time: PTB's own default pool.
        request=request or HTTPXRequest(connection_pool_size=256),
        get_updates_request=updates_request or HTTPXRequest(),
        rate_limiter=AIORateLimiter(max_retries=2) if rate_limiter else None,
        # Every message is HTML (templates escape what people typed) and shows no link previews.
        defaults=Defaults(parse_mode=ParseMode.HTML,
                          link_preview_options=LinkPreviewOptions(is_disabled=True)),
    )
