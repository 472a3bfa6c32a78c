"""office letterhead, private host's NIK, owners' daily digest preference

Revision ID: 0013d
Revises: 0013a
Create Date: 2026-12-06 07:30:00.000000

Plain ``ADD COLUMN`` (no batch): on SQLite a batch operation rebuilds the table. An owner who had
turned off the per-stay check-out reminder keeps it off: the daily digest replaces it.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013d"
down_revision = "0013a"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("immigration_office", sa.Column("letterhead", sa.String(length=300), server_default="", nullable=False))
    op.add_column("lodging", sa.Column("host_nik", sa.String(length=16), nullable=True))
    op.execute(
        "INSERT INTO notification_preference (user_id, kind, enabled) "
        "SELECT user_id, 'owner_digest', enabled FROM notification_preference WHERE kind = 'check_out_overdue' "
        "AND NOT EXISTS (SELECT 1 FROM notification_preference AS digest "
        "WHERE digest.user_id = notification_preference.user_id AND digest.kind = 'owner_digest')"
    )


def downgrade():
    op.execute("DELETE FROM notification_preference WHERE kind = 'owner_digest'")
    # A plain DROP COLUMN (SQLite 3.35+), never a batch rebuild: dropping the old lodging table
    # with foreign keys on would delete every API token and roster row of the lodgings.
    op.drop_column("lodging", "host_nik")
    op.drop_column("immigration_office", "letterhead")
