"""Taking turns between senders and workers: claims with leases, and the workers' heartbeats.

Any number of `kaohe worker` processes (and, in the embedded default, the bot itself) may work
on one database. Whatever one of them takes — an outbox row, a job — it *claims*: its name and
a lease's end go on the row, in the transaction that picks it. Another claimant passes over a
row whose lease is still running and takes it over once the lease ran out (its holder was killed
or hangs). Picking is serialised by a row lock (`take_turns`), so two claimants never pick the
same row, on PostgreSQL as on SQLite (whose one writer at a time already does it).
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import col, select

from models.store import Ctx, Store
from models.tables import BotState, Worker

EMBEDDED = "embedded"  # the bot's own sender: one per database, it may take back its own claims
HEARTBEAT_ALIVE = timedelta(seconds=30)  # a worker not seen for this long counts as gone


def worker_name() -> str:
    """This process's name as a claimant: host and pid for people reading the tables, and a
    random part that makes it unique: replicas in containers are all process 1, and their
    hostnames may agree (a compose file's `hostname:`, pod names cut to 40 characters); two
    workers of one name would each take the other's claims for their own."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(4)}"


def free_for(claimant: str, claimed_by: object, claimed_until: object,
             now: datetime) -> ColumnElement[bool]:
    """Unclaimed, its lease run out, or claimed by `claimant` itself."""
    return or_(col(claimed_until).is_(None), col(claimed_until) <= now,
               col(claimed_by) == claimant)


def take_turns(ctx: Ctx, name: str) -> None:
    """Hold the lock named `name` until ctx's transaction ends (a row of bot_state, FOR
    UPDATE); made on first use. On SQLite the transaction holds the database's one write lock
    already: nothing to take."""
    if not ctx.locks_rows:
        return
    key = {"kind": "turns", "key": name, "data": None, "updated_at": ctx.now}
    ctx.session.execute(pg_insert(BotState).values(**key).on_conflict_do_nothing())
    ctx.session.exec(select(BotState.key).where(
        BotState.kind == "turns", BotState.key == name).with_for_update()).one()


def heartbeat(store: Store, name: str) -> int:
    """Say `name` is alive; returns how many workers are (itself included)."""
    with store.transaction() as ctx:
        row = ctx.session.get(Worker, name)
        if row is None:
            ctx.session.add(Worker(name=name, started_at=ctx.now, seen_at=ctx.now))
        else:
            row.seen_at = ctx.now
        ctx.session.flush()
        alive = ctx.session.exec(select(func.count()).select_from(Worker).where(
            col(Worker.seen_at) > ctx.now - HEARTBEAT_ALIVE)).one()
        return max(int(alive), 1)


def sign_off(store: Store, name: str) -> None:
    """A clean shutdown: the others take up its share of the rate at once."""
    with store.transaction() as ctx:
        row = ctx.session.get(Worker, name)
        if row is not None:
            ctx.session.delete(row)
