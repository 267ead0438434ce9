"""a partial index for task parents: with statistics, an index of NULLs was never used

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 02:55:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_task_parent_id', table_name='task')
    where = sa.text('parent_id IS NOT NULL')
    op.create_index('task_parent', 'task', ['parent_id'], unique=False,
                    sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    op.drop_index('task_parent', table_name='task')
    op.create_index('ix_task_parent_id', 'task', ['parent_id'], unique=False)
