"""privileges over time: invite codes kept as hashes, failed redemptions, revocable delegations

Invite codes were stored in plain text, in their table and in the audit log: the table now
keeps a scrypt hash (the codes of open invites are hashed here, so they still work), the codes
are removed from earlier `invite.issue` audit rows, and failed redemptions get a table of
their own to limit guessing per Telegram account. A delegation can be revoked.

Downgrading cannot give the codes back: the invites that were open are left unusable.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 20:00:00
"""
import hashlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _hash(code: str) -> str:
    """models/invites.py code_hash as of this revision."""
    normalized = code.strip().upper().encode()
    return hashlib.scrypt(normalized, salt=b'kaohe-invite-code', n=2**13, r=8, p=1,
                          dklen=32).hex()


def _invite_table(key: str, key_type: sa.types.TypeEngine[Any]) -> None:
    op.create_table(
        'invite_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column(key, key_type, nullable=False),
        sa.Column('cadre_id', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.Column('used_by_telegram_id', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(['cadre_id'], ['cadre.id'], ),
        sa.ForeignKeyConstraint(['created_by'], ['cadre.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint(key),
    )
    with op.batch_alter_table('invite_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invite_code_cadre_id'), ['cadre_id'], unique=False)


def _rebuild_invites(old_key: str, new_key: str, convert: Any) -> None:
    """The invite table is small: read it, drop it, create it anew, write the rows back."""
    bind = op.get_bind()
    rows = [dict(row._mapping) for row in bind.execute(sa.text('SELECT * FROM invite_code'))]
    op.drop_index(op.f('ix_invite_code_cadre_id'), table_name='invite_code')
    op.drop_table('invite_code')
    _invite_table(new_key, sa.String(length=64 if new_key == 'code_hash' else 32))
    for row in rows:
        row[new_key] = convert(row.pop(old_key))
    if rows:
        table = sa.table('invite_code', *(sa.column(name) for name in rows[0]))
        op.bulk_insert(table, rows)
    if bind.dialect.name == 'postgresql' and rows:
        op.execute("SELECT setval(pg_get_serial_sequence('invite_code', 'id'), "
                   '(SELECT MAX(id) FROM invite_code))')


def _scrub_audited_codes() -> None:
    bind = op.get_bind()
    audit = sa.table('audit_entry', sa.column('id', sa.Integer()), sa.column('action', sa.String()),
                     sa.column('before', sa.JSON()), sa.column('after', sa.JSON()))
    rows = bind.execute(sa.select(audit.c.id, audit.c.before, audit.c.after)
                        .where(audit.c.action == 'invite.issue')).all()
    for row_id, before, after in rows:
        bind.execute(audit.update().where(audit.c.id == row_id).values(
            before=None if before is None else {k: v for k, v in before.items() if k != 'code'},
            after=None if after is None else {k: v for k, v in after.items() if k != 'code'}))


def upgrade() -> None:
    _rebuild_invites('code', 'code_hash', _hash)
    _scrub_audited_codes()
    op.create_table(
        'invite_failure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('telegram_user_id', sa.BigInteger(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('invite_failure_user_at', 'invite_failure', ['telegram_user_id', 'at'],
                    unique=False)
    with op.batch_alter_table('delegation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('revoked_by', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('delegation_revoked_by', 'cadre', ['revoked_by'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('delegation', schema=None) as batch_op:
        batch_op.drop_constraint('delegation_revoked_by', type_='foreignkey')
        batch_op.drop_column('revoked_by')
        batch_op.drop_column('revoked_at')
    op.drop_index('invite_failure_user_at', table_name='invite_failure')
    op.drop_table('invite_failure')
    _rebuild_invites('code_hash', 'code', lambda hashed: hashed[:32])
