"""accounts: e-mail verification at sign-up and the forced password change of admin-made accounts

Revision ID: 0013a
Revises: 0013c
Create Date: 2026-12-06 07:20:00.000000

Two plain columns on ``user_account`` (SQLite adds them in place, no table rebuild). Every
existing account is marked verified, so nobody who could report before the upgrade is stopped.
"""
from alembic import op
import sqlalchemy as sa

import serasi_web.database


# revision identifiers, used by Alembic.
revision = "0013a"
down_revision = "0013c"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('user_account', sa.Column('email_verified_at', serasi_web.database.UTCDateTime(timezone=True), nullable=True))
    op.add_column('user_account', sa.Column('password_change_required', sa.Boolean(), server_default=sa.false(), nullable=False))
    # Backfill: the accounts that exist already are trusted as before.
    op.execute("UPDATE user_account SET email_verified_at = created_at")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        # SQLite 3.35+ drops a plain column in place (no table rebuild).
        op.execute("ALTER TABLE user_account DROP COLUMN password_change_required")
        op.execute("ALTER TABLE user_account DROP COLUMN email_verified_at")
    else:
        op.drop_column('user_account', 'password_change_required')
        op.drop_column('user_account', 'email_verified_at')
