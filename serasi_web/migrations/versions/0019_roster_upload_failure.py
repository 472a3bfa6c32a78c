"""roster upload read by the worker: why a roster was not read

Revision ID: 0018_roster
Revises: 0018_departures
Create Date: 2026-12-06 17:40:00.000000

An uploaded roster CSV is now read by the background worker; a roster it could not read (too
big, over the memory or time limit, bad encoding) keeps the reason in ``roster_sync.failure``.
A plain nullable column: nothing to rebuild.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0018_roster"
down_revision = "0018_departures"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('roster_sync', sa.Column('failure', sa.JSON(), nullable=True))


def downgrade():
    op.drop_column('roster_sync', 'failure')
