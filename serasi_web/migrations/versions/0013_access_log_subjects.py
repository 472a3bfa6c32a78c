"""data-protection officer role, admins without an office see no guest data, audit_subject

Revision ID: 0013e
Revises: 0012
Create Date: 2026-12-06 07:35:00.000000

``audit_subject`` lists the reports each access-log event showed, filled for the events already
written from what they recorded (the event's own report and its ``stay_ids``).
"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013e"
down_revision = "0012"
branch_labels = None
depends_on = None

ROLES_BEFORE = "role IN ('operator', 'officer', 'supervisor', 'admin')"
ROLES_AFTER = "role IN ('operator', 'officer', 'supervisor', 'admin', 'dpo')"
OFFICE_BEFORE = "role <> 'officer' OR office_id IS NOT NULL"
OFFICE_AFTER = "role NOT IN ('officer', 'dpo') OR office_id IS NOT NULL"
ACCESS_ACTIONS = ("console.stay_viewed", "console.timeline_viewed", "console.search", "console.inbox_viewed",
                  "console.watch_list_viewed", "console.export")


def _set_role_checks(roles: str, office: str) -> None:
    """Replace the role CHECK constraints; SQLite rebuilds the table (batch mode) with keys off."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # The rebuild drops the old user_account table; with foreign keys on, that drop would
        # cascade to (or be refused by) every table referencing an account.
        _sqlite_foreign_keys(False)
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_user_account_role_known"), type_="check")
        batch_op.drop_constraint(op.f("ck_user_account_officer_has_office"), type_="check")
        batch_op.create_check_constraint("role_known", roles)
        batch_op.create_check_constraint("officer_has_office", office)
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
    _set_role_checks(ROLES_AFTER, OFFICE_AFTER)
    op.create_table("audit_subject",
    sa.Column("event_id", sa.Integer(), nullable=False),
    sa.Column("stay_id", sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(["event_id"], ["audit_event.id"], name=op.f("fk_audit_subject_event_id_audit_event"), ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["stay_id"], ["stay.id"], name=op.f("fk_audit_subject_stay_id_stay"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("event_id", "stay_id", name=op.f("pk_audit_subject"))
    )
    with op.batch_alter_table("audit_subject", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_subject_stay_id"), ["stay_id"], unique=False)
    _fill_subjects()


def _fill_subjects() -> None:
    """The reports each access event already written showed, in batches of 1,000 events."""
    connection = op.get_bind()
    events = sa.table("audit_event", sa.column("id", sa.Integer), sa.column("action", sa.String), sa.column("object_type", sa.String),
                      sa.column("object_id", sa.Integer), sa.column("changes", sa.JSON))
    subjects = sa.table("audit_subject", sa.column("event_id", sa.Integer), sa.column("stay_id", sa.Integer))
    stays = sa.table("stay", sa.column("id", sa.Integer))
    last_id = 0
    while True:
        rows = connection.execute(sa.select(events.c.id, events.c.object_type, events.c.object_id, events.c.changes)
                                  .where(events.c.action.in_(ACCESS_ACTIONS), events.c.id > last_id)
                                  .order_by(events.c.id).limit(1000)).all()
        if not rows:
            return
        last_id = rows[-1].id
        wanted = set()
        for row in rows:
            changes = row.changes if isinstance(row.changes, dict) else json.loads(row.changes or "{}")
            ids = [row.object_id] if row.object_type == "Stay" else []
            ids += [value for value in changes.get("stay_ids", []) if isinstance(value, int)]
            wanted.update((row.id, stay_id) for stay_id in ids)
        existing = set(connection.execute(sa.select(stays.c.id).where(stays.c.id.in_({stay_id for _event, stay_id in wanted}))).scalars())
        values = [{"event_id": event_id, "stay_id": stay_id} for event_id, stay_id in sorted(wanted) if stay_id in existing]
        if values:
            connection.execute(subjects.insert(), values)


def downgrade():
    with op.batch_alter_table("audit_subject", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_subject_stay_id"))
    op.drop_table("audit_subject")
    op.execute("UPDATE user_account SET role = 'officer' WHERE role = 'dpo'")  # keeps their audit trail
    _set_role_checks(ROLES_BEFORE, OFFICE_BEFORE)
