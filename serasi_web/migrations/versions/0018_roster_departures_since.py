"""roster departures keep when a roster first showed each resident gone

Revision ID: 0018_departures
Revises: 0013b
Create Date: 2026-12-06 17:40:00.000000

A plain nullable JSON column: rosters received before it fall back to their own arrival time
(``RosterSync.departed_at``), which is what they would have recorded had the column existed.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0018_departures"
down_revision = "0013b"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("roster_sync", sa.Column("departing_since", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("roster_sync") as batch_op:
        batch_op.drop_column("departing_since")
