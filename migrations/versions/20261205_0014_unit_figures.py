"""unit_figures: each unit's 总览 figures (红黄绿 counts, 未按期汇报) for a day, kept by a job

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 02:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'unit_figures',
        sa.Column('period_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('for_day', sa.Date(), nullable=False),
        sa.Column('computed_at', sa.DateTime(), nullable=False),
        sa.Column('colour', sa.String(length=8), nullable=False),
        sa.Column('red', sa.Integer(), nullable=False),
        sa.Column('yellow', sa.Integer(), nullable=False),
        sa.Column('green', sa.Integer(), nullable=False),
        sa.Column('late', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['period_id'], ['period.id']),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id']),
        sa.PrimaryKeyConstraint('period_id', 'unit_id'),
    )


def downgrade() -> None:
    op.drop_table('unit_figures')
