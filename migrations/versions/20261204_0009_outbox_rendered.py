"""the outbox keeps what it rendered, and how many parts Telegram confirmed

A message is rendered once, stored, then sent: a retry after a crash re-sends the same text
from the first part not yet confirmed, instead of rendering anew (bot/sender.py).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 20:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rendered', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('parts_sent', sa.Integer(), nullable=False,
                                      server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('parts_sent')
        batch_op.drop_column('rendered')
