"""national console: an office's level (office, regional, national) and the office standing for each federation peer

Revision ID: 0025_national_console
Revises: 0025_draft_dates
Create Date: 2026-12-07 03:10:00.000000
"""
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0025_national_console"
down_revision = "0025_draft_dates"
branch_labels = None
depends_on = None


@contextmanager
def _rebuilt_safely():
    """SQLite rebuilds a table for a foreign key, a unique constraint or a dropped column (batch
    mode): dropping the old federation_peer or immigration_office table with foreign keys on
    would be refused by (or cascade to) the rows that refer to it: mirrored lodgings and stays,
    offices' areas, lodgings and officers. Keys off for the rebuild, checked when they are on again.
    PRAGMA foreign_keys is ignored inside a transaction: what ran so far is committed first."""
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
        raise RuntimeError(f"foreign keys broken by the rebuild: {broken[:5]}")


def upgrade():
    with op.batch_alter_table("immigration_office", schema=None) as batch_op:
        batch_op.add_column(sa.Column("level", sa.String(length=12), server_default="office", nullable=False))
    with _rebuilt_safely(), op.batch_alter_table("federation_peer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("office_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_federation_peer_office_id"), ["office_id"])
        batch_op.create_foreign_key(batch_op.f("fk_federation_peer_office_id_immigration_office"), "immigration_office",
                                    ["office_id"], ["id"], ondelete="SET NULL")


def downgrade():
    with _rebuilt_safely(), op.batch_alter_table("federation_peer", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_federation_peer_office_id_immigration_office"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_federation_peer_office_id"), type_="unique")
        batch_op.drop_column("office_id")
    with _rebuilt_safely(), op.batch_alter_table("immigration_office", schema=None) as batch_op:
        batch_op.drop_column("level")
