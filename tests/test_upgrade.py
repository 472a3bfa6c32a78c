"""An office upgrades: a database made and filled by the previous release upgrades to this
release's head with every row intact (docs/deploy.md, "Upgrading").

The previous release is taken from git (``PREVIOUS_RELEASE``), run from its own folder with
this venv's packages: its migrations make the schema and its demo generator fills it with
realistic reports. Then this release's ``db upgrade`` runs on it.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from .helpers import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
# The last release offices run: update it when a release is made (docs/deploy.md).
PREVIOUS_RELEASE = "e86a897"
# The last commit whose core revisions made the bundled plugins' tables (api_token, import_job,
# roster_sync), at the core's head 0021: since then each plugin's own branch makes its table
# only where it is missing. PREVIOUS_RELEASE has those tables as revision 0005 made them.
BEFORE_PLUGIN_TABLES = "4b10f24"
POSTGRES_URL = os.environ.get("SERASI_TEST_DATABASE_URL", "")
UPGRADE_DATABASE = "serasi_upgrade_check"


@pytest.fixture(scope="module")
def release_code(tmp_path_factory):
    """The code of a commit, taken from git into a folder of its own (once per module)."""
    folders: dict[str, Path] = {}

    def code(commit: str) -> Path:
        if commit not in folders:
            folder = tmp_path_factory.mktemp(f"release-{commit}")
            archive = folder / "release.tar"
            result = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), commit],
                                    check=False, capture_output=True, text=True)
            if result.returncode != 0:
                skip_or_fail(f"the release {commit} is not in this clone's history: {result.stderr.strip()}")
            with tarfile.open(archive) as tar:
                tar.extractall(folder / "code", filter="data")
            folders[commit] = folder / "code"
        return folders[commit]
    return code


def _database(kind: str, tmp_path: Path):
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'office.db'}", None
    if not POSTGRES_URL:
        skip_or_fail("SERASI_TEST_DATABASE_URL is not set: PostgreSQL variant not run")
    server = make_url(POSTGRES_URL)
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{UPGRADE_DATABASE}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{UPGRADE_DATABASE}"'))
    return server.set(database=UPGRADE_DATABASE).render_as_string(hide_password=False), admin


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        names = [name for name in inspect(connection).get_table_names() if not name.startswith(("stay_name_fts", "sqlite_"))]
        counts = {name: connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one() for name in names}
    engine.dispose()
    return counts


def _revisions(url: str) -> set[str]:
    engine = create_engine(url)
    with engine.connect() as connection:
        revisions = set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    engine.dispose()
    return revisions


def _heads(migrations: Path, *plugin_folders: Path) -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(str(folder) for folder in [migrations / "versions", *plugin_folders]))
    return set(ScriptDirectory.from_config(config).get_heads())


def _installed_plugin_migrations() -> list[Path]:
    """The bundled plugins' migrations folders, and the example plugin's when it is installed
    (``make test`` installs it)."""
    import importlib.util

    spec = importlib.util.find_spec("serasi_example_plugin")
    return sorted(ROOT.glob("plugins/*/migrations")) + ([Path(spec.origin).parent / "migrations"] if spec else [])


def _columns(connection, table: str) -> set[str]:
    return {column["name"] for column in inspect(connection).get_columns(table)}


def _add_plugin_rows(url: str) -> None:
    """A token, an import and a roster in the bundled plugins' tables, in whatever shape the old
    code left them (revision 0005's, or 0021's with the later columns)."""
    from serasi_web.database import UTCDateTime

    at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    engine = create_engine(url)
    with engine.begin() as connection:
        lodging_id = connection.execute(text("SELECT min(id) FROM lodging")).scalar_one()
        token = {"lodging_id": lodging_id, "name": "Old PMS", "prefix": "srs_oldpms", "token_hash": "f" * 64, "created_at": at}
        if "expires_at" in _columns(connection, "api_token"):
            token.update(expires_at=at + timedelta(days=30), scope="read")
        connection.execute(sa.table("api_token", *(sa.column(name, UTCDateTime() if name.endswith("_at") else None) for name in token))
                           .insert().values(**token))
        job = {"lodging_id": lodging_id, "filename": "guests.csv", "file_format": "csv", "encoding": "utf-8", "mapping": {"surname": "Surname"},
               "headers": ["Surname"], "status": "done", "only_valid": False, "total_rows": 2, "processed_rows": 2, "valid_rows": 1,
               "error_rows": 1, "created_count": 1, "updated_count": 0, "unchanged_count": 0,
               "errors": [{"row": 3, "column": "surname", "message": "missing"}], "failure": "", "created_at": at}
        connection.execute(sa.table("import_job", *(sa.column(name, sa.JSON() if isinstance(value, (dict, list)) else
                                                              UTCDateTime() if name.endswith("_at") else None) for name, value in job.items()))
                           .insert().values(**job))
        roster = {"lodging_id": lodging_id, "received_from": "api:HR", "status": "pending", "arrived": [], "departing": [7],
                  "unchanged": 3, "problems": [], "created_at": at}
        if "departing_since" in _columns(connection, "roster_sync"):
            roster.update(departing_since={"7": "2026-11-29T08:00:00+00:00"}, failure=None)
        connection.execute(sa.table("roster_sync", *(sa.column(name, sa.JSON() if isinstance(value, (dict, list)) or name == "failure" else
                                                                UTCDateTime() if name.endswith("_at") else None) for name, value in roster.items()))
                           .insert().values(**roster))
    engine.dispose()


def _check_plugin_rows(url: str, tmp_path: Path, tables_were_at_0021: bool) -> None:
    """The rows are there with their values, the columns added since 0005 filled as the old core
    revisions filled them, and the schema is the models' (as a fresh ``db upgrade`` makes it,
    tests/test_migrations.py)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from plugins.company_mess.models import RosterSync
    from plugins.push_api.models import ApiToken
    from plugins.spreadsheet_import.models import ImportJob
    from serasi_web import create_app
    from serasi_web.database import include_name, utcnow
    from serasi_web.extensions import db

    app = create_app({"TESTING": True, "SECRET_KEY": "upgrade-check-" + "x" * 32, "SQLALCHEMY_DATABASE_URI": url,
                      "INSTANCE_PATH": str(tmp_path / "instance")})
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
            assert compare_metadata(context, db.metadata) == []
        token = db.session.execute(sa.select(ApiToken).where(ApiToken.name == "Old PMS")).scalar_one()
        job = db.session.execute(sa.select(ImportJob).where(ImportJob.filename == "guests.csv")).scalar_one()
        roster = db.session.execute(sa.select(RosterSync).where(RosterSync.received_from == "api:HR")).scalar_one()
        assert job.errors == [{"row": 3, "column": "surname", "message": "missing"}] and job.mapping == {"surname": "Surname"}
        assert roster.departing == [7] and roster.unchanged == 3 and roster.failure is None
        if tables_were_at_0021:
            assert token.scope == "read" and token.expires_at == datetime(2026, 12, 30, 8, 0, tzinfo=UTC)
            assert roster.departing_since == {"7": "2026-11-29T08:00:00+00:00"}
        else:  # a token from before expiry: 90 days from the upgrade, still writing; the roster's own arrival
            assert token.scope == "write" and timedelta(days=89) < token.expires_at - utcnow() <= timedelta(days=90)
            assert roster.departing_since is None and roster.departed_at(7) == roster.created_at
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("release", [PREVIOUS_RELEASE, BEFORE_PLUGIN_TABLES])
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_database_of_the_previous_release_upgrades_with_its_data(kind, release, release_code, tmp_path):
    """Also a database at the core's head 0021, whose tables of the bundled plugins were made by
    core revisions: the plugins' own branches find them and keep them, rows and all."""
    previous_release = release_code(release)
    url, admin = _database(kind, tmp_path)
    try:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("SERASI_", "FLASK_"))}
        # The installed example plugin is written for this release: the old one runs without it,
        # as an office upgrades a plugin after the core.
        env.update(SERASI_DATABASE_URL=url, SERASI_INSTANCE_PATH=str(tmp_path / "instance"), PYTHONPATH=str(previous_release),
                   SERASI_DISABLED_PLUGINS="example")
        old = [sys.executable, "-m", "flask", "--app", "wsgi"]
        for args in (["db", "upgrade"], ["serasi", "demo-data", "--stays", "300", "--seed", "7"]):
            result = subprocess.run([*old, *args], check=False, cwd=previous_release, env=env, capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, result.stderr[-3000:]
        assert _revisions(url) == _heads(previous_release / "migrations")  # the old code ran, not this one
        _add_plugin_rows(url)
        before = _counts(url)
        assert before["stay"] >= 300 and before["stay_version"] >= before["stay"]
        engine = create_engine(url)
        with engine.connect() as connection:
            sample = connection.execute(text(
                "SELECT id, receipt_number, document_number, surname, status, date_of_birth, document_expiry, entry_date, name_folded "
                "FROM stay ORDER BY id DESC LIMIT 20")).all()
        engine.dispose()

        env["PYTHONPATH"] = str(ROOT)
        del env["SERASI_DISABLED_PLUGINS"]
        console = str(Path(sys.executable).parent / "serasi-web")
        result = subprocess.run([console, "db", "upgrade"], check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]

        after = _counts(url)
        # No row lost or added in old tables (alembic_version: one more row per plugin branch).
        assert {name: after[name] for name in before if name != "alembic_version"} == {n: c for n, c in before.items() if n != "alembic_version"}
        engine = create_engine(url)
        with engine.connect() as connection:
            again = connection.execute(text(
                "SELECT id, receipt_number, document_number, surname, status, date_of_birth, document_expiry, entry_date, name_folded "
                "FROM stay ORDER BY id DESC LIMIT 20")).all()
            if kind == "sqlite":  # 0025 rebuilt the stay table: its name index (0008) still finds every stay
                named = next(row for row in sample if len(max(row.name_folded.split() or [""], key=len)) >= 3)
                word = max(named.name_folded.split(), key=len)[:5]  # the trigram index finds three letters and more
                indexed = set(connection.execute(text("SELECT rowid FROM stay_name_fts WHERE stay_name_fts MATCH :word"),
                                                 {"word": f'"{word}"'}).scalars())
                scanned = set(connection.execute(text("SELECT id FROM stay WHERE name_folded LIKE :like"), {"like": f"%{word}%"}).scalars())
                assert indexed == scanned and named.id in indexed
                triggers = set(connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'stay'")).scalars())
                assert triggers == {"stay_name_fts_after_insert", "stay_name_fts_after_delete", "stay_name_fts_after_update",
                                    "stat_stay_inserted", "stat_stay_deleted", "stat_stay_updated"}  # 0026's, after the rebuild
        engine.dispose()
        assert again == sample and all(row.date_of_birth and row.document_expiry and row.entry_date for row in again)
        assert _revisions(url) == _heads(ROOT / "serasi_web" / "migrations", *_installed_plugin_migrations())  # the plugins' too
        _check_plugin_rows(url, tmp_path, tables_were_at_0021=release == BEFORE_PLUGIN_TABLES)
    finally:
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{UPGRADE_DATABASE}" WITH (FORCE)'))
            admin.dispose()
