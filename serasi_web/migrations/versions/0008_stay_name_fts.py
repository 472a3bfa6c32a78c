"""stay name index on SQLite: an FTS5 trigram index over stay.name_folded, kept by triggers

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 23:40:00.000000

A name search asks for ``name_folded LIKE '%word%'``. PostgreSQL answers that from the pg_trgm
GIN index of migration 0004; SQLite has no such index type, so this adds a full-text table with
the trigram tokenizer (SQLite 3.34+) over the same column. It stores no text of its own
(``content='stay'``): it indexes the rows of ``stay`` by their id. Triggers in the database keep
it current, so every write path (ORM, bulk Core inserts, imports, plain SQL) updates it.

The virtual table and its shadow tables are not in the models; ``migrations/env.py`` and
tests/test_migrations.py leave them out of the comparison (``serasi_web.database.include_name``).

Careful with later migrations: a batch operation that rebuilds ``stay`` on SQLite (copy, drop,
rename) drops these triggers with the old table. Such a migration must create them again
(``create_triggers()`` below) and rebuild the index; tests/test_officer_name_index.py fails
when the triggers are missing at the head revision.

On PostgreSQL this migration does nothing.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

FTS_TABLE = "stay_name_fts"
TRIGGERS = {
    "stay_name_fts_after_insert": f"""
        CREATE TRIGGER stay_name_fts_after_insert AFTER INSERT ON stay BEGIN
            INSERT INTO {FTS_TABLE}(rowid, name_folded) VALUES (new.id, new.name_folded);
        END""",
    "stay_name_fts_after_delete": f"""
        CREATE TRIGGER stay_name_fts_after_delete AFTER DELETE ON stay BEGIN
            INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, name_folded) VALUES ('delete', old.id, old.name_folded);
        END""",
    # An external-content index forgets a row by being told its old values, then learns the new.
    "stay_name_fts_after_update": f"""
        CREATE TRIGGER stay_name_fts_after_update AFTER UPDATE OF id, name_folded ON stay BEGIN
            INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, name_folded) VALUES ('delete', old.id, old.name_folded);
            INSERT INTO {FTS_TABLE}(rowid, name_folded) VALUES (new.id, new.name_folded);
        END""",
}


def create_triggers() -> None:
    for statement in TRIGGERS.values():
        op.execute(statement)


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    # columnsize=0: no per-row token counts (they serve ranking only, and names are not ranked).
    op.execute(f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(name_folded, content='stay', content_rowid='id', "
               "tokenize='trigram', columnsize=0)")
    create_triggers()
    # Index the stays that exist already.
    op.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
