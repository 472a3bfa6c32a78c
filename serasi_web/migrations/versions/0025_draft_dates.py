"""stay: a draft may wait for its date of birth, document expiry and entry date

Revision ID: 0025_draft_dates
Revises: 0024_federation
Create Date: 2026-12-07 03:10:00.000000

A property system that has no place for a date (Beds24 keeps no passport, Cloudbeds no entry
date) brings its bookings as drafts the operator completes (``integrations.sources``). The three
columns become nullable, and a CHECK constraint per column keeps anything past a draft whole:
``status = 'draft' OR <column> IS NOT NULL``.

On SQLite the change rebuilds ``stay`` (batch mode: copy, drop, rename), which is why it is done
with care:
- foreign keys off for the rebuild: dropping the old table with keys on would first delete its
  rows, cascading to their versions, photos, outbox entries, mirrored stays; the keys are checked
  when they are on again;
- the name-index triggers of 0008 go with the old table: they are made again and the index rebuilt
  (tests/test_officer_name_index.py fails at the head when they are missing);
- the table's indexes, those of the models and those made by plain SQL in earlier migrations, are
  reflected and made again by the batch operation, under their own names.
"""
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0025_draft_dates"
down_revision = "0024_federation"
branch_labels = None
depends_on = None

DATES = ("date_of_birth", "document_expiry", "entry_date")
FTS_TABLE = "stay_name_fts"
# The triggers of 0008, as that revision made them (a migration does not import another).
TRIGGERS = {
    "stay_name_fts_after_insert": f"""
        CREATE TRIGGER stay_name_fts_after_insert AFTER INSERT ON stay BEGIN
            INSERT INTO {FTS_TABLE}(rowid, name_folded) VALUES (new.id, new.name_folded);
        END""",
    "stay_name_fts_after_delete": f"""
        CREATE TRIGGER stay_name_fts_after_delete AFTER DELETE ON stay BEGIN
            INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, name_folded) VALUES ('delete', old.id, old.name_folded);
        END""",
    "stay_name_fts_after_update": f"""
        CREATE TRIGGER stay_name_fts_after_update AFTER UPDATE OF id, name_folded ON stay BEGIN
            INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, name_folded) VALUES ('delete', old.id, old.name_folded);
            INSERT INTO {FTS_TABLE}(rowid, name_folded) VALUES (new.id, new.name_folded);
        END""",
}


@contextmanager
def _stay_rebuilt_safely():
    """Foreign keys off while SQLite rebuilds ``stay``, checked when they are on again; then the
    name-index triggers made again and the index rebuilt. PRAGMA foreign_keys is ignored inside
    a transaction: what ran so far is committed first."""
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    dbapi_connection = op.get_bind().connection.dbapi_connection
    dbapi_connection.commit()
    dbapi_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
        for name, statement in TRIGGERS.items():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
            op.execute(statement)
        op.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
    finally:
        dbapi_connection.commit()
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
    broken = dbapi_connection.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"foreign keys broken by the stay rebuild: {broken[:5]}")


def upgrade():
    with _stay_rebuilt_safely():
        with op.batch_alter_table("stay", schema=None) as batch_op:
            for name in DATES:
                batch_op.alter_column(name, existing_type=sa.Date(), nullable=True)
                batch_op.create_check_constraint(op.f(f"ck_stay_{name}_unless_draft"), f"status = 'draft' OR {name} IS NOT NULL")


def downgrade():
    # A draft still waiting for one of these dates stops the downgrade (NOT NULL refuses it):
    # complete or delete such drafts first.
    with _stay_rebuilt_safely():
        with op.batch_alter_table("stay", schema=None) as batch_op:
            for name in DATES:
                batch_op.drop_constraint(batch_op.f(f"ck_stay_{name}_unless_draft"), type_="check")
                batch_op.alter_column(name, existing_type=sa.Date(), nullable=False)
