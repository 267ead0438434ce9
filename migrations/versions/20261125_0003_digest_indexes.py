"""indexes for the weekly digests: reports by reporter and decision time; partial task indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 02:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _task_indexes(partial: bool) -> None:
    for name, column in (('task_period_cadre', 'cadre_id'), ('task_period_unit', 'unit_id')):
        op.drop_index(name, table_name='task')
        where = sa.text(f'{column} IS NOT NULL') if partial else None
        op.create_index(name, 'task', ['period_id', column], unique=False,
                        sqlite_where=where, postgresql_where=where)


def upgrade() -> None:
    op.create_index('report_reporter_decided', 'report', ['reporter_id', 'decided_at'],
                    unique=False)
    _task_indexes(partial=True)


def downgrade() -> None:
    _task_indexes(partial=False)
    op.drop_index('report_reporter_decided', table_name='report')
