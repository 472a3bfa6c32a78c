"""The SQLAlchemy base, naming convention and SQLite connection settings."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic batch migrations on SQLite can find them again.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite has no time zone support and would hand back naive values; PostgreSQL stores
    ``timestamptz``. Both come back as aware UTC datetimes, so comparisons never mix the two.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL, foreign keys, a busy timeout and synchronous=NORMAL on every SQLite connection.

    We keep pysqlite's default transaction handling (no bare deferred ``BEGIN`` before a
    read-then-write), which measured 0 SQLITE_BUSY errors with 16 writers.
    """

    @event.listens_for(engine, "do_connect")
    def _private_file(dialect, connection_record, cargs, cparams):
        # The database holds guests' personal data: create it readable by its owner only
        # (SQLite gives its -wal and -shm files the same permissions as the database file).
        create_private_file(engine.url.database)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):  # pragma: no cover - trivial
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def create_private_file(path: str | None) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (an empty file is an empty SQLite
    database); in-memory and URI databases are left alone."""
    import os

    if not path or path == ":memory:" or path.startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def private_instance_folder(name: str):
    """The instance folder's subfolder ``name`` (uploads waiting for the worker), created
    owner-only (0700) on first use."""
    from pathlib import Path

    from flask import current_app

    folder = Path(current_app.instance_path) / name
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


# Tables the database keeps itself, outside the models: SQLite's full-text index of names
# (migration 0008) and the shadow tables FTS5 creates for it.
UNMODELLED_TABLE_PREFIXES = ("stay_name_fts",)


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's ``include_name`` hook: leave unmodelled tables out of autogenerate and
    ``compare_metadata`` (migrations/env.py and tests/test_migrations.py use this one function)."""
    if type_ == "table" and name is not None:
        return not name.startswith(UNMODELLED_TABLE_PREFIXES)
    return True


def upgrade_schema() -> None:
    """Upgrade the database to every head: the core's and each plugin's own branch
    (``serasi_register_migrations``). Inside an app context."""
    from flask_migrate import upgrade

    upgrade(revision="heads")
