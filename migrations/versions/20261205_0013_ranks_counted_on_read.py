"""ranks are counted when read, no longer stored in `standing`

A stored competition rank made an approval rewrite the rank of everyone its total passed: at
20,000 cadres some 1,900 rows for two points, all over the table. The ranks are now counted
from the totals through the rank-group indexes (models/ranks.py), so the columns go.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-05 01:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RANKS = (('rank_in_unit', 'group_unit_id'), ('rank_in_post', 'post_category'))


def upgrade() -> None:
    # Plain ALTER TABLE on both databases (SQLite >= 3.35): the columns are in no index or
    # constraint, and rebuilding `standing` (a batch) would trip over standing_breakdown's key.
    for column, _group in _RANKS:
        op.execute(f'ALTER TABLE standing DROP COLUMN {column}')


def downgrade() -> None:
    for column, group in _RANKS:
        op.add_column('standing', sa.Column(column, sa.Integer(), nullable=False,
                                            server_default='0'))
        # The competition rank as the previous code stored it: 1 + members above.
        op.execute(
            f'UPDATE standing SET {column} = 1 + (SELECT COUNT(*) FROM standing other '
            'WHERE other.period_id = standing.period_id '
            'AND (other.cadre_id IS NULL) = (standing.cadre_id IS NULL) '
            f'AND other.{group} IS NOT DISTINCT FROM standing.{group} '
            'AND other.total > standing.total)')
