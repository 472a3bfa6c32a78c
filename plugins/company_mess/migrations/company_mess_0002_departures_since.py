"""company mess plugin: roster departures keep when a roster first showed each resident gone

Revision ID: company_mess_0002
Revises: company_mess_0001
Create Date: 2026-12-07 00:10:00.000000

Was the core's revision 0018_departures: a database that ran it has the column and is left as it
is. A plain nullable JSON column: rosters received before it fall back to their own arrival time
(``RosterSync.departed_at``), which is what they would have recorded had the column existed.
"""
import sqlalchemy as sa
from alembic import op

revision = "company_mess_0002"
down_revision = "company_mess_0001"
branch_labels = None
depends_on = None


def upgrade():
    if "departing_since" not in {column["name"] for column in sa.inspect(op.get_bind()).get_columns("roster_sync")}:
        op.add_column("roster_sync", sa.Column("departing_since", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("roster_sync") as batch_op:
        batch_op.drop_column("departing_since")
