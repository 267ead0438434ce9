"""index reports by reporter and decision time, for the weekly digests

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 02:40:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('report_reporter_decided', 'report', ['reporter_id', 'decided_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('report_reporter_decided', table_name='report')
