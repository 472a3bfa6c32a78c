"""source connections: scheduled pulls from stay sources, and their runs

Revision ID: 0021_sources
Revises: 0018_retention
Create Date: 2026-12-06 21:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

import serasi_web.database


# revision identifiers, used by Alembic.
revision = "0021_sources"
down_revision = "0018_retention"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "source_connection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lodging_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=60), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("secrets_encrypted", sa.Text(), nullable=True),
        sa.Column("interval_minutes", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", serasi_web.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", serasi_web.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", serasi_web.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(length=16), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("failing_since", serasi_web.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failure", sa.JSON(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", serasi_web.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"], name=op.f("fk_source_connection_created_by_id_user_account"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["lodging_id"], ["lodging.id"], name=op.f("fk_source_connection_lodging_id_lodging"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_connection")),
        sa.UniqueConstraint("lodging_id", "source", name=op.f("uq_source_connection_lodging_id_source")),
    )
    op.create_index(op.f("ix_source_connection_lodging_id"), "source_connection", ["lodging_id"], unique=False)
    op.create_index(op.f("ix_source_connection_next_run_at"), "source_connection", ["next_run_at"], unique=False)
    op.create_table(
        "source_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("started_at", serasi_web.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", serasi_web.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("updated_count", sa.Integer(), nullable=False),
        sa.Column("unchanged_count", sa.Integer(), nullable=False),
        sa.Column("draft_count", sa.Integer(), nullable=False),
        sa.Column("refused_count", sa.Integer(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("failure", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["connection_id"], ["source_connection.id"], name=op.f("fk_source_run_connection_id_source_connection"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_run")),
    )
    op.create_index(op.f("ix_source_run_connection_id"), "source_run", ["connection_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_source_run_connection_id"), table_name="source_run")
    op.drop_table("source_run")
    op.drop_index(op.f("ix_source_connection_next_run_at"), table_name="source_connection")
    op.drop_index(op.f("ix_source_connection_lodging_id"), table_name="source_connection")
    op.drop_table("source_connection")
