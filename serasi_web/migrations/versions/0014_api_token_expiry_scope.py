"""api tokens: expiry and scope (now in the push API plugin's branch)

Revision ID: 0013c
Revises: 0013e
Create Date: 2026-12-06 07:30:00.000000

The change to ``api_token`` moved with the table to the push API plugin's own branch
(plugins/push_api/migrations/push_api_0002_expiry_scope.py), which makes it only where this
revision has not. The revision stays, empty, so the databases stamped with it keep their place
in the core's history.
"""


# revision identifiers, used by Alembic.
revision = "0013c"
down_revision = "0013e"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
