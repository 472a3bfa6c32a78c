"""federation: peers with their own tokens, mirrored lodgings and stays, backfills

Revision ID: 0024_federation
Revises: 0023_arrivals
Create Date: 2026-12-07 00:20:00.000000
"""
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

import serasi_web.database

# revision identifiers, used by Alembic.
revision = "0024_federation"
down_revision = "0023_arrivals"
branch_labels = None
depends_on = None


@contextmanager
def _lodging_rebuilt_safely():
    """SQLite rebuilds the lodging table for a foreign key (batch mode): dropping the old table
    with foreign keys on would be refused by (or cascade to) every stay and table referring to a
    lodging. Keys off for the rebuild, checked when they are on again. PRAGMA foreign_keys is
    ignored inside a transaction: what ran so far is committed first."""
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    dbapi_connection = op.get_bind().connection.dbapi_connection
    dbapi_connection.commit()
    dbapi_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        dbapi_connection.commit()
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
    broken = dbapi_connection.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"foreign keys broken by the lodging rebuild: {broken[:5]}")


def upgrade():
    op.create_table(
        "federation_peer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("office_name", sa.String(length=160), nullable=False),
        sa.Column("token_prefix", sa.String(length=12), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", serasi_web.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", serasi_web.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", serasi_web.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", serasi_web.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["user_account.id"], name=op.f("fk_federation_peer_account_id_user_account"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"], name=op.f("fk_federation_peer_created_by_id_user_account"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_peer")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_federation_peer_token_hash")),
    )
    op.create_table(
        "federation_backfill",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("cursor_stay_id", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("enqueued", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", serasi_web.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", serasi_web.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"], name=op.f("fk_federation_backfill_created_by_id_user_account"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_backfill")),
    )
    with _lodging_rebuilt_safely():
        with op.batch_alter_table("lodging", schema=None) as batch_op:
            batch_op.add_column(sa.Column("federation_peer_id", sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f("ix_lodging_federation_peer_id"), ["federation_peer_id"], unique=False)
            batch_op.create_foreign_key(batch_op.f("fk_lodging_federation_peer_id_federation_peer"), "federation_peer",
                                        ["federation_peer_id"], ["id"], ondelete="RESTRICT")
    op.create_table(
        "federated_lodging",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("origin_lodging_id", sa.Integer(), nullable=False),
        sa.Column("origin_office", sa.String(length=160), nullable=False),
        sa.Column("lodging_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", serasi_web.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lodging_id"], ["lodging.id"], name=op.f("fk_federated_lodging_lodging_id_lodging"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["peer_id"], ["federation_peer.id"], name=op.f("fk_federated_lodging_peer_id_federation_peer"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federated_lodging")),
        sa.UniqueConstraint("lodging_id", name=op.f("uq_federated_lodging_lodging_id")),
        sa.UniqueConstraint("peer_id", "origin_lodging_id", name=op.f("uq_federated_lodging_peer_id_origin_lodging_id")),
    )
    op.create_table(
        "federated_stay",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("origin_stay_id", sa.Integer(), nullable=False),
        sa.Column("origin_receipt_number", sa.String(length=20), nullable=True),
        sa.Column("origin_version", sa.Integer(), nullable=False),
        sa.Column("stay_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", serasi_web.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["peer_id"], ["federation_peer.id"], name=op.f("fk_federated_stay_peer_id_federation_peer"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["stay_id"], ["stay.id"], name=op.f("fk_federated_stay_stay_id_stay"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federated_stay")),
        sa.UniqueConstraint("peer_id", "origin_stay_id", name=op.f("uq_federated_stay_peer_id_origin_stay_id")),
        sa.UniqueConstraint("stay_id", name=op.f("uq_federated_stay_stay_id")),
    )
    with op.batch_alter_table("federated_stay", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_federated_stay_origin_receipt_number"), ["origin_receipt_number"], unique=False)


def downgrade():
    with op.batch_alter_table("federated_stay", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_federated_stay_origin_receipt_number"))
    op.drop_table("federated_stay")
    op.drop_table("federated_lodging")
    with _lodging_rebuilt_safely():
        with op.batch_alter_table("lodging", schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f("fk_lodging_federation_peer_id_federation_peer"), type_="foreignkey")
            batch_op.drop_index(batch_op.f("ix_lodging_federation_peer_id"))
            batch_op.drop_column("federation_peer_id")
    op.drop_table("federation_backfill")
    op.drop_table("federation_peer")
