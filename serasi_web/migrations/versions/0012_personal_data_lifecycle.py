"""personal data lifecycle: retention settings, legal holds, retention runs, access requests, stay.pseudonymised_at, office.access_purpose_required

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 01:45:00.000000

``stay.pseudonymised_at`` is added with a plain ``ALTER TABLE ... ADD COLUMN`` (no batch): on
SQLite a batch operation would rebuild ``stay`` and drop the name-index triggers of 0008.
"""
from alembic import op
import sqlalchemy as sa

import serasi_web.database


# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('retention_setting',
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('updated_at', serasi_web.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=254), nullable=False),
    sa.PrimaryKeyConstraint('kind', name=op.f('pk_retention_setting'))
    )
    op.create_table('retention_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clock', serasi_web.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', serasi_web.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', serasi_web.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_run'))
    )
    op.create_table('legal_hold',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stay_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('set_at', serasi_web.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=True),
    sa.Column('released_at', serasi_web.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('released_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['released_by_id'], ['user_account.id'], name=op.f('fk_legal_hold_released_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['set_by_id'], ['user_account.id'], name=op.f('fk_legal_hold_set_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['stay_id'], ['stay.id'], name=op.f('fk_legal_hold_stay_id_stay'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_hold'))
    )
    op.create_index(op.f('ix_legal_hold_stay_id'), 'legal_hold', ['stay_id'], unique=False)
    op.create_table('subject_access_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('document_number', sa.String(length=20), nullable=False),
    sa.Column('issuing_state', sa.String(length=3), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=120), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', serasi_web.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', serasi_web.database.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['office_id'], ['immigration_office.id'], name=op.f('fk_subject_access_request_office_id_immigration_office'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_subject_access_request_recorded_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subject_access_request'))
    )
    op.create_index(op.f('ix_subject_access_request_office_id'), 'subject_access_request', ['office_id'], unique=False)
    op.add_column('stay', sa.Column('pseudonymised_at', serasi_web.database.UTCDateTime(timezone=True), nullable=True))
    op.add_column('immigration_office', sa.Column('access_purpose_required', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    op.drop_column('immigration_office', 'access_purpose_required')
    if op.get_bind().dialect.name == "sqlite":
        # SQLite 3.35+ drops a plain column in place (no table rebuild, the triggers stay).
        op.execute("ALTER TABLE stay DROP COLUMN pseudonymised_at")
    else:
        op.drop_column('stay', 'pseudonymised_at')
    op.drop_index(op.f('ix_subject_access_request_office_id'), table_name='subject_access_request')
    op.drop_table('subject_access_request')
    op.drop_index(op.f('ix_legal_hold_stay_id'), table_name='legal_hold')
    op.drop_table('legal_hold')
    op.drop_table('retention_run')
    op.drop_table('retention_setting')
