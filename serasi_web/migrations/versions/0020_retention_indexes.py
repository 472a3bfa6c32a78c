"""retention: an index on stay.accompanying_stay_id

Revision ID: 0018_retention
Revises: 0018_roster
Create Date: 2026-12-06 17:45:00.000000

The retention job deletes drafts past their period; ``stay.accompanying_stay_id`` refers to
another stay with ``ON DELETE SET NULL``, so each deleted stay makes the database look for the
stays that name it. Without an index that is a scan of the whole stay table per deleted draft on
PostgreSQL (and on SQLite, whose foreign-key actions search the child table the same way).
Plain index creation: on SQLite no table is rebuilt, so the triggers of 0008 stay.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0018_retention"
down_revision = "0018_roster"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(op.f("ix_stay_accompanying_stay_id"), "stay", ["accompanying_stay_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_stay_accompanying_stay_id"), table_name="stay")
