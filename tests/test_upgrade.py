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
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from .helpers import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
# The last release offices run: update it when a release is made (docs/deploy.md).
PREVIOUS_RELEASE = "e86a897"
POSTGRES_URL = os.environ.get("SERASI_TEST_DATABASE_URL", "")
UPGRADE_DATABASE = "serasi_upgrade_check"


@pytest.fixture(scope="module")
def previous_release(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("previous-release")
    archive = folder / "release.tar"
    result = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), PREVIOUS_RELEASE],
                            check=False, capture_output=True, text=True)
    if result.returncode != 0:
        skip_or_fail(f"the previous release {PREVIOUS_RELEASE} is not in this clone's history: {result.stderr.strip()}")
    with tarfile.open(archive) as tar:
        tar.extractall(folder / "code", filter="data")
    return folder / "code"


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
    """The example plugin's migrations folder, when it is installed (``make test`` installs it)."""
    import importlib.util

    spec = importlib.util.find_spec("serasi_example_plugin")
    return [Path(spec.origin).parent / "migrations"] if spec else []


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_database_of_the_previous_release_upgrades_with_its_data(kind, previous_release, tmp_path):
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
        before = _counts(url)
        assert before["stay"] >= 300 and before["stay_version"] >= before["stay"]
        engine = create_engine(url)
        with engine.connect() as connection:
            sample = connection.execute(text(
                "SELECT id, receipt_number, document_number, surname, status FROM stay ORDER BY id DESC LIMIT 20")).all()
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
                "SELECT id, receipt_number, document_number, surname, status FROM stay ORDER BY id DESC LIMIT 20")).all()
        engine.dispose()
        assert again == sample
        assert _revisions(url) == _heads(ROOT / "serasi_web" / "migrations", *_installed_plugin_migrations())  # the plugin's too
    finally:
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{UPGRADE_DATABASE}" WITH (FORCE)'))
            admin.dispose()
