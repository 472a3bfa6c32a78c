"""Production mode refuses unsafe settings, and absolute links come from SERASI_PUBLIC_URL only."""
from __future__ import annotations

import re
import secrets
from types import SimpleNamespace

import pytest

from serasi_web import create_app
from serasi_web.config import ConfigurationError, secret_key_problem

GOOD_KEY = secrets.token_hex(32)
CREDENTIALS_KEY = "q8Xn3z0m8l7Qp3s9H2bV6cK1tR4wY5uE0aJ7dF2gL3M="  # a Fernet key (32 bytes, base64)
PUBLIC = "https://serasi.kanim-ngurahrai.example"


@pytest.fixture
def production(monkeypatch, tmp_path):
    for variable in ("SERASI_SECRET_KEY", "SERASI_PUBLIC_URL", "SERASI_SESSION_COOKIE_SECURE", "FLASK_DEBUG"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("SERASI_ENV", "production")
    monkeypatch.setenv("SERASI_SOURCE_CREDENTIALS_KEY", CREDENTIALS_KEY)

    def start(**environment):
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        return create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return start


def test_a_safe_production_configuration_starts_with_secure_cookies(production):
    app = production(SERASI_SECRET_KEY=GOOD_KEY, SERASI_PUBLIC_URL=PUBLIC)
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["SECRET_KEY"] == GOOD_KEY


@pytest.mark.parametrize("environment, complaint", [
    ({"SERASI_PUBLIC_URL": PUBLIC}, "SERASI_SECRET_KEY must be set"),
    ({"SERASI_SECRET_KEY": "short", "SERASI_PUBLIC_URL": PUBLIC}, "too short"),
    ({"SERASI_SECRET_KEY": "k" * 64, "SERASI_PUBLIC_URL": PUBLIC}, "looks guessable"),
    ({"SERASI_SECRET_KEY": "abcdefgh" * 8, "SERASI_PUBLIC_URL": PUBLIC}, "looks guessable"),
    ({"SERASI_SECRET_KEY": "change-me-please-to-a-long-random-value!", "SERASI_PUBLIC_URL": PUBLIC}, "looks guessable"),
    ({"SERASI_SECRET_KEY": GOOD_KEY}, "SERASI_PUBLIC_URL must be set"),
    ({"SERASI_SECRET_KEY": GOOD_KEY, "SERASI_PUBLIC_URL": "http://serasi.example"}, "must start with https://"),
    ({"SERASI_SECRET_KEY": GOOD_KEY, "SERASI_PUBLIC_URL": PUBLIC, "SERASI_SESSION_COOKIE_SECURE": "0"}, "Secure"),
    ({"SERASI_SECRET_KEY": GOOD_KEY, "SERASI_PUBLIC_URL": PUBLIC, "FLASK_DEBUG": "1"}, "Debug mode is on"),
    ({"SERASI_SECRET_KEY": GOOD_KEY, "SERASI_PUBLIC_URL": PUBLIC, "SERASI_SOURCE_CREDENTIALS_KEY": "not-a-key"}, "not a Fernet key"),
])
def test_production_refuses_an_unsafe_setting_with_one_sentence_saying_how_to_fix_it(production, environment, complaint):
    with pytest.raises(ConfigurationError) as raised:
        production(**environment)
    assert complaint in str(raised.value) and "\n" not in str(raised.value)


def test_production_refuses_to_start_without_a_key_for_the_sources_credentials(production, monkeypatch):
    monkeypatch.delenv("SERASI_SOURCE_CREDENTIALS_KEY")
    with pytest.raises(ConfigurationError) as raised:
        production(SERASI_SECRET_KEY=GOOD_KEY, SERASI_PUBLIC_URL=PUBLIC)
    assert "SERASI_SOURCE_CREDENTIALS_KEY must be set" in str(raised.value)


def test_development_keeps_a_generated_key_and_plain_http(tmp_path, monkeypatch):
    monkeypatch.delenv("SERASI_ENV", raising=False)
    monkeypatch.delenv("SERASI_SECRET_KEY", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert secret_key_problem(app.config["SECRET_KEY"]) is None and not app.config.get("SESSION_COOKIE_SECURE")


def test_the_command_line_says_what_to_fix_in_one_line(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {key: value for key, value in os.environ.items() if not key.startswith(("SERASI_", "FLASK_"))}
    env.update(SERASI_ENV="production", SERASI_INSTANCE_PATH=str(tmp_path), SERASI_PUBLIC_URL=PUBLIC)
    console = str(Path(sys.executable).parent / "serasi-web")
    result = subprocess.run([console, "db", "current"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "SERASI_SECRET_KEY must be set" in result.stderr

    env.update(SERASI_SECRET_KEY=GOOD_KEY, SERASI_SOURCE_CREDENTIALS_KEY=CREDENTIALS_KEY, SERASI_DATABASE_URL="postgresql://nobody@127.0.0.1:1/nothing")
    result = subprocess.run([console, "serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1
    assert "cannot reach the database" in result.stderr and "SERASI_DATABASE_URL" in result.stderr

    env["SERASI_DATABASE_URL"] = f"sqlite:///{tmp_path / 'empty.db'}"
    result = subprocess.run([console, "worker"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "serasi-web db upgrade" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_absolute_links_come_from_public_url_never_from_request_headers(another_app, operator, offices):
    from plugins.push_api.tokens import create_token
    from serasi_web.extensions import db

    from .helpers import login, make_lodging, report_guest

    app = another_app(PUBLIC_URL=PUBLIC + "/serasi/", TRUSTED_PROXY_COUNT=1)
    client = app.test_client()
    with app.app_context():
        lodging = make_lodging(db.session.merge(operator))
        token = create_token(lodging, "PMS", db.session.merge(operator))
        db.session.commit()
        lodging = SimpleNamespace(id=lodging.id)
    # The session cookie belongs to the test client's host, so the page gets the forwarded headers
    # only; the API (a token, no cookie) gets a forged Host too.
    hostile = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}

    login(client, operator.email)
    stay_id = report_guest(client, lodging)
    receipt = client.get(f"/stays/{stay_id}/receipt", headers=hostile).get_data(as_text=True)
    assert "evil.example" not in receipt
    assert re.search(re.escape(PUBLIC) + r"/serasi/verify/[\w.-]+", receipt)

    body = {"guest": {"surname": "Tanaka", "sex": "F", "date_of_birth": "1992-04-05", "nationality": "JPN"},
            "document": {"number": "TZ1234567", "issuing_state": "JPN", "expiry_date": "2031-01-01"},
            "permit": {"kind": "bvk", "entry_date": "2026-01-01"},
            "stay": {"check_in": _an_hour_ago(), "purpose": "tourism"}}
    answer = app.test_client().put("/api/v1/stays/pms-1", json=body, headers={"Authorization": f"Bearer {token}", "Host": "evil.example", **hostile})
    assert answer.status_code == 201, answer.json
    assert answer.json["links"]["self"] == PUBLIC + "/serasi/api/v1/stays/pms-1"
    assert answer.json["links"]["receipt_verification"].startswith(PUBLIC + "/serasi/verify/")


def _an_hour_ago() -> str:
    from .helpers import local_now

    return local_now(delta_hours=-1)
