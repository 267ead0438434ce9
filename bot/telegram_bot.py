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
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import AIORateLimiter, Defaults, ExtBot
from telegram.request import BaseRequest, HTTPXRequest

from bot.budget import COUNTED, SendBudget
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


Answer = bool | dict[str, Any] | list[dict[str, Any]]


class BudgetRateLimiter(AIORateLimiter):
    """PTB's limiter (a group's twenty a minute, waiting out a 429 and trying again) with the
    overall limit taken from the send budget the process shares with the outbox and the other
    processes (bot/budget.py), ahead of the outbox. Every call to a chat counts, as Telegram
    counts them; a call the outbox's sender already took a slot for (COUNTED) does not."""

    def __init__(self, budget: SendBudget, max_retries: int) -> None:
        super().__init__(overall_max_rate=0, max_retries=max_retries)
        self.budget = budget

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, Answer]],
                              args: Any, kwargs: dict[str, Any], endpoint: str,
                              data: dict[str, Any], rate_limit_args: int | None) -> Answer:
        if data.get("chat_id") is None or COUNTED.get():
            return await super().process_request(callback, args, kwargs, endpoint, data,
                                                 rate_limit_args)

        async def in_a_slot(*call_args: Any, **call_kwargs: Any) -> Answer:
            async with self.budget.slot(priority=True):  # each try takes its own
                return await callback(*call_args, **call_kwargs)

        return await super().process_request(in_a_slot, args, kwargs, endpoint, data,
                                             rate_limit_args)


def make_bot(settings: TelegramSettings, token: str | None = None, *,
             request: BaseRequest | None = None, updates_request: BaseRequest | None = None,
             rate_limiter: bool = True, budget: SendBudget | None = None) -> KaoheBot:
    """The bot as the Application and `kaohe worker` both talk to Telegram with."""
    return KaoheBot(
        token or settings.token.get_secret_value(),
        base_url=settings.base_url, base_file_url=settings.base_file_url,
        # The sender's loop and the updates send at the same time: PTB's own default pool.
        request=request or HTTPXRequest(connection_pool_size=256),
        get_updates_request=updates_request or HTTPXRequest(),
        # Without a budget (a script's bot): PTB's own overall limit.
        rate_limiter=(None if not rate_limiter else AIORateLimiter(max_retries=2)
                      if budget is None else BudgetRateLimiter(budget, max_retries=2)),
        # Every message is HTML (templates escape what people typed) and shows no link previews.
        defaults=Defaults(parse_mode=ParseMode.HTML,
                          link_preview_options=LinkPreviewOptions(is_disabled=True)),
    )
