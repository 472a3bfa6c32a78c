"""source runs count the reports voided because their booking was cancelled in the other system

Revision ID: 0022_h12_voided
Revises: 0021_sources
Create Date: 2026-12-07 00:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0022_h12_voided"
down_revision = "0021_sources"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("source_run") as batch:
        batch.add_column(sa.Column("voided_count", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("source_run") as batch:
        batch.drop_column("voided_count")
