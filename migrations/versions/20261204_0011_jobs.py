"""heavy work beside the bot: a durable jobs table, workers' heartbeats, outbox claims

The bot enqueues heavy jobs (the digest run, a recompute after a policy change) in `job`; a
worker (`kaohe worker`) or, in the embedded default, the bot process itself claims and runs
them. Outbox rows are claimed too, with a lease (`claimed_by`, `claimed_until`), so that two
workers never send the same row and a killed worker's rows are taken over when its lease runs
out (models/claims.py).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 22:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'job',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('kind', sa.String(32), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('dedupe_key', sa.String(160), nullable=True, unique=True),
        sa.Column('requested_by', sa.Integer(), sa.ForeignKey('cadre.id'), nullable=True),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_by', sa.String(64), nullable=True),
        sa.Column('claimed_until', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
    )
    op.create_index('job_waiting', 'job', ['state', 'id'])
    op.create_table(
        'worker',
        sa.Column('name', sa.String(64), primary_key=True),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('seen_at', sa.DateTime(), nullable=False),
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(64), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(), nullable=True))
        batch_op.create_index('outbox_claimed', ['claimed_until'])


def downgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('outbox_claimed')
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('claimed_by')
    op.drop_table('worker')
    op.drop_index('job_waiting', table_name='job')
    op.drop_table('job')
