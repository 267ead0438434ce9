"""Each update handled in one transaction: python-telegram-bot's Application, with
`process_update` wrapped in a unit of work (models/store.py `Store.unit`).

Everything the update does in the database shares it: the check that the update is new, who is
writing (handlers/common.py `person`), the operations (each a savepoint, so a refusal undoes
only its own operation), the conversation states it leaves and the row saying it was handled
(bot/persistence.py `commit_update`, which commits). So an update's work commits once, and all
of it or none: Telegram may deliver an update again (after a crash, before it saw our offset);
one recorded as handled is dropped, and one cut short left nothing behind and is handled again.

On SQLite the transaction holds the database's write lock from the update's first statement to
its commit, Telegram calls included; the sender and the scheduler wait for it meanwhile (a few
milliseconds through the simulator, a round trip to Telegram in production).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.persistence import DatabasePersistence, was_handled
from models.store import noting_inserts

log = logging.getLogger(__name__)


class UpdateApplication(Application[Any, Any, Any, Any, Any, Any]):
    """The Application Kaohe builds (ApplicationBuilder.application_class)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # (table, hook): the hook is called once an update's transaction has committed, when
        # it inserted into the table (wake the sender for the rows it queued).
        self.committed: list[tuple[str, Callable[[], None]]] = []

    async def process_update(self, update: object) -> None:
        persistence = self.persistence
        if not isinstance(update, Update) or not isinstance(persistence, DatabasePersistence):
            await super().process_update(update)
            return
        update_id = update.update_id

        with persistence.store.unit(owner=asyncio.current_task()) as unit, \
                noting_inserts() as inserted:
            if await asyncio.to_thread(unit.read, lambda s: was_handled(s, update_id)):
                log.info("update %s delivered again; ignored", update_id)
                return
            await super().process_update(update)
            await persistence.commit_update(self, update_id)
        for table, hook in self.committed:
            if table in inserted:
                hook()
