"""``doctor`` against real surroundings: SQLite and PostgreSQL, Redis, an aiosmtpd server with a
self-signed certificate; each problem is one line, and the exit status says whether any was found."""
from __future__ import annotations

import os
import sqlite3
import ssl
import subprocess

import pytest

from serasi_web import create_app
from serasi_web.config import secret_key_problem

from .conftest import BASE_CONFIG
from .test_backup import FLASK, ROOT, run_command
from .test_forwarders import free_port

STRONG_KEY = "9f2c4e1a7b3d8f6e0a5c2b9d4e7f1a3c6b8d0e2f4a6c8e1b3d5f7a9c0e2b4d6f"


@pytest.fixture
def app_config(database_url, tmp_path) -> dict:
    return {**BASE_CONFIG, "SECRET_KEY": STRONG_KEY, "SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(tmp_path / "instance")}


def problems(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("PROBLEM")]


def test_doctor_finds_nothing_wrong_with_a_migrated_database(app):
    result = run_command(app, "doctor")
    assert result.exit_code == 0, result.output
    assert problems(result.output) == []
    assert "schema at the newest revision" in result.output and "No problems found." in result.output
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        assert "of the database server" in result.output  # the clocks were compared


def test_wrong_database_url_is_one_line_and_a_failing_exit_status(tmp_path):
    port = free_port()
    config = {**BASE_CONFIG, "SECRET_KEY": STRONG_KEY, "INSTANCE_PATH": str(tmp_path / "instance"),
              "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://serasi:hunter2@127.0.0.1:{port}/serasi"}
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SERASI_")}
    finished = subprocess.run([FLASK, "--app", f"serasi_web:create_app({config!r})", "serasi", "doctor"], cwd=ROOT,
                              env=environment, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 1
    [line] = problems(finished.stdout)
    assert line.startswith("PROBLEM  database: cannot connect to") and "SERASI_DATABASE_URL" in line
    assert "hunter2" not in finished.stdout + finished.stderr


def test_missing_and_unmigrated_sqlite_databases_are_named(tmp_path):
    missing = create_app({**BASE_CONFIG, "SECRET_KEY": STRONG_KEY, "INSTANCE_PATH": str(tmp_path / "a"),
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'nowhere.db'}"})
    result = run_command(missing, "doctor")
    assert result.exit_code == 1 and problems(result.output) == [
        f"PROBLEM  database: no database file at {tmp_path / 'nowhere.db'}: fix SERASI_DATABASE_URL, or create it with `serasi-web db upgrade`"]
    assert not (tmp_path / "nowhere.db").exists()  # the doctor creates nothing

    sqlite3.connect(tmp_path / "empty.db").execute("CREATE TABLE notes (body TEXT)").connection.close()
    unmigrated = create_app({**BASE_CONFIG, "SECRET_KEY": STRONG_KEY, "INSTANCE_PATH": str(tmp_path / "b"),
                             "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.db'}"})
    result = run_command(unmigrated, "doctor")
    [line] = problems(result.output)
    assert result.exit_code == 1 and "not migrated" in line and "db upgrade" in line


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_database_behind_the_code_asks_for_an_upgrade(app):
    from .helpers import downgrade_the_core_one_revision

    downgrade_the_core_one_revision()
    result = run_command(app, "doctor")
    [line] = problems(result.output)
    assert "this version needs" in line and "db upgrade" in line


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_redis_down_is_one_line_and_redis_up_is_ok(another_app, redis_url):
    down = another_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/14")
    result = run_command(down, "doctor")
    [line] = problems(result.output)
    assert result.exit_code == 1 and line.startswith("PROBLEM  redis: cannot use redis://127.0.0.1:") and "start Redis" in line
    up = another_app(REDIS_URL=redis_url)  # the machine's Redis, or one started for the session
    result = run_command(up, "doctor")
    assert result.exit_code == 0, result.output
    assert "answers (Redis" in result.output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_weak_secret_keys_and_little_disk_space_are_problems(another_app):
    assert secret_key_problem("x" * 64) and secret_key_problem(STRONG_KEY) is None  # the rule production starts with
    for key, expected in (("short", "too short"), ("ab" * 32, "looks guessable")):
        [line] = problems(run_command(another_app(SECRET_KEY=key), "doctor").output)
        assert line.startswith("PROBLEM  secret key") and expected in line
    result = run_command(another_app(), "doctor", "--min-free-mb", str(10 ** 9))
    [line] = problems(result.output)
    assert result.exit_code == 1 and line.startswith("PROBLEM  disk: only")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_plain_http_webhook_elsewhere_is_a_problem(another_app):
    result = run_command(another_app(WEBHOOK_URL="http://receiver.example.invalid/hook", WEBHOOK_SECRET="s"), "doctor")
    [line] = problems(result.output)
    assert line.startswith("PROBLEM  forwarder webhook") and "plain HTTP" in line


# ---- SMTP with STARTTLS and a self-signed certificate ----------------------------------------

@pytest.fixture
def self_signed(tmp_path):
    certificate, key = tmp_path / "smtp.crt", tmp_path / "smtp.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(certificate)],
                   check=True, capture_output=True)
    return certificate, key


@pytest.fixture
def tls_smtp_server(self_signed):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    certificate, key = self_signed
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, key)

    class Accept:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=auth_data.login == b"office" and auth_data.password == b"right-password")

    controller = Controller(Accept(), hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True,
                            authenticator=authenticate, auth_require_tls=True)
    controller.start()
    yield controller
    controller.stop()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_smtp_with_a_self_signed_certificate_is_a_problem_until_trusted(another_app, tls_smtp_server, self_signed):
    smtp = dict(SMTP_HOST="127.0.0.1", SMTP_PORT=tls_smtp_server.port, SMTP_STARTTLS=True, SMTP_USERNAME="office",
                SMTP_PASSWORD="right-password")
    result = run_command(another_app(**smtp), "doctor")
    [line] = problems(result.output)
    assert result.exit_code == 1 and line.startswith("PROBLEM  smtp:") and "not trusted" in line and "SMTP_CA_FILE" in line

    trusted = run_command(another_app(**smtp, SMTP_CA_FILE=str(self_signed[0])), "doctor")
    assert trusted.exit_code == 0, trusted.output
    assert "TLS certificate verified, login as office accepted" in trusted.output



