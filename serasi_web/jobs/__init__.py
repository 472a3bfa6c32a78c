"""Background jobs with huey: ``SqliteHuey`` in the instance folder by default, ``RedisHuey`` when
``SERASI_REDIS_URL`` is set.

``create_app()`` only records that jobs exist; the huey object (and its SQLite file or Redis
pool) is made on first use, so building an app has no side effects. ``flask --app wsgi serasi
worker`` runs the consumer: the periodic jobs (reminders, notices, digests) and the delivery
loop of the outbox.
"""
from __future__ import annotations

import threading
from pathlib import Path

from flask import Flask, current_app

_lock = threading.Lock()


def init_app(app: Flask) -> None:
    app.extensions["serasi.huey"] = None  # made lazily by get_huey()


def get_huey(app: Flask | None = None):
    """This app's huey, with the SERASI tasks registered on it."""
    app = app or current_app._get_current_object()
    with _lock:
        huey = app.extensions.get("serasi.huey")
        if huey is None:
            huey = _make_huey(app)
            from .tasks import register_tasks

            register_tasks(huey, app)
            app.extensions["serasi.huey"] = huey
    return huey


def _make_huey(app: Flask):
    name = app.config["HUEY_NAME"]
    immediate = app.config.get("HUEY_IMMEDIATE", False)
    if app.config.get("REDIS_URL"):
        from huey import RedisHuey

        return RedisHuey(name, url=app.config["REDIS_URL"], immediate=immediate, utc=True)
    from huey import SqliteHuey

    path = app.config.get("HUEY_SQLITE_PATH") or str(Path(app.instance_path) / "huey.db")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    from ..database import create_private_file

    create_private_file(path)  # queued tasks may carry ids and addresses: owner only
    return SqliteHuey(name, filename=path, immediate=immediate, utc=True)
