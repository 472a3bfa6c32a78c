"""Backups and restores, for real: the ``backup`` command in its own process while reports keep
coming in, then ``restore`` into a new database (a SQLite file, or a second PostgreSQL database)
with every table's row count and the last receipts checked."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, inspect, make_url, select, text

from serasi_web import create_app
from serasi_web.backup import MANIFEST
from serasi_web.extensions import db
from serasi_web.stays.models import Stay
from serasi_web.stays.receipts import verification_token

from .conftest import BASE_CONFIG, POSTGRES_URL
from .helpers import login, make_lodging, report_guest, skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).with_name("flask"))
# The instance folder's own secret key (no SECRET_KEY setting): the backup must carry it, or the
# restored instance could not verify the receipts it issued.
CONFIG = {key: value for key, value in BASE_CONFIG.items() if key != "SECRET_KEY"}


@pytest.fixture
def app_config(database_url, tmp_path) -> dict:
    return {**CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(tmp_path / "instance")}


def restore_database_url_or_skip() -> str:
    """A second PostgreSQL database, emptied: SERASI_RESTORE_DATABASE_URL, or the test database's
    name with ``_restore`` (created when missing)."""
    if not POSTGRES_URL:
        skip_or_fail("SERASI_TEST_DATABASE_URL is not set: PostgreSQL variant not run")
    url = os.environ.get("SERASI_RESTORE_DATABASE_URL") or make_url(POSTGRES_URL).set(
        database=f"{make_url(POSTGRES_URL).database}_restore").render_as_string(hide_password=False)
    name = make_url(url).database
    server = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        if not connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).scalar():
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def run_command(app, *args: str):
    """A ``flask serasi`` command through click's runner, inside ``app``'s own context (the
    test's app context would otherwise be the one the command sees)."""
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["serasi", *args])
        db.session.remove()
        db.engine.dispose()
    return result


