"""the per-task breakdown moves out of the standing row; rank-group indexes per kind

A standing row with its breakdown (a few KB for 40 tasks) made every rank shift rewrite
kilobytes: at 20,000 cadres an approval spent 90 ms shifting ranks. Ranks are counted on
partial indexes, one per kind of assessee, which the count can read without the table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 02:45:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RANK_INDEXES = (
    ('standing_cadre_group_total', 'group_unit_id', 'cadre_id'),
    ('standing_cadre_post_total', 'post_category', 'cadre_id'),
    ('standing_unit_group_total', 'group_unit_id', 'unit_id'),
    ('standing_unit_post_total', 'post_category', 'unit_id'),
)


def upgrade() -> None:
    # The foreign key comes last: on SQLite, dropping the column rebuilds `standing`, which
    # a table referencing it would forbid.
    op.create_table(
        'standing_breakdown',
        sa.Column('standing_id', sa.Integer(), nullable=False),
        sa.Column('breakdown', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('standing_id'),
    )
    op.execute('INSERT INTO standing_breakdown (standing_id, breakdown) '
               "SELECT id, COALESCE(breakdown, '{}') FROM standing")
    with op.batch_alter_table('standing', schema=None) as batch_op:
        batch_op.drop_index('standing_group_total')
        batch_op.drop_index('standing_post_total')
        batch_op.drop_column('breakdown')
    with op.batch_alter_table('standing_breakdown', schema=None) as batch_op:
        batch_op.create_foreign_key('standing_breakdown_standing', 'standing',
                                    ['standing_id'], ['id'])
    for name, group, owner in _RANK_INDEXES:
        where = sa.text(f'{owner} IS NOT NULL')
        op.create_index(name, 'standing', ['period_id', group, 'total'], unique=False,
                        sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for name, _group, _owner in _RANK_INDEXES:
        op.drop_index(name, table_name='standing')
    with op.batch_alter_table('standing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('breakdown', sa.JSON(), nullable=True))
        batch_op.create_index('standing_post_total', ['period_id', 'post_category', 'total'])
        batch_op.create_index('standing_group_total', ['period_id', 'group_unit_id', 'total'])
    op.execute('UPDATE standing SET breakdown = (SELECT b.breakdown FROM standing_breakdown b '
               'WHERE b.standing_id = standing.id)')
    op.drop_table('standing_breakdown')
