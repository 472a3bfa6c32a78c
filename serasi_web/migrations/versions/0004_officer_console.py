"""officer console: supervision teams, inbox marks, search and watch-list indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 21:11:30.815523

"""
from alembic import op
import sqlalchemy as sa

import serasi_web.database


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

ROLES_BEFORE = "role IN ('operator', 'officer', 'admin')"
ROLES_AFTER = "role IN ('operator', 'officer', 'supervisor', 'admin')"


def _set_role_check(condition: str) -> None:
    """Replace the role CHECK constraint; SQLite rebuilds the table (batch mode) with keys off."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # The rebuild drops the old user_account table; with foreign keys on, that drop would
        # cascade to (or be refused by) every table referencing an account.
        _sqlite_foreign_keys(False)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_account_role_known'), type_='check')
        batch_op.create_check_constraint('role_known', condition)
    if sqlite:
        _sqlite_foreign_keys(True)


def _sqlite_foreign_keys(enabled: bool) -> None:
    """PRAGMA foreign_keys is ignored inside a transaction: commit what ran so far first."""
    dbapi_connection = op.get_bind().connection.dbapi_connection
    dbapi_connection.commit()
    dbapi_connection.execute(f"PRAGMA foreign_keys={'ON' if enabled else 'OFF'}")
    if enabled:
        broken = dbapi_connection.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by the user_account rebuild: {broken[:5]}")


def upgrade():
    _set_role_check(ROLES_AFTER)
    op.create_table('supervision_region',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=13), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_supervision_region_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_region')),
    sa.UniqueConstraint('user_id', 'region_code', name='uq_supervision_region_user_id_region_code')
    )
    op.create_table('inbox_mark',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('seen_until', serasi_web.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_inbox_mark_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_inbox_mark'))
    )

    if op.get_bind().dialect.name == "postgresql":
        # Trigram index for partial-name search; pg_trgm is a trusted extension (PostgreSQL 13+).
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    with op.batch_alter_table('stay', schema=None) as batch_op:
        batch_op.create_index('ix_stay_check_in_at_covering', ['check_in_at', 'lodging_id', 'status', 'late', 'nationality', 'stay_permit', 'name_folded'], unique=False)
        batch_op.create_index('ix_stay_late_reported_at', ['late', 'reported_at'], unique=False)
        batch_op.create_index('ix_stay_lodging_id_reported_at', ['lodging_id', 'reported_at'], unique=False)
        batch_op.create_index('ix_stay_name_folded_trgm', ['name_folded'], unique=False, postgresql_using='gin', postgresql_ops={'name_folded': 'gin_trgm_ops'})
        batch_op.create_index('ix_stay_status_permit_valid_until', ['status', 'permit_valid_until'], unique=False)
        batch_op.create_index('ix_stay_status_planned_check_out', ['status', 'planned_check_out'], unique=False)

    with op.batch_alter_table('stay_version', schema=None) as batch_op:
        batch_op.create_index('ix_stay_version_changed_at', ['changed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('stay_version', schema=None) as batch_op:
        batch_op.drop_index('ix_stay_version_changed_at')

    with op.batch_alter_table('stay', schema=None) as batch_op:
        batch_op.drop_index('ix_stay_status_planned_check_out')
        batch_op.drop_index('ix_stay_status_permit_valid_until')
        batch_op.drop_index('ix_stay_name_folded_trgm', postgresql_using='gin', postgresql_ops={'name_folded': 'gin_trgm_ops'})
        batch_op.drop_index('ix_stay_lodging_id_reported_at')
        batch_op.drop_index('ix_stay_late_reported_at')
        batch_op.drop_index('ix_stay_check_in_at_covering')

    op.drop_table('inbox_mark')
    op.drop_table('supervision_region')
    # Supervisor accounts cannot survive the old constraint.
    op.execute("DELETE FROM user_account WHERE role = 'supervisor'")
    _set_role_check(ROLES_BEFORE)