@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_mailer_refuses_a_self_signed_certificate_too(another_app, tls_smtp_server, self_signed):
    from serasi_web.notifications.mail import send_mail

    smtp = dict(SMTP_HOST="127.0.0.1", SMTP_PORT=tls_smtp_server.port, SMTP_STARTTLS=True, SMTP_USERNAME="office",
                SMTP_PASSWORD="right-password")
    with another_app(**smtp).app_context(), pytest.raises(ssl.SSLCertVerificationError):
        send_mail("desk@example.org", "Test", "body")
    with another_app(**smtp, SMTP_CA_FILE=str(self_signed[0])).app_context():
        send_mail("desk@example.org", "Test", "body")


@pytest.fixture
def https_receiver(self_signed):
    import threading

    from werkzeug.serving import make_server
    from werkzeug.wrappers import Response

    server = make_server("127.0.0.1", free_port(), lambda environ, start: Response("ok")(environ, start),
                         ssl_context=(str(self_signed[0]), str(self_signed[1])))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    thread.join()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_webhook_must_answer_over_tls_with_a_trusted_certificate(another_app, https_receiver, self_signed, monkeypatch):
    webhook = dict(WEBHOOK_URL=https_receiver, WEBHOOK_SECRET="s")
    [line] = problems(run_command(another_app(**webhook), "doctor").output)
    assert line.startswith("PROBLEM  forwarder webhook") and "TLS failed" in line and "REQUESTS_CA_BUNDLE" in line
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(self_signed[0]))
    result = run_command(another_app(**webhook), "doctor")
    assert result.exit_code == 0, result.output
    assert "answers over TLS" in result.output
