"""The app factory, configuration, health check, CSRF, languages and page weight."""
import gzip
import re
import stat

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from pathlib import Path

from serasi_web import create_app
from serasi_web.extensions import db

from .helpers import login, make_lodging

ROOT = Path(__file__).resolve().parent.parent


def test_create_app_twice_in_one_process_gives_independent_apps(tmp_path):
    first = create_app({"INSTANCE_PATH": str(tmp_path / "a"), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/a.db"})
    second = create_app({"INSTANCE_PATH": str(tmp_path / "b"), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/b.db"})
    assert first is not second and first.config["SECRET_KEY"] != second.config["SECRET_KEY"]
    assert not (tmp_path / "a.db").exists()  # no migrations or queries at creation


def test_embedded_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SERASI_SECRET_KEY", raising=False)
    config = {"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    key = create_app(config).config["SECRET_KEY"]
    assert len(key) == 64 and create_app(config).config["SECRET_KEY"] == key
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_environment_and_default_database(tmp_path, monkeypatch):
    monkeypatch.delenv("SERASI_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/serasi.db"
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example/serasi")
    assert create_app({"INSTANCE_PATH": str(tmp_path)}).config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/serasi"
    monkeypatch.setenv("SERASI_DATABASE_URL", "postgresql+psycopg://serasi@db.internal/serasi")  # ours wins over the generic one
    assert create_app({"INSTANCE_PATH": str(tmp_path)}).config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://serasi@db.internal/serasi"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_connection_lost_after_the_last_statement_does_not_turn_the_answer_into_a_500(app):
    """The database restarts between a request's last statement and the end of the request:
    closing the session then fails (its ROLLBACK meets a dead connection); the answer stands."""
    from sqlalchemy import text

    def lose_connection():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        with db.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return "answered"

    app.add_url_rule("/test-lose-connection", "lose_connection", lose_connection)
    response = app.test_client().get("/test-lose-connection")
    assert response.status_code == 200 and response.get_data(as_text=True) == "answered"
    assert app.test_client().get("/healthz").status_code == 200  # the pool replaced the dead connection


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(app):
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and {k: response.json[k] for k in ("status", "database")} == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path):
    broken = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x" * 40,
                         "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"})
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503 and {k: response.json[k] for k in ("status", "database")} == {"status": "error", "database": "error"}
    page = broken.test_client().get("/login")
    assert page.status_code in (200, 503)  # pages that need no query still render


def test_forms_without_a_csrf_token_are_refused(another_app, operator):
    protected = another_app(WTF_CSRF_ENABLED=True)
    client = protected.test_client()
    response = client.post("/login", data={"email": operator.email, "password": "whatever"}, headers={"Accept-Language": "en"})
    assert response.status_code == 400 and "security token" in response.get_data(as_text=True)
    login(client, operator.email)  # with the token from the form it works
    assert client.post("/logout").status_code == 400


def test_indonesian_is_the_default_and_english_follows_the_browser(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="id">' in page and "Kata sandi" in page
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in page and "Password" in page


def test_language_switch_is_remembered(client):
    response = client.post("/language", data={"language": "en", "next": "/signup"})
    assert response.status_code == 303 and response.location == "/signup"
    assert '<html lang="en">' in client.get("/signup", headers={"Accept-Language": "id"}).get_data(as_text=True)
    response = client.post("/language", data={"language": "xx", "next": "https://evil.example/"})
    assert response.location == "/"


def test_every_user_facing_string_is_translated_into_indonesian():
    """Extract the strings from the code and templates; each must have an Indonesian translation."""
    method_map = [("serasi_web/**.py", "python"), ("plugins/**.py", "python"), ("serasi_web/templates/**.html", "jinja2"), ("serasi_web/templates/**.txt", "jinja2"),
                  ("plugins/**/templates/**.html", "jinja2"), ("plugins/**/templates/**.txt", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    extracted = {message for _file, _line, message, _comments, _context in
                 extract_from_dir(str(ROOT), method_map, keywords=keywords)}
    extracted = {m if isinstance(m, str) else m[0] for m in extracted}
    with open(ROOT / "translations/id/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle)
    missing = sorted(m for m in extracted if not catalog.get(m) or not catalog.get(m).string or catalog.get(m).fuzzy)
    assert not missing, f"untranslated (run make extract-messages and translate): {missing[:20]}"


@pytest.mark.parametrize("path, role", [
    ("/", None), ("/login", None), ("/signup", None),
    ("/lodgings/", "operator"), ("/lodgings/new", "operator"),
    ("/officer/lodgings", "officer"), ("/admin/", "admin"), ("/admin/offices", "admin"),
    ("/dashboard", "operator"), ("/stays", "operator"), ("/lodgings/{lodging}/stays/new", "operator"),
    ("/lodgings/{lodging}/groups/new", "operator"), ("/officer/stays", "officer"), ("/admin/visa-indexes", "admin"),
    ("/lodgings/{lodging}/api-tokens", "operator"), ("/lodgings/{mess}/roster", "operator"),
])
def test_each_page_stays_under_30_kb_gzipped(request, app, offices, operator, path, role):
    client = request.getfixturevalue(f"{role}_client") if role else app.test_client()
    if "{lodging}" in path:
        path = path.format(lodging=make_lodging(operator).id)
    if "{mess}" in path:
        path = path.format(mess=make_lodging(operator, name="Mess", lodging_type="company_mess", extra={"employer_name": "PT"}).id)
    response = client.get(path)
    assert response.status_code == 200
    with client.get("/static/style.css") as css_response:
        css = css_response.data
    assert len(gzip.compress(response.data + css)) < 30 * 1024


def test_unknown_pages_and_ids_answer_404_with_a_page(operator_client):
    response = operator_client.get("/lodgings/12345")
    assert response.status_code == 404 and "<html" in response.get_data(as_text=True)
    assert operator_client.get("/no/such/page").status_code == 404


def test_vendored_htmx_is_pinned_and_served_locally(client):
    page = client.get("/login").get_data(as_text=True)
    assert re.search(r'src="/static/htmx-2\.0\.\d+\.min\.js\?v=[0-9a-f]+"', page)  # versioned: static_files.py
    assert "https://" not in re.sub(r'xmlns="[^"]+"', "", page)
    with client.get("/static/htmx-2.0.11.min.js") as script:
        assert script.status_code == 200 and script.data.startswith(b"var htmx=")
