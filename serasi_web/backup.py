"""Backups and restores of a whole instance: the database and the instance folder in one archive.

An archive is a ``.tar.gz`` holding

- ``manifest.json``: format version, when it was made, the schema's Alembic revision, the
  database's dialect, the row count of every table *in the same snapshot as the dump*, and the
  SHA-256 of every other member;
- ``database.pgdump`` (``pg_dump -Fc``, PostgreSQL) or ``database.sqlite3`` (SQLite's online
  backup API): one consistent snapshot, taken while the application keeps running;
- ``instance/...``: the instance folder (``secret_key``, ``config.py``, ...) without the
  database and the job queue (delivery state lives in the outbox table, inside the database).

Capture photos kept with drafts live in the database, so they are in the snapshot.

File names and messages carry only times, revisions, table names and counts: never personal data.
A restore goes into an empty database (``force`` empties a used one first), checks that the code
knows the backup's revision, and compares every table's row count with the manifest.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from flask import current_app
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url

from .extensions import db

FORMAT = "serasi-web-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
INSTANCE_PREFIX = "instance/"
DATABASE_MEMBERS = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}
SQLITE_HEADER = b"SQLite format 3\x00"
# Files next to a SQLite database that belong to it (copied through the backup API instead).
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says what and how to fix it."""


@dataclass
class BackupResult:
    path: Path
    manifest: dict


@dataclass
class RestoreResult:
    manifest: dict
    instance_files: list[str]
    upgrade_needed: bool


def default_archive_name(now: datetime | None = None) -> str:
    """``serasi-backup-<UTC time>.tar.gz``: a time, nothing about anyone."""
    return f"serasi-backup-{(now or datetime.now(timezone.utc)):%Y%m%dT%H%M%SZ}.tar.gz"


# ---- backup --------------------------------------------------------------------------------

def create_backup(output: Path) -> BackupResult:
    """Write an archive of the app's database and instance folder; ``output`` is a folder (the
    archive gets a dated name) or a file name. The archive appears whole or not at all."""
    output = Path(output)
    target = output / default_archive_name() if output.is_dir() else output
    if target.exists():
        raise BackupError(f"{target} already exists: choose another name or folder")
    if not target.parent.is_dir():
        raise BackupError(f"folder {target.parent} does not exist: create it or choose another --output")
    dialect = db.engine.dialect.name
    if dialect not in DATABASE_MEMBERS:
        raise BackupError(f"backups support PostgreSQL and SQLite, not {dialect}")

    with tempfile.TemporaryDirectory(prefix=".serasi-backup-", dir=target.parent) as work:
        database_file = Path(work) / DATABASE_MEMBERS[dialect]
        if dialect == "postgresql":
            revision, row_counts = _dump_postgresql(database_file)
        else:
            revision, row_counts = _copy_sqlite(_sqlite_path(), database_file)
        instance_files = _copy_instance_folder(Path(work) / "instance", skip=_instance_skips(target))
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "application_version": _application_version(),
            "alembic_revision": revision,
            "database": {"dialect": dialect, "member": database_file.name, "sha256": _sha256(database_file),
                         "bytes": database_file.stat().st_size},
            "row_counts": row_counts,
            "instance_files": {name: _sha256(Path(work) / "instance" / name) for name in instance_files},
        }
        partial = Path(work) / "archive.partial"
        with tarfile.open(partial, "w:gz", compresslevel=6) as archive:
            _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
            archive.add(database_file, arcname=database_file.name, recursive=False, filter=_plain)
            for name in instance_files:
                archive.add(Path(work) / "instance" / name, arcname=INSTANCE_PREFIX + name, recursive=False, filter=_plain)
        os.chmod(partial, 0o600)  # personal data and the secret key: owner only
        os.replace(partial, target)
    return BackupResult(target, manifest)


def _plain(member: tarfile.TarInfo) -> tarfile.TarInfo:
    member.uid = member.gid = 0
    member.uname = member.gname = ""
    member.mode = 0o600
    return member


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    member = tarfile.TarInfo(name)
    member.size = len(data)
    member.mtime = int(datetime.now(timezone.utc).timestamp())
    member.mode = 0o600
    archive.addfile(member, io.BytesIO(data))


