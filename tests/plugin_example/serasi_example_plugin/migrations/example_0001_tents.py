"""example plugin: the tents of a glamping site

Revision ID: example_0001
Revises: (none: the plugin's own branch)
Create Date: 2026-12-06 17:45:00.000000

The first revision of the plugin's branch "example": it starts from nothing and depends on the
core's first revision, which creates the ``lodging`` table it refers to.
"""
from alembic import op
import sqlalchemy as sa

import serasi_web.database


revision = "example_0001"
down_revision = None
branch_labels = ("example",)
depends_on = "0001"


def upgrade():
    op.create_table(
        "example_tent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lodging_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("beds", sa.Integer(), nullable=False),
        sa.Column("created_at", serasi_web.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lodging_id"], ["lodging.id"], name=op.f("fk_example_tent_lodging_id_lodging"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_example_tent")),
    )
    op.create_index(op.f("ix_example_tent_lodging_id"), "example_tent", ["lodging_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_example_tent_lodging_id"), table_name="example_tent")
    op.drop_table("example_tent")
