"""company mess plugin: roster syncs

Revision ID: company_mess_0001
Revises: (none: the plugin's own branch)
Create Date: 2026-12-07 00:10:00.000000

The table was made by the core's revision 0005 until the plugin owned it: a database that ran
that revision already has it (with its rows), so it is created only where it is missing. As
0005 made it: the later columns come with the next revisions, as they did in the core.
"""
import sqlalchemy as sa
from alembic import op

import serasi_web.database

revision = "company_mess_0001"
down_revision = None
branch_labels = ("company_mess",)
depends_on = "0001"  # lodging


def upgrade():
    if sa.inspect(op.get_bind()).has_table("roster_sync"):
        return
    op.create_table(
        "roster_sync",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lodging_id", sa.Integer(), nullable=False),
        sa.Column("received_from", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("arrived", sa.JSON(), nullable=False),
        sa.Column("departing", sa.JSON(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("created_at", serasi_web.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", serasi_web.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["lodging_id"], ["lodging.id"], name=op.f("fk_roster_sync_lodging_id_lodging"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_sync")),
    )
    with op.batch_alter_table("roster_sync", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_roster_sync_lodging_id"), ["lodging_id"], unique=False)


def downgrade():
    with op.batch_alter_table("roster_sync", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roster_sync_lodging_id"))
    op.drop_table("roster_sync")
