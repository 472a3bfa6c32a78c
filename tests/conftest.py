"""Fixtures: an app on SQLite (always) and PostgreSQL (when SERASI_TEST_DATABASE_URL is set),
a client, and users of each role.

The schema is built once per session through the migrations (never ``create_all``), then each
test gets a fresh copy: a copied SQLite file, or truncated PostgreSQL tables.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from serasi_web import create_app
from serasi_web.extensions import db

from .fake_pms import beds24, cloudbeds  # noqa: F401  (fixtures: the fake property systems' servers)
from .helpers import REQUIRE_ALL, TEST_PASSWORD, login, make_lodging, make_offices, make_user, running_worker, skip_or_fail

POSTGRES_URL = os.environ.get("SERASI_TEST_DATABASE_URL", "")
# Two-step login is off for the tests' officers and admins (they log in with a password through
# ``helpers.login``); tests/security/test_mfa.py turns it on as in production. The tests' webhook
# and federation receivers listen on loopback, which forwarders refuse unless the host is listed.
# PUBLIC_URL: absolute links are built from it (never from the request); the test client's host.
BASE_CONFIG = {"TESTING": True, "SECRET_KEY": "test-secret-key-" + "x" * 32, "WTF_CSRF_ENABLED": False, "MFA_REQUIRED_ROLES": [],
               "OUTBOUND_ALLOWED_HOSTS": ["127.0.0.1"], "PUBLIC_URL": "http://localhost"}


def _upgrade(url: str, instance: Path) -> None:
    from serasi_web.database import upgrade_schema

    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(instance)})
    with app.app_context():
        upgrade_schema()
        db.engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def compiled_translations():
    """Compile the catalogues when they are missing or older than their .po (as ``make`` does)."""
    import importlib.util

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parent.parent
    # The core's catalogues, and the example plugin's own where it is imported from (installed
    # in editable mode from a checkout: maybe another one than these tests').
    plugin = importlib.util.find_spec("serasi_example_plugin")
    plugin_folders = [Path(folder) for folder in (plugin.submodule_search_locations or ())] if plugin else []
    for po_path in [*root.glob("translations/*/LC_MESSAGES/messages.po"),
                    *root.glob("tests/plugin_example/*/translations/*/LC_MESSAGES/messages.po"),
                    *(po for folder in plugin_folders for po in folder.glob("translations/*/LC_MESSAGES/messages.po"))]:
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.db"
    _upgrade(f"sqlite:///{path}", folder)
    return path


@pytest.fixture(scope="session")
def postgres_schema(tmp_path_factory) -> str | None:
    if not POSTGRES_URL:
        return None
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    _upgrade(POSTGRES_URL, tmp_path_factory.mktemp("pg-instance"))
    return POSTGRES_URL


# Reference tables that migrations fill; emptying them would make PostgreSQL differ from SQLite.
SEEDED_TABLES = ("alembic_version", "visa_index")


def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )).scalars().all()
        tables = [table for table in tables if table not in SEEDED_TABLES]
        if tables:
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "serasi.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_schema")
    if not url:
        skip_or_fail("SERASI_TEST_DATABASE_URL is not set: PostgreSQL variant not run")
    _truncate_postgres(url)
    return url


@pytest.fixture
def app_config(database_url, tmp_path) -> dict:
    """The settings of the ``app`` fixture; override this fixture to change them."""
    return {**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(tmp_path / "instance")}


class RequestIsolatedClient(FlaskClient):
    """Each request runs in its own app context, as in production.

    The ``app`` fixture keeps an app context open for the test's own queries; without this,
    requests would reuse it and share ``g`` (and the logged-in user) between requests.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        # The test's own session must not serve stale objects after the request changed rows.
        db.session.expire_all()
        return response


@pytest.fixture
def app(app_config):
    application = create_app(app_config)
    application.test_client_class = RequestIsolatedClient
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def another_app(app_config):
    """Build more apps on the test's database (another gunicorn worker, other settings);
    their connection pools are closed at the end of the test."""
    created = []

    def build(**overrides):
        extra = create_app({**app_config, **overrides})
        extra.test_client_class = RequestIsolatedClient
        created.append(extra)
        return extra

    yield build
    for extra in created:
        with extra.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def served_instance(sqlite_template, tmp_path):
    """Build other SERASI Web instances (an immigration office's, a national one), each on its own
    SQLite database and served over real HTTP on loopback: ``build(name, **settings)`` returns the
    app with ``base_url``. ``setup(app)``, if given, runs in its app context before it serves."""
    import threading

    from werkzeug.serving import make_server

    running = []

    def build(name: str = "office", setup=None, **overrides):
        path = tmp_path / f"{name}.db"
        shutil.copyfile(sqlite_template, path)
        instance = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "INSTANCE_PATH": str(tmp_path / f"{name}-instance"),
                               **overrides})
        instance.test_client_class = RequestIsolatedClient
        if setup is not None:
            with instance.app_context():
                setup(instance)
                db.session.remove()
        server = make_server("127.0.0.1", 0, instance, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        instance.base_url = f"http://127.0.0.1:{server.server_port}"
        running.append((instance, server))
        return instance

    yield build
    for instance, server in running:
        server.shutdown()
        with instance.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def offices(app):
    """Kanim Jakarta Barat, Ngurah Rai and Denpasar with their real areas, keyed by short name."""
    return make_offices()


@pytest.fixture
def operator(app):
    return make_user("operator@example.com")


@pytest.fixture
def lodging(app, operator, offices):
    """The operator's lodging in Kanim Ngurah Rai's area, verified (it may report guests).
    A test file that needs another kind of lodging defines its own ``lodging``."""
    lodging = make_lodging(operator)
    lodging.status = "verified"
    db.session.commit()
    return lodging


@pytest.fixture
def other_operator(app):
    return make_user("other.operator@example.com")


@pytest.fixture
def officer(app, offices):
    """An officer of Kanim Ngurah Rai."""
    return make_user("officer.ngurahrai@example.com", role="officer", office_id=offices["ngurah_rai"].id)


@pytest.fixture
def denpasar_officer(app, offices):
    return make_user("officer.denpasar@example.com", role="officer", office_id=offices["denpasar"].id)


@pytest.fixture
def admin(app):
    return make_user("admin@example.com", role="admin")


@pytest.fixture
def huey_worker(app):
    """The worker's huey consumer (two threads) in this process, on the app's own queue: tasks
    the app enqueues run in the background, as with ``flask serasi worker``. Stopped, after
    its tasks finish, at the end of the test."""
    with running_worker(app) as huey:
        yield huey


@pytest.fixture
def operator_client(app, operator):
    client = app.test_client()
    login(client, operator.email)
    return client


@pytest.fixture
def officer_client(app, officer):
    client = app.test_client()
    login(client, officer.email)
    return client


@pytest.fixture
def admin_client(app, admin):
    client = app.test_client()
    login(client, admin.email)
    return client


__all__ = ["REQUIRE_ALL", "TEST_PASSWORD"]


# ---- Redis (jobs, rate limits, doctor) -------------------------------------------------------

REDIS_URL = os.environ.get("SERASI_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """Redis db 9 on the machine's server, or a private redis-server started for the session."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        yield REDIS_URL
        return
    except redis.ConnectionError:
        pass
    if not shutil.which("redis-server"):
        skip_or_fail(f"no Redis at {REDIS_URL} and no redis-server to start (apt-get install redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                               "--dir", str(tmp_path_factory.mktemp("redis"))], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/9"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    yield url
    server.terminate()
    server.wait(timeout=10)
