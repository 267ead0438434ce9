"""python-telegram-bot persistence in Kaohe's own database (table bot_state).

Conversation states and user data are written when PTB hands them over; after every update the
application hands them over through `commit_update`, which writes them in one transaction with
the row saying the update was handled (bot/application.py). So a restart, even an abrupt one,
resumes each conversation at the step it had reached, and an update whose handling was cut
short is neither half-remembered nor lost: Telegram delivers it again and it is handled again.
What a half-written report holds lives in its draft row (models.reports.save_draft), not here:
this table only says where people are.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from models.store import Store
from models.tables import BotState, ProcessedUpdate

USER_DATA = "user_data"


def _conversation_kind(name: str) -> str:
    return f"conversation:{name}"


class DatabasePersistence(BasePersistence[dict[str, Any], dict[str, Any], dict[str, Any]]):
    """Keeps conversations and user data; chat, bot and callback data are not used by Kaohe."""

    def __init__(self, store: Store) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=True,
                                        callback_data=False),
            update_interval=60,
        )
        self.store = store
        self._held: list[Callable[[Session], Any]] | None = None  # writes waiting for commit

    async def commit_update(self, application: Any, update_id: int) -> None:
        """The states `application` hands over now, and "update `update_id` was handled", in
        one transaction."""
        self._held = []
        try:
            await application.update_persistence()
            writes = self._held
        finally:
            self._held = None

        def commit(session: Session) -> None:
            for write in writes:
                write(session)
            session.merge(ProcessedUpdate(update_id=update_id, handled_at=self.store.clock()))

        await self._run(commit)

    # -- plumbing ---------------------------------------------------------------------------

    async def _write(self, work: Callable[[Session], Any]) -> None:
        if self._held is not None:
            self._held.append(work)
        else:
            await self._run(work)

    async def _run(self, work: Callable[[Session], Any]) -> Any:
        def in_transaction() -> Any:
            with self.store.session() as session:
                result = work(session)
                session.commit()
                return result

        return await asyncio.to_thread(in_transaction)

    def _put(self, session: Session, kind: str, key: str, data: Any) -> None:
        row = session.get(BotState, (kind, key))
        if data is None:
            if row is not None:
                session.delete(row)
            return
        if row is None:
            session.add(BotState(kind=kind, key=key, data=data, updated_at=self.store.clock()))
        else:
            row.data = data
            row.updated_at = self.store.clock()

    # -- conversations ----------------------------------------------------------------------

    async def get_conversations(self, name: str) -> ConversationDict:
        kind = _conversation_kind(name)

        def load(session: Session) -> ConversationDict:
            rows = session.exec(select(BotState).where(BotState.kind == kind)).all()
            return {tuple(json.loads(row.key)): row.data for row in rows}

        result: ConversationDict = await self._run(load)
        return result

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        kind, text_key = _conversation_kind(name), json.dumps(list(key))
        await self._write(lambda session: self._put(session, kind, text_key, new_state))

    # -- user data ----------------------------------------------------------------------------

    async def get_user_data(self) -> dict[int, dict[str, Any]]:
        def load(session: Session) -> dict[int, dict[str, Any]]:
            rows = session.exec(select(BotState).where(BotState.kind == USER_DATA)).all()
            return {int(row.key): dict(row.data or {}) for row in rows}

        result: dict[int, dict[str, Any]] = await self._run(load)
        return result

    async def update_user_data(self, user_id: int, data: dict[str, Any]) -> None:
        await self._write(lambda session: self._put(session, USER_DATA, str(user_id),
                                                    data or None))

    async def drop_user_data(self, user_id: int) -> None:
        await self._write(lambda session: session.execute(
            delete(BotState).where(col(BotState.kind) == USER_DATA,
                                   col(BotState.key) == str(user_id))
        ))

    async def refresh_user_data(self, user_id: int, user_data: dict[str, Any]) -> None:
        """Nothing to refresh: this process is the only writer of its users' data."""

    # -- what Kaohe does not persist ------------------------------------------------------------

    async def get_chat_data(self) -> dict[int, dict[str, Any]]:
        return {}

    async def get_bot_data(self) -> dict[str, Any]:
        return {}

    async def get_callback_data(self) -> None:
        return None

    async def update_chat_data(self, chat_id: int, data: dict[str, Any]) -> None:
        """Not stored."""

    async def update_bot_data(self, data: dict[str, Any]) -> None:
        """Not stored."""

    async def update_callback_data(self, data: Any) -> None:
        """Not stored."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """Not stored."""

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[str, Any]) -> None:
        """Not stored."""

    async def refresh_bot_data(self, bot_data: dict[str, Any]) -> None:
        """Not stored."""

    async def flush(self) -> None:
        """Every write is already committed."""
