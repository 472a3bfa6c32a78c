"""spreadsheet import plugin: import jobs

Revision ID: spreadsheet_import_0001
Revises: (none: the plugin's own branch)
Create Date: 2026-12-07 00:10:00.000000

The table was made by the core's revision 0005 until the plugin owned it: a database that ran
that revision already has it (with its rows), so it is created only where it is missing.
"""
import sqlalchemy as sa
from alembic import op

import serasi_web.database

revision = "spreadsheet_import_0001"
down_revision = None
branch_labels = ("spreadsheet_import",)
depends_on = "0001"  # lodging and user_account


def upgrade():
    if sa.inspect(op.get_bind()).has_table("import_job"):
        return
    op.create_table(
        "import_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lodging_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("file_format", sa.String(length=8), nullable=False),
        sa.Column("encoding", sa.String(length=20), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("only_valid", sa.Boolean(), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("processed_rows", sa.Integer(), nullable=False),
        sa.Column("valid_rows", sa.Integer(), nullable=False),
        sa.Column("error_rows", sa.Integer(), nullable=False),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("updated_count", sa.Integer(), nullable=False),
        sa.Column("unchanged_count", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("failure", sa.String(length=500), nullable=False),
        sa.Column("created_at", serasi_web.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", serasi_web.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"], name=op.f("fk_import_job_created_by_id_user_account"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["lodging_id"], ["lodging.id"], name=op.f("fk_import_job_lodging_id_lodging"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_job")),
    )
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_job_lodging_id"), ["lodging_id"], unique=False)


def downgrade():
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_job_lodging_id"))
    op.drop_table("import_job")