def _dump_postgresql(destination: Path) -> tuple[str | None, dict[str, int]]:
    """``pg_dump -Fc`` of a snapshot exported by a REPEATABLE READ transaction that also counts
    the rows: the counts and the dump see exactly the same data while writers go on."""
    _require_program("pg_dump")
    with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
        with connection.begin():
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            revision = _revision(connection)
            row_counts = _row_counts(connection)
            _run([_program("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                  f"--file={destination}", f"--dbname={_conninfo()}"], "pg_dump")
    return revision, row_counts


def _copy_sqlite(source: Path, destination: Path) -> tuple[str | None, dict[str, int]]:
    """SQLite's online backup API copies one consistent snapshot while writers go on (WAL);
    the counts are read from the copy, so they match it exactly."""
    source_connection = sqlite3.connect(source, timeout=30)
    try:
        target_connection = sqlite3.connect(destination)
        try:
            source_connection.backup(target_connection)
            target_connection.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            target_connection.close()
    finally:
        source_connection.close()
    return _sqlite_revision_and_counts(destination)


def _sqlite_revision_and_counts(path: Path) -> tuple[str | None, dict[str, int]]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        counts = {name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}
        revision = None
        if "alembic_version" in names:
            revision = _joined([row[0] for row in connection.execute("SELECT version_num FROM alembic_version")])
        return revision, counts
    finally:
        connection.close()


def _table_names(connection: Connection) -> list[str]:
    if connection.dialect.name == "postgresql":
        return list(connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")).scalars())
    return sorted(name for name in inspect(connection).get_table_names() if not name.startswith("sqlite_"))


def _row_counts(connection: Connection) -> dict[str, int]:
    quote = connection.dialect.identifier_preparer.quote
    return {name: connection.execute(text(f"SELECT count(*) FROM {quote(name)}")).scalar_one()
            for name in _table_names(connection)}


def _revision(connection: Connection) -> str | None:
    if "alembic_version" not in _table_names(connection):
        return None
    return _joined(connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all())


def _joined(revisions: list[str]) -> str | None:
    """The manifest's ``alembic_revision``: one revision, or several joined by ", " when plugins
    bring branches of their own (a head per branch)."""
    return ", ".join(sorted(revisions)) or None


def _copy_instance_folder(destination: Path, skip: set[Path]) -> list[str]:
    """Copy every file of the instance folder except the database, the job queue and backups.
    Another SQLite file goes through the backup API; a plain file is copied again if it changed
    while being read."""
    instance = Path(current_app.instance_path)
    copied: list[str] = []
    if not instance.is_dir():
        return copied
    for path in sorted(instance.rglob("*")):
        if not path.is_file() or path.is_symlink() or path.resolve() in skip or _is_backup_leftover(path, instance):
            continue
        name = path.relative_to(instance).as_posix()
        if name.endswith(SQLITE_COMPANIONS) and path.with_name(path.name.rsplit("-", 1)[0]).exists():
            continue  # part of a SQLite database, copied with it through the backup API
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if _is_sqlite_file(path):
            _copy_sqlite(path, target)
        else:
            _copy_stable(path, target)
        copied.append(name)
    return copied


def _is_backup_leftover(path: Path, instance: Path) -> bool:
    first = path.relative_to(instance).parts[0]
    return first.startswith(".serasi-backup-") or (first.startswith("serasi-backup-") and first.endswith(".tar.gz"))


def _copy_stable(source: Path, target: Path) -> None:
    for _attempt in range(5):
        before = source.stat()
        shutil.copyfile(source, target)
        after = source.stat()
        if (before.st_mtime_ns, before.st_size) == (after.st_mtime_ns, after.st_size):
            return
    raise BackupError(f"instance file {source.name} kept changing while being copied; try again")


def _is_sqlite_file(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER


def _instance_skips(archive: Path) -> set[Path]:
    """The files a backup leaves out of the instance copy: the database (it has its own
    snapshot), the job queue (rebuilt; deliveries are in the database's outbox), the archive."""
    paths = [archive]
    if db.engine.dialect.name == "sqlite":
        paths.append(_sqlite_path())
    huey = current_app.config.get("HUEY_SQLITE_PATH") or str(Path(current_app.instance_path) / "huey.db")
    paths.append(Path(huey))
    skip = set()
    for path in paths:
        for suffix in ("", *SQLITE_COMPANIONS):
            skip.add(Path(str(path) + suffix).resolve())
    return skip


# ---- restore -------------------------------------------------------------------------------

def read_manifest(archive_path: Path) -> dict:
    """The manifest of an archive, after checking it is one of ours in a format we read."""
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            member = archive.getmember(MANIFEST)
            manifest = json.loads(archive.extractfile(member).read())
    except FileNotFoundError:
        raise BackupError(f"{archive_path} does not exist") from None
    except (tarfile.TarError, KeyError, OSError, ValueError, EOFError):
        raise BackupError(f"{archive_path} is not a SERASI Web backup (no readable {MANIFEST}); "
                          "give the .tar.gz file the backup command wrote") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{archive_path} is not a SERASI Web backup")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"backup format {manifest.get('format_version')} is not readable by this version "
                          f"(it reads format {FORMAT_VERSION}): restore it with the version that made it")
    return manifest


def restore_backup(archive_path: Path, force: bool = False) -> RestoreResult:
    """Restore an archive into the app's database and instance folder, then check every table's
    row count against the manifest. Refuses a database that has tables unless ``force``."""
    archive_path = Path(archive_path)
    manifest = read_manifest(archive_path)
    dialect = db.engine.dialect.name
    backup_dialect = manifest["database"]["dialect"]
    if backup_dialect != dialect:
        names = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
        raise BackupError(f"this is a backup of a {names.get(backup_dialect, backup_dialect)} database and the configured "
                          f"database (SERASI_DATABASE_URL) is {names.get(dialect, dialect)}: restore it into a "
                          f"{names.get(backup_dialect, backup_dialect)} database")
    upgrade_needed = _check_revision(manifest.get("alembic_revision"))

    with tempfile.TemporaryDirectory(prefix=".serasi-restore-") as work:
        extracted = _extract(archive_path, manifest, Path(work))
        if dialect == "sqlite" and not _sqlite_path().exists():
            existing = []  # a new file: nothing to connect to yet
        else:
            with db.engine.connect() as connection:
                existing = _table_names(connection)
        if existing and not force:
            raise BackupError(f"the database already has {len(existing)} tables: restore into an empty database, "
                              "or add --force to replace everything in it")
        db.session.remove()
        db.engine.dispose()
        database_file = extracted / manifest["database"]["member"]
        if dialect == "postgresql":
            _restore_postgresql(database_file, drop_first=bool(existing))
        else:
            _restore_sqlite(database_file, _sqlite_path())
        db.engine.dispose()
        instance_files = _restore_instance_files(extracted / "instance", manifest)

    _verify_row_counts(manifest)
    return RestoreResult(manifest, instance_files, upgrade_needed)


def _check_revision(revision: str | None) -> bool:
    """True when the backup is older than the code (restore, then upgrade); raises when the
    code does not know the revision at all (a newer version made the backup)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    if not revision:
        raise BackupError("the backup's database has no schema revision (it was never migrated): nothing to restore")
    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    heads = script.get_heads()
    revisions = [part.strip() for part in revision.split(",")]
    for one in revisions:
        try:
            known = script.get_revision(one)
        except CommandError:
            known = None
        if known is None:
            raise BackupError(f"the backup is at schema revision {revision}, which this version of SERASI Web does not know "
                              f"(its newest is {', '.join(sorted(heads))}): install the version that made the backup, then restore")
    return set(revisions) != set(heads)


def _extract(archive_path: Path, manifest: dict, folder: Path) -> Path:
    """Extract the members the manifest names (regular files only, no paths outside ``folder``)
    and check each one's SHA-256 before anything is written to the database."""
    expected = {manifest["database"]["member"]: manifest["database"]["sha256"]}
    expected.update({INSTANCE_PREFIX + name: digest for name, digest in manifest.get("instance_files", {}).items()})
    found = set()
    with tarfile.open(archive_path, "r:gz") as archive:
        for member in archive:
            if member.name == MANIFEST or member.name not in expected:
                continue
            relative = PurePosixPath(member.name)
            if not member.isfile() or relative.is_absolute() or ".." in relative.parts:
                raise BackupError(f"{archive_path} holds an unsafe entry; it was not made by the backup command")
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.extractfile(member) as source, target.open("wb") as handle:
                shutil.copyfileobj(source, handle)
            if _sha256(target) != expected[member.name]:
                raise BackupError(f"{archive_path} is damaged ({member.name} does not match its checksum): use another copy")
            found.add(member.name)
    missing = sorted(set(expected) - found)
    if missing:
        raise BackupError(f"{archive_path} is incomplete ({len(missing)} files missing, first {missing[0]}): use another copy")
    return folder


def _restore_postgresql(dump: Path, drop_first: bool) -> None:
    _require_program("pg_restore")
    if drop_first:
        with db.engine.begin() as connection:
            quote = connection.dialect.identifier_preparer.quote
            tables = _table_names(connection)
            if tables:
                connection.execute(text(f"DROP TABLE IF EXISTS {', '.join(quote(name) for name in tables)} CASCADE"))
            for sequence in connection.execute(text(
                    "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")).scalars().all():
                connection.execute(text(f"DROP SEQUENCE IF EXISTS {quote(sequence)} CASCADE"))
            # The app's own functions (the statistics' trigger functions): the dump creates them
            # again. Not those of extensions (pg_trgm's live in the same schema).
            for function in connection.execute(text(
                    "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                    " WHERE n.nspname = current_schema() AND NOT EXISTS (SELECT 1 FROM pg_depend d"
                    " WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')")).scalars().all():
                connection.execute(text(f"DROP FUNCTION IF EXISTS {function} CASCADE"))
    # A comment on an extension (pg_trgm) can only be set by its owner, usually not the app's role.
    listing = _run([_program("pg_restore"), "--list", str(dump)], "pg_restore")
    entries = dump.with_suffix(".list")
    entries.write_text("".join(line + "\n" for line in listing.splitlines() if "COMMENT - EXTENSION" not in line))
    _run([_program("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
          f"--use-list={entries}", f"--dbname={_conninfo()}", str(dump)], "pg_restore")


def _restore_sqlite(copy: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in SQLITE_COMPANIONS:  # a stale WAL of the replaced database must not be replayed
        companion = Path(str(target) + suffix)
        if companion.exists() and not target.exists():
            companion.unlink()
    source = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        destination = sqlite3.connect(target, timeout=30)
        try:
            source.backup(destination)
            destination.execute("PRAGMA journal_mode=WAL")
        finally:
            destination.close()
    finally:
        source.close()


def _restore_instance_files(extracted: Path, manifest: dict) -> list[str]:
    instance = Path(current_app.instance_path)
    restored = []
    for name in sorted(manifest.get("instance_files", {})):
        target = instance / name
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.restoring")
        shutil.copyfile(extracted / name, temporary)
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
        restored.append(name)
    return restored


def _verify_row_counts(manifest: dict) -> None:
    with db.engine.connect() as connection:
        present = set(_table_names(connection))
        quote = connection.dialect.identifier_preparer.quote
        wrong = []
        for table, expected in sorted(manifest["row_counts"].items()):
            if table not in present:
                wrong.append(f"{table} missing")
                continue
            found = connection.execute(text(f"SELECT count(*) FROM {quote(table)}")).scalar_one()
            if found != expected:
                wrong.append(f"{table} has {found} rows, the backup {expected}")
    if wrong:
        raise BackupError(f"the restored database differs from the backup: {'; '.join(wrong)}")


# ---- shared --------------------------------------------------------------------------------

def _sqlite_path() -> Path:
    database = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("the SQLite database must be a file (sqlite:////path/to/serasi.db) to be backed up or restored")
    return Path(database).resolve()


def _conninfo() -> str:
    """A libpq connection string for pg_dump / pg_restore, without the password (that goes in
    PGPASSWORD, so it never shows in the process list)."""
    from psycopg.conninfo import make_conninfo

    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    parts = {"host": url.host, "port": url.port, "dbname": url.database, "user": url.username}
    parts.update({key: value for key, value in url.query.items() if isinstance(value, str)})
    return make_conninfo(**{key: value for key, value in parts.items() if value is not None})


def _run(command: list[str], program: str) -> str:
    environment = dict(os.environ)
    password = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).password
    if password:
        environment["PGPASSWORD"] = str(password)
    finished = subprocess.run(command, env=environment, capture_output=True, text=True)
    if finished.returncode != 0:
        detail = (finished.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"{program} failed: {detail}")
    return finished.stdout


def _program(name: str) -> str:
    return shutil.which(name) or name


def _require_program(name: str) -> None:
    if not shutil.which(name):
        raise BackupError(f"{name} is not installed: install PostgreSQL's client programs "
                          "(Debian: apt install postgresql-client, the server's major version or newer)")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _application_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("serasi-web")
    except PackageNotFoundError:
        return "unknown"
