"""one waiting submission per task occurrence, guarded by a partial unique index

Two members of a unit submitting its task at once could both pass the "nothing waits yet"
check. models/reports.py now takes turns on the task's row; this index is the database's own
guard. Duplicates made before it (all but the first submission of an occurrence) are returned
to their reporters with a note, so that the index can be built.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 19:50:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WAITING = sa.text("state = 'submitted'")
_DUPLICATE = "重复提交，已自动退回，请重新提交。(A duplicate submission, returned automatically.)"


def upgrade() -> None:
    op.get_bind().execute(sa.text(
        "UPDATE report SET state = 'returned', reason = :reason, decided_at = submitted_at "
        "WHERE state = 'submitted' AND EXISTS (SELECT 1 FROM report AS earlier "
        "WHERE earlier.task_id = report.task_id AND earlier.occurrence = report.occurrence "
        "AND earlier.state = 'submitted' AND earlier.id < report.id)"
    ), {"reason": _DUPLICATE})
    op.create_index('report_one_waiting', 'report', ['task_id', 'occurrence'], unique=True,
                    sqlite_where=_WAITING, postgresql_where=_WAITING)


def downgrade() -> None:
    op.drop_index('report_one_waiting', table_name='report')
