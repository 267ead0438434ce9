"""send_slot: Telegram's rolling second shared by the bot and the workers (bot/budget.py)

On PostgreSQL a function takes a slot in one round trip: under a transaction-scoped advisory
lock it forgets what left the rolling second, counts what is in it and takes a slot if the
budget allows, on the database's clock (the senders may be on other hosts).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 04:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (holder, urgent, cap, reserve, reserve_for, lost_after, patience) -> (slot, wait). A slot
# counts while in flight and for a second after its answer: however late a send reached
# Telegram, it was before its answer. The bot's answers (urgent) may take any free slot; the
# outbox leaves `reserve` of them free while the bot has answered someone within `reserve_for`
# seconds. When the window is full, the slot that frees first (the oldest answer turning a
# second old) is booked if that is within `patience` seconds: the send must then wait `wait`
# seconds (the answer's trip back only adds to it), and counts as in flight from now on. Else
# no slot, and `wait` says when to ask again. A slot in flight for `lost_after` seconds belonged
# to a process that died.
TAKE_SEND_SLOT = """
CREATE FUNCTION take_send_slot(who text, urgent boolean, cap integer, reserve integer,
                               reserve_for double precision, lost_after double precision,
                               patience double precision)
RETURNS TABLE (slot bigint, wait double precision)
LANGUAGE plpgsql AS $$
DECLARE
    now_s double precision;
    busy integer;
    urgent_busy integer;
    urgent_lately boolean;
    held_back integer := 0;
    starts double precision;
BEGIN
    PERFORM pg_advisory_xact_lock(7461001);
    now_s := extract(epoch FROM clock_timestamp());
    DELETE FROM send_slot s
     WHERE (s.answered_at IS NULL AND s.taken_at <= now_s - lost_after)
        OR s.answered_at <= now_s - CASE WHEN s.priority THEN greatest(reserve_for, 1.0)
                                         ELSE 1.0 END;
    SELECT count(*) FILTER (WHERE s.answered_at IS NULL OR s.answered_at > now_s - 1),
           count(*) FILTER (WHERE s.priority
                            AND (s.answered_at IS NULL OR s.answered_at > now_s - 1)),
           coalesce(bool_or(s.priority), false)
      INTO busy, urgent_busy, urgent_lately
      FROM send_slot s;
    IF NOT urgent AND urgent_lately THEN
        held_back := greatest(least(reserve, cap - 1) - urgent_busy, 0);
    END IF;
    IF busy + held_back < cap THEN
        starts := now_s;
    ELSE  -- when enough answers have left the rolling second (none: the rest are in flight)
        SELECT s.answered_at + 1 INTO starts FROM send_slot s
         WHERE s.answered_at > now_s - 1
         ORDER BY s.answered_at OFFSET busy + held_back - cap LIMIT 1;
    END IF;
    IF starts IS NOT NULL AND starts - now_s <= patience THEN
        INSERT INTO send_slot (holder, priority, taken_at) VALUES (who, urgent, starts)
        RETURNING id INTO slot;
        wait := starts - now_s;
    ELSE
        slot := NULL;
        wait := coalesce(starts - now_s - patience, 0.01);
    END IF;
    RETURN NEXT;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        'send_slot',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('holder', sa.String(length=64), nullable=False),
        sa.Column('priority', sa.Boolean(), nullable=False),
        sa.Column('taken_at', sa.Float(), nullable=False),
        sa.Column('answered_at', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(TAKE_SEND_SLOT)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION take_send_slot')
    op.drop_table('send_slot')
