"""a unit may be marked as a rating pool 评定池 (NULL: the default, see models/rating_pools.py)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 19:45:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rating_pool', sa.Boolean(), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+ has it): a batch copy of `unit` would drop the table
    # that every other table's foreign keys point at.
    op.drop_column('unit', 'rating_pool')
