"""api tokens: expiry and scope

Revision ID: 0013c
Revises: 0013e
Create Date: 2026-12-06 07:30:00.000000

Tokens made before this revision never expired and could write: they keep writing, and expire
90 days after the upgrade (``EXISTING_TOKENS_VALID_DAYS``), so the systems using them keep
working while their operators create new ones (docs/api.md, "Tokens").
"""
from datetime import datetime, timedelta, timezone

from alembic import op
import sqlalchemy as sa

import serasi_web.database


# revision identifiers, used by Alembic.
revision = "0013c"
down_revision = "0013e"
branch_labels = None
depends_on = None

EXISTING_TOKENS_VALID_DAYS = 90


def upgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', serasi_web.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('scope', sa.String(length=8), server_default='write', nullable=False))
    api_token = sa.table('api_token', sa.column('expires_at', serasi_web.database.UTCDateTime(timezone=True)))
    op.execute(api_token.update().values(expires_at=datetime.now(timezone.utc) + timedelta(days=EXISTING_TOKENS_VALID_DAYS)))
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=serasi_web.database.UTCDateTime(timezone=True), nullable=False)


def downgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('scope')
        batch_op.drop_column('expires_at')
