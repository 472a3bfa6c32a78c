"""roster upload read by the worker: why a roster was not read (now in the company mess plugin's branch)

Revision ID: 0018_roster
Revises: 0018_departures
Create Date: 2026-12-06 17:40:00.000000

The change to ``roster_sync`` moved with the table to the company mess plugin's own branch
(plugins/company_mess/migrations/company_mess_0003_upload_failure.py), which makes it only where this revision has not.
The revision stays, empty, so the databases stamped with it keep their place in the core's
history.
"""


# revision identifiers, used by Alembic.
revision = "0018_roster"
down_revision = "0018_departures"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
