"""self check-in: a lodging's poster code and the arrivals guests send

Revision ID: 0023_arrivals
Revises: 0022_h12_voided
Create Date: 2026-12-07 00:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

import serasi_web.database

# revision identifiers, used by Alembic.
revision = "0023_arrivals"
down_revision = "0022_h12_voided"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "self_check_in",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lodging_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("poster_code", sa.String(length=16), nullable=False),
        sa.Column("notify_by_email", sa.Boolean(), nullable=False),
        sa.Column("expiry_hours", sa.Integer(), nullable=False),
        sa.Column("code_changed_at", serasi_web.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", serasi_web.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lodging_id"], ["lodging.id"], name=op.f("fk_self_check_in_lodging_id_lodging"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_self_check_in")),
        sa.UniqueConstraint("lodging_id", name=op.f("uq_self_check_in_lodging_id")),
        sa.UniqueConstraint("poster_code", name=op.f("uq_self_check_in_poster_code")),
    )
    op.create_table(
        "arrival",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lodging_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("check_in_at", serasi_web.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("planned_check_out", sa.Date(), nullable=True),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("created_at", serasi_web.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", serasi_web.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", serasi_web.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", serasi_web.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["decided_by_id"], ["user_account.id"], name=op.f("fk_arrival_decided_by_id_user_account"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["group_id"], ["stay_group.id"], name=op.f("fk_arrival_group_id_stay_group"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["lodging_id"], ["lodging.id"], name=op.f("fk_arrival_lodging_id_lodging"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arrival")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_arrival_token_hash")),
    )
    op.create_index("ix_arrival_lodging_id_status", "arrival", ["lodging_id", "status"], unique=False)
    op.create_index(op.f("ix_arrival_expires_at"), "arrival", ["expires_at"], unique=False)
    op.create_table(
        "arrival_guest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("arrival_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("adult_position", sa.Integer(), nullable=True),
        sa.Column("stay_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["arrival_id"], ["arrival.id"], name=op.f("fk_arrival_guest_arrival_id_arrival"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["stay_id"], ["stay.id"], name=op.f("fk_arrival_guest_stay_id_stay"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arrival_guest")),
    )
    op.create_index(op.f("ix_arrival_guest_arrival_id"), "arrival_guest", ["arrival_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_arrival_guest_arrival_id"), table_name="arrival_guest")
    op.drop_table("arrival_guest")
    op.drop_index(op.f("ix_arrival_expires_at"), table_name="arrival")
    op.drop_index("ix_arrival_lodging_id_status", table_name="arrival")
    op.drop_table("arrival")
    op.drop_table("self_check_in")
