"""Data at rest (docs/privacy.md): the files that hold personal data are created readable by
their owner only, whatever the umask."""
from __future__ import annotations

import os
import stat

from sqlalchemy import text

from serasi_web import create_app
from serasi_web.extensions import db
from serasi_web.jobs import get_huey

from .conftest import BASE_CONFIG


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_sqlite_database_its_journal_files_and_the_task_queue_are_owner_only(tmp_path):
    instance = tmp_path / "instance"
    previous = os.umask(0o022)  # the usual umask: files would be world-readable
    try:
        app = create_app({**BASE_CONFIG, "INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": None,
                          "HUEY_SQLITE_PATH": None})
        with app.app_context():
            with db.engine.begin() as connection:
                connection.execute(text("CREATE TABLE guest (name TEXT)"))
                connection.execute(text("INSERT INTO guest VALUES ('Eriksson')"))
            files = [instance / "serasi.db", instance / "serasi.db-wal", instance / "serasi.db-shm"]
            assert all(path.exists() for path in files)
            assert {path.name: mode(path) for path in files} == {path.name: 0o600 for path in files}
            get_huey(app)
            assert mode(instance / "huey.db") == 0o600
            assert mode(instance) == 0o700
            db.session.remove()
            db.engine.dispose()
    finally:
        os.umask(previous)


def test_an_existing_database_keeps_its_permissions(tmp_path):
    """An operator who chose other permissions (a group for backups) keeps them."""
    path = tmp_path / "shared.db"
    path.touch(mode=0o640)
    os.chmod(path, 0o640)
    app = create_app({**BASE_CONFIG, "INSTANCE_PATH": str(tmp_path / "instance"), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        db.engine.dispose()
    assert mode(path) == 0o640
