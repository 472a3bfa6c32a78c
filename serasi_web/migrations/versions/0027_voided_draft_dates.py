"""stay: a draft voided before it was submitted may keep the dates it was waiting for

Revision ID: 0027_voided_draft_dates
Revises: 0026_statistics_counts
Create Date: 2026-12-07 04:10:00.000000

0025's CHECK per date (``status = 'draft' OR <column> IS NOT NULL``) also refused voiding a draft
still waiting for one (a cancelled Beds24 booking without a passport, a cancelled OTA reservation
without an entry date, the operator voiding such a draft): nobody can supply the date of a guest
who never came. The CHECK becomes ``status IN ('draft', 'voided') OR <column> IS NOT NULL``; a
submitted or checked-out report still has every date.

On SQLite the change rebuilds ``stay`` as 0025 did, with the same care (foreign keys off, the
name-index triggers of 0008 made again and the index rebuilt), and 0026's statistics triggers
dropped before and made again after.
"""
from contextlib import contextmanager

from alembic import op

from serasi_web.officer import summaries

# revision identifiers, used by Alembic.
revision = "0027_voided_draft_dates"
down_revision = "0026_statistics_counts"
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
    triggers on ``stay`` made again and the name index rebuilt. PRAGMA foreign_keys is ignored
    inside a transaction: what ran so far is committed first."""
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    dbapi_connection = op.get_bind().connection.dbapi_connection
    dbapi_connection.commit()
    dbapi_connection.execute("PRAGMA foreign_keys=OFF")
    # 0026's trigger on lodging reads stay: SQLite refuses the rename of the rebuilt table while a
    # trigger names the table gone, so the statistics triggers go first and come back after.
    summaries.drop_triggers(op.get_bind())
    try:
        yield
        for name, statement in TRIGGERS.items():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
            op.execute(statement)
        op.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
        summaries.create_triggers(op.get_bind())
    finally:
        dbapi_connection.commit()
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
    broken = dbapi_connection.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"foreign keys broken by the stay rebuild: {broken[:5]}")


def _checks(allowed: str) -> None:
    with _stay_rebuilt_safely():
        with op.batch_alter_table("stay", schema=None) as batch_op:
            for name in DATES:
                batch_op.drop_constraint(batch_op.f(f"ck_stay_{name}_unless_draft"), type_="check")
                batch_op.create_check_constraint(op.f(f"ck_stay_{name}_unless_draft"), f"{allowed} OR {name} IS NOT NULL")


def upgrade():
    _checks("status IN ('draft', 'voided')")


def downgrade():
    # A voided draft without one of these dates stops the downgrade: give it the date first.
    _checks("status = 'draft'")
