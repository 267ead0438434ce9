"""python-telegram-bot persistence in Kaohe's own database (table bot_state).

Conversation states and user data are written when PTB hands them over; after every update the
application hands them over through `commit_update`, which writes them, with the row saying the
update was handled, in the transaction the whole update ran in (bot/updates.py). So a restart,
even an abrupt one, resumes each conversation at the step it had reached, and an update whose
handling was cut short is neither half-remembered nor lost: Telegram delivers it again and it
is handled again.
What a half-written report holds lives in its draft row (models.reports.save_draft), not here:
this table only says where people are.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, update
from sqlmodel import Session, SQLModel, select
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from models.store import Store, current_unit
from models.tables import BotState

USER_DATA = "user_data"
_Write = tuple[str, str, Any]  # (kind, key, data); data None: the row goes
_ABSENT = object()

# Every update runs these: they are built once, over the plain tables (no ORM unit of work in
# between), so SQLAlchemy reuses their compiled form and only the parameters change.
_STATE = SQLModel.metadata.tables["bot_state"]  # models.tables BotState
_HANDLED = SQLModel.metadata.tables["processed_update"]  # models.tables ProcessedUpdate
_ROW = and_(_STATE.c.kind == bindparam("b_kind"), _STATE.c.key == bindparam("b_key"))
_INSERT_STATE = insert(_STATE)
_UPDATE_STATE = update(_STATE).where(_ROW).values(
    data=bindparam("b_data", type_=_STATE.c.data.type), updated_at=bindparam("b_at"))
_DELETE_STATE = delete(_STATE).where(_ROW)
_IS_HANDLED = select(_HANDLED.c.update_id).where(_HANDLED.c.update_id == bindparam("b_id"))
_MARK_HANDLED = insert(_HANDLED)


def was_handled(session: Session, update_id: int) -> bool:
    """Is the update recorded as handled (`commit_update`)? Telegram may deliver it again."""
    found = session.connection().execute(_IS_HANDLED, {"b_id": update_id}).first()
    return found is not None


def _conversation_kind(name: str) -> str:
    return f"conversation:{name}"


class DatabasePersistence(BasePersistence[dict[str, Any], dict[str, Any], dict[str, Any]]):
    """Keeps conversations and user data; chat, bot and callback data are not used by Kaohe.

    This process is the only writer of the table, so it knows what every row holds (read at
    start, kept after each commit): a state handed over unchanged is not written again, and a
    changed one is one INSERT, UPDATE or DELETE without reading the row first."""

    def __init__(self, store: Store) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=True,
                                        callback_data=False),
            update_interval=60,
        )
        self.store = store
        self._held: list[_Write] | None = None  # writes waiting for the update's commit
        self._stored: dict[tuple[str, str], Any] = {}  # (kind, key) -> data, as committed

    async def commit_update(self, application: Any, update_id: int) -> None:
        """The states `application` hands over now, and "update `update_id` was handled",
        written in the update's transaction (bot/updates.py), which this commits; in a
        transaction of their own outside an update."""
        self._held = []
        try:
            await application.update_persistence()
            writes = self._held
        finally:
            self._held = None

        def record(session: Session) -> None:
            self._apply(session, writes)
            session.connection().execute(_MARK_HANDLED, {"update_id": update_id,
                                                         "handled_at": self.store.clock()})

        unit = current_unit()
        if unit is None or unit.store is not self.store:
            await self._run(record)
        else:
            def in_unit() -> None:
                record(unit.session)
                unit.commit()

            await asyncio.to_thread(in_unit)
        self._remember(writes)

    # -- plumbing ---------------------------------------------------------------------------

    async def _write(self, write: _Write) -> None:
        if self._held is not None:
            self._held.append(write)
            return
        await self._run(lambda session: self._apply(session, [write]))
        self._remember([write])

    async def _run(self, work: Callable[[Session], Any]) -> Any:
        def in_transaction() -> Any:
            with self.store.session() as session:
                result = work(session)
                session.commit()
                return result

        return await asyncio.to_thread(in_transaction)

    def _apply(self, session: Session, writes: list[_Write]) -> None:
        """The statements that make the table say what `writes` say (the last write of a key
        wins); nothing for a key that already says it."""
        wanted = {(kind, key): data for kind, key, data in writes}
        for (kind, key), data in wanted.items():
            stored = self._stored.get((kind, key), _ABSENT)
            row = {"b_kind": kind, "b_key": key}
            if data is None:
                if stored is not _ABSENT:
                    session.connection().execute(_DELETE_STATE, row)
            elif stored is _ABSENT:
                session.connection().execute(_INSERT_STATE, {
                    "kind": kind, "key": key, "data": data, "updated_at": self.store.clock()})
            elif stored != data:
                session.connection().execute(_UPDATE_STATE, {
                    **row, "b_data": data, "b_at": self.store.clock()})

    def _remember(self, writes: list[_Write]) -> None:
        """After the commit: what the rows hold now."""
        for kind, key, data in writes:
            if data is None:
                self._stored.pop((kind, key), None)
            else:
                self._stored[(kind, key)] = data

    def _loaded(self, rows: Iterable[BotState]) -> None:
        for row in rows:
            self._stored[(row.kind, row.key)] = row.data

    # -- conversations ----------------------------------------------------------------------

    async def get_conversations(self, name: str) -> ConversationDict:
        kind = _conversation_kind(name)

        def load(session: Session) -> ConversationDict:
            rows = session.exec(select(BotState).where(BotState.kind == kind)).all()
            self._loaded(rows)
            return {tuple(json.loads(row.key)): row.data for row in rows}

        result: ConversationDict = await self._run(load)
        return result

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        await self._write((_conversation_kind(name), json.dumps(list(key)), new_state))

    # -- user data ----------------------------------------------------------------------------

    async def get_user_data(self) -> dict[int, dict[str, Any]]:
        def load(session: Session) -> dict[int, dict[str, Any]]:
            rows = session.exec(select(BotState).where(BotState.kind == USER_DATA)).all()
            self._loaded(rows)
            return {int(row.key): dict(row.data or {}) for row in rows}

        result: dict[int, dict[str, Any]] = await self._run(load)
        return result

    async def update_user_data(self, user_id: int, data: dict[str, Any]) -> None:
        await self._write((USER_DATA, str(user_id), data or None))

    async def drop_user_data(self, user_id: int) -> None:
        await self._write((USER_DATA, str(user_id), None))

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
