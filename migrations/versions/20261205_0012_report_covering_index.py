"""report index covering what 未按期汇报 and 红黄绿 read: (task_id, occurrence, state,
progress, actual) in place of (task_id, occurrence)

models/overdue.py counts each task's approved or waiting occurrences, and models/light_counts.py
takes the best progress of the current one, in a correlated subquery per task: at a city's
800,000 tasks, reading those columns from the index instead of the table row is most of the
time. The old index is a prefix of the new one, so it goes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 01:40:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERING = ['task_id', 'occurrence', 'state', 'progress', 'actual']


def upgrade() -> None:
    op.create_index('report_task_occurrence_state', 'report', COVERING, unique=False)
    op.drop_index('report_task_occurrence', table_name='report')


def downgrade() -> None:
    op.create_index('report_task_occurrence', 'report', ['task_id', 'occurrence'],
                    unique=False)
    op.drop_index('report_task_occurrence_state', table_name='report')