def flask_command(config: dict, *args: str) -> subprocess.Popen:
    """The ``flask serasi`` command as an office runs it, in a process of its own."""
    factory = f"serasi_web:create_app({config!r})"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SERASI_")}
    return subprocess.Popen([FLASK, "--app", factory, "serasi", *args], cwd=ROOT, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def table_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                names = connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars().all()
            else:
                names = [name for name in inspect(connection).get_table_names() if not name.startswith("sqlite_")]
            return {name: connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one() for name in names}
    finally:
        engine.dispose()


def read_archive_manifest(path: Path) -> dict:
    with tarfile.open(path, "r:gz") as archive:
        return json.loads(archive.extractfile(MANIFEST).read())


def fill(client, lodging, first: int, count: int) -> list[int]:
    made = []
    for number in range(first, first + count):
        made.append(report_guest(client, lodging, document_number=f"B{number:07d}", surname="Lindqvist " + _letters(number)))
        with client.session_transaction() as session:
            session.pop("_flashes", None)  # nobody reads the "submitted" messages; they would outgrow the cookie
    return made


def _letters(number: int) -> str:
    return "".join("abcdefghij"[int(digit)] for digit in str(number))


def restore_target(database_url: str, tmp_path: Path) -> str:
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored' / 'serasi.db'}"
    return restore_database_url_or_skip()


def test_restore_drill_backup_while_reports_are_written(app, app_config, database_url, operator_client, operator, offices, tmp_path):
    lodging = make_lodging(operator)
    lodging.status = "verified"
    db.session.commit()
    fill(operator_client, lodging, 0, 20)
    (Path(app.instance_path) / "config.py").write_text("PAGE_SIZE = 25\n")
    instance_key = (Path(app.instance_path) / "secret_key").read_text().strip()
    backups = tmp_path / "backups"
    backups.mkdir()

    backup = flask_command(app_config, "backup", "--output", str(backups))
    written_while_backing_up = 0
    try:
        while True:  # at least one report goes in after the backup process started
            fill(operator_client, lodging, 1000 + written_while_backing_up, 1)
            written_while_backing_up += 1
            if backup.poll() is not None:
                break
    finally:
        out, err = backup.communicate()
    assert backup.returncode == 0, err
    fill(operator_client, lodging, 5000, 2)  # and after it ended
    assert written_while_backing_up >= 1

    [archive_path] = list(backups.iterdir())
    manifest = read_archive_manifest(archive_path)
    total_stays = db.session.scalar(select(func.count()).select_from(Stay))
    assert 20 <= manifest["row_counts"]["stay"] < total_stays
    assert manifest["alembic_revision"] and manifest["database"]["dialect"] == db.engine.dialect.name
    assert set(manifest["instance_files"]) >= {"secret_key", "config.py"}
    # No personal data in the archive's name, its members' names or the command's messages.
    with tarfile.open(archive_path, "r:gz") as archive:
        names = " ".join(archive.getnames())
    for text_ in (archive_path.name, names, out, err):
        assert "Lindqvist" not in text_ and "B000" not in text_ and "Eriksson" not in text_

    target_url = restore_target(database_url, tmp_path)
    restored_config = {**CONFIG, "SQLALCHEMY_DATABASE_URI": target_url, "INSTANCE_PATH": str(tmp_path / "restored-instance")}
    result = run_command(create_app(restored_config), "restore", str(archive_path))
    assert result.exit_code == 0, result.output
    assert "same row counts" in result.output and "Lindqvist" not in result.output

    counts = table_counts(target_url)
    assert {table: counts[table] for table in manifest["row_counts"]} == manifest["row_counts"]
    assert (tmp_path / "restored-instance" / "secret_key").read_text().strip() == instance_key

    # The last receipts issued before the backup: their pages and their public verification
    # (the token as the original instance printed it on the receipt).
    restored = create_app(restored_config)
    with restored.app_context():
        last = db.session.execute(select(Stay.id, Stay.receipt_number).where(Stay.receipt_number.is_not(None))
                                  .order_by(Stay.id.desc()).limit(3)).all()
        db.session.remove()
        db.engine.dispose()
    assert len(last) == 3
    tokens = {number: verification_token(number) for _stay_id, number in last}
    client = restored.test_client()
    login(client, operator.email)
    for stay_id, number in last:
        assert number in client.get(f"/stays/{stay_id}/receipt").get_data(as_text=True)
        page = client.get(f"/verify/{tokens[number]}")
        assert page.status_code == 200 and number in page.get_data(as_text=True)
    with restored.app_context():
        db.engine.dispose()


def test_restore_refuses_a_database_with_tables_unless_forced(app, app_config, database_url, operator, tmp_path):
    make_lodging(operator)
    db.session.commit()
    archive_path = tmp_path / "backup.tar.gz"
    assert run_command(app, "backup", "--output", str(archive_path)).exit_code == 0

    refused = run_command(app, "restore", str(archive_path))
    assert refused.exit_code == 1
    assert len(refused.output.strip().splitlines()) == 1, refused.output
    assert "already has" in refused.output and "--force" in refused.output

    forced = run_command(app, "restore", "--force", str(archive_path))
    assert forced.exit_code == 0, forced.output
    assert table_counts(database_url)["lodging"] == 1


def _rewrite(archive_path: Path, target: Path, change_manifest=None, change_database=None) -> None:
    with tarfile.open(archive_path, "r:gz") as source, tarfile.open(target, "w:gz") as copy:
        for member in source:
            data = source.extractfile(member).read()
            if member.name == MANIFEST and change_manifest:
                manifest = json.loads(data)
                change_manifest(manifest)
                data = json.dumps(manifest).encode()
            elif member.name.startswith("database.") and change_database:
                data = change_database(data)
            member.size = len(data)
            copy.addfile(member, io.BytesIO(data))


@pytest.fixture
def backup_file(app, tmp_path) -> Path:
    archive_path = tmp_path / "backup.tar.gz"
    result = run_command(app, "backup", "--output", str(archive_path))
    assert result.exit_code == 0, result.output
    return archive_path


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_restore_refuses_damaged_or_foreign_archives_in_one_line(app, backup_file, tmp_path):
    target = create_app({**CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'new.db'}", "INSTANCE_PATH": str(tmp_path / "new")})
    cases = {}
    _rewrite(backup_file, tmp_path / "newer.tar.gz", change_manifest=lambda m: m.update(alembic_revision="9999_future"))
    cases["newer.tar.gz"] = "does not know"
    _rewrite(backup_file, tmp_path / "damaged.tar.gz", change_database=lambda data: data[:-10] + b"0123456789")
    cases["damaged.tar.gz"] = "damaged"
    _rewrite(backup_file, tmp_path / "later-format.tar.gz", change_manifest=lambda m: m.update(format_version=99))
    cases["later-format.tar.gz"] = "format 99"
    (tmp_path / "notes.tar.gz").write_text("not an archive")
    cases["notes.tar.gz"] = "not a SERASI Web backup"
    cases["missing.tar.gz"] = "does not exist"
    for name, expected in cases.items():
        result = run_command(target, "restore", str(tmp_path / name))
        assert result.exit_code == 1 and expected in result.output, (name, result.output)
        assert len(result.output.strip().splitlines()) == 1, result.output
    assert not (tmp_path / "new.db").exists() or table_counts(f"sqlite:///{tmp_path / 'new.db'}") == {}  # nothing written


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_backup_of_an_older_schema_restores_and_asks_for_an_upgrade(app, tmp_path):
    from .helpers import downgrade_the_core_one_revision

    downgrade_the_core_one_revision()
    db.engine.dispose()
    archive_path = tmp_path / "old.tar.gz"
    assert run_command(app, "backup", "--output", str(archive_path)).exit_code == 0
    target = create_app({**CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'new.db'}", "INSTANCE_PATH": str(tmp_path / "new")})
    result = run_command(target, "restore", str(archive_path))
    assert result.exit_code == 0, result.output
    assert "db upgrade" in result.output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_sqlite_backup_is_refused_by_a_postgresql_database(app, backup_file, tmp_path):
    target = create_app({**CONFIG, "SQLALCHEMY_DATABASE_URI": restore_database_url_or_skip(), "INSTANCE_PATH": str(tmp_path / "pg")})
    result = run_command(target, "restore", str(backup_file))
    assert result.exit_code == 1 and "backup of a SQLite database" in result.output


def test_backup_refuses_an_existing_file_and_a_missing_folder(app, backup_file, tmp_path):
    again = run_command(app, "backup", "--output", str(backup_file))
    assert again.exit_code == 1 and "already exists" in again.output
    nowhere = run_command(app, "backup", "--output", str(tmp_path / "no" / "such" / "backup.tar.gz"))
    assert nowhere.exit_code == 1 and "does not exist" in nowhere.output
