"""company mess plugin: roster upload read by the worker: why a roster was not read

Revision ID: company_mess_0003
Revises: company_mess_0002
Create Date: 2026-12-07 00:10:00.000000

Was the core's revision 0018_roster: a database that ran it has the column and is left as it
is. A roster the worker could not read (too big, over the memory or time limit, bad encoding)
keeps the reason in ``roster_sync.failure``. A plain nullable column: nothing to rebuild.
"""
import sqlalchemy as sa
from alembic import op

revision = "company_mess_0003"
down_revision = "company_mess_0002"
branch_labels = None
depends_on = None


def upgrade():
    if "failure" not in {column["name"] for column in sa.inspect(op.get_bind()).get_columns("roster_sync")}:
        op.add_column("roster_sync", sa.Column("failure", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("roster_sync") as batch_op:
        batch_op.drop_column("failure")
