"""annual rating: the run of each period (公示, final), published and final grades, objections

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 01:56:43.719918
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('objection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('cadre_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('lodged_at', sa.DateTime(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('answered_by', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by'], ['cadre.id'], ),
    sa.ForeignKeyConstraint(['cadre_id'], ['cadre.id'], ),
    sa.ForeignKeyConstraint(['period_id'], ['period.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('period_id', 'cadre_id', name='objection_period_cadre')
    )
    op.create_table('rating_grade',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('cadre_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('published_total', sa.BigInteger(), nullable=True),
    sa.Column('published_rank', sa.Integer(), nullable=True),
    sa.Column('published_grade', sa.String(length=16), nullable=True),
    sa.Column('final_total', sa.BigInteger(), nullable=True),
    sa.Column('final_rank', sa.Integer(), nullable=True),
    sa.Column('final_grade', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['cadre_id'], ['cadre.id'], ),
    sa.ForeignKeyConstraint(['period_id'], ['period.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('period_id', 'cadre_id', name='rating_grade_period_cadre')
    )
    op.create_table('rating_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('publicity_days', sa.Integer(), nullable=False),
    sa.Column('publicity_ends_on', sa.Date(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=False),
    sa.Column('published_by', sa.Integer(), nullable=True),
    sa.Column('finalised_at', sa.DateTime(), nullable=True),
    sa.Column('finalised_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['finalised_by'], ['cadre.id'], ),
    sa.ForeignKeyConstraint(['period_id'], ['period.id'], ),
    sa.ForeignKeyConstraint(['published_by'], ['cadre.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('period_id')
    )


def downgrade() -> None:
    op.drop_table('rating_run')
    op.drop_table('rating_grade')
    op.drop_table('objection')
