"""saved searches (terms out of URLs), lodging suspension

Revision ID: 0013b
Revises: 0013d
Create Date: 2026-12-06 07:20:00.000000

The lodging columns are added with a plain ``ALTER TABLE ... ADD COLUMN`` (no batch), like 0012:
nothing to rebuild for two nullable columns.
"""
from alembic import op
import sqlalchemy as sa

import serasi_web.database


# revision identifiers, used by Alembic.
revision = "0013b"
down_revision = "0013d"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('saved_search',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('criteria', sa.JSON(), nullable=False),
    sa.Column('created_at', serasi_web.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', serasi_web.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_saved_search_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_search'))
    )
    op.create_index(op.f('ix_saved_search_expires_at'), 'saved_search', ['expires_at'], unique=False)
    op.create_index(op.f('ix_saved_search_user_id'), 'saved_search', ['user_id'], unique=False)
    op.add_column('lodging', sa.Column('suspended_at', serasi_web.database.UTCDateTime(timezone=True), nullable=True))
    op.add_column('lodging', sa.Column('suspension_reason', sa.Text(), nullable=True))


def downgrade():
    op.drop_column('lodging', 'suspension_reason')
    op.drop_column('lodging', 'suspended_at')
    op.drop_index(op.f('ix_saved_search_user_id'), table_name='saved_search')
    op.drop_index(op.f('ix_saved_search_expires_at'), table_name='saved_search')
    op.drop_table('saved_search')
