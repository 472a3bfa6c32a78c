"""push API plugin: API tokens

Revision ID: push_api_0001
Revises: (none: the plugin's own branch)
Create Date: 2026-12-07 00:10:00.000000

The table was made by the core's revision 0005 until the plugin owned it: a database that ran
that revision already has it (with its rows), so it is created only where it is missing. As
0005 made it: the expiry and the scope come with the next revision, as they did in the core.
"""
import sqlalchemy as sa
from alembic import op

import serasi_web.database

revision = "push_api_0001"
down_revision = None
branch_labels = ("push_api",)
depends_on = "0001"  # lodging and user_account


def upgrade():
    if sa.inspect(op.get_bind()).has_table("api_token"):
        return
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lodging_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", serasi_web.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", serasi_web.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", serasi_web.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"], name=op.f("fk_api_token_created_by_id_user_account"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["lodging_id"], ["lodging.id"], name=op.f("fk_api_token_lodging_id_lodging"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_lodging_id"), ["lodging_id"], unique=False)


def downgrade():
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_lodging_id"))
    op.drop_table("api_token")
