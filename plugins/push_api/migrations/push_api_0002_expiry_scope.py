"""push API plugin: API tokens expire and have a scope

Revision ID: push_api_0002
Revises: push_api_0001
Create Date: 2026-12-07 00:10:00.000000

Was the core's revision 0013c (0014_api_token_expiry_scope.py): a database that ran it has both
columns and is left as it is. Tokens made before it never expired and could write: they keep
writing, and expire 90 days after the upgrade (``EXISTING_TOKENS_VALID_DAYS``), so the systems
using them keep working while their operators create new ones (docs/api.md, "Tokens").
"""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import serasi_web.database

revision = "push_api_0002"
down_revision = "push_api_0001"
branch_labels = None
depends_on = None

EXISTING_TOKENS_VALID_DAYS = 90


def upgrade():
    if "expires_at" in {column["name"] for column in sa.inspect(op.get_bind()).get_columns("api_token")}:
        return
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", serasi_web.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("scope", sa.String(length=8), server_default="write", nullable=False))
    api_token = sa.table("api_token", sa.column("expires_at", serasi_web.database.UTCDateTime(timezone=True)))
    op.execute(api_token.update().values(expires_at=datetime.now(UTC) + timedelta(days=EXISTING_TOKENS_VALID_DAYS)))
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.alter_column("expires_at", existing_type=serasi_web.database.UTCDateTime(timezone=True), nullable=False)


def downgrade():
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("scope")
        batch_op.drop_column("expires_at")
