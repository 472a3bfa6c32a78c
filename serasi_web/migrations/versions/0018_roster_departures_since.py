"""roster departures keep when a roster first showed each resident gone (now in the company mess plugin's branch)

Revision ID: 0018_departures
Revises: 0013b
Create Date: 2026-12-06 17:40:00.000000

The change to ``roster_sync`` moved with the table to the company mess plugin's own branch
(plugins/company_mess/migrations/company_mess_0002_departures_since.py), which makes it only where this revision has not.
The revision stays, empty, so the databases stamped with it keep their place in the core's
history.
"""


# revision identifiers, used by Alembic.
revision = "0018_departures"
down_revision = "0013b"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
