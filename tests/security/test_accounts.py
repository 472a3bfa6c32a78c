"""Passwords and sessions: reset by e-mail through a real SMTP server (aiosmtpd), password change
ending every other session, idle and absolute session limits, and the daily clean-up."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import func, select, update

from serasi_web.accounts.models import LoginFailure, User, UserSession
from serasi_web.accounts.services import password_reset_token
from serasi_web.audit.models import AuditEvent
from serasi_web.database import utcnow
from serasi_web.extensions import db
from serasi_web.jobs import get_huey
from serasi_web.passwords import verify_password

from ..helpers import TEST_PASSWORD, csrf_token, login, make_user
from ..test_forwarders import smtp_server  # noqa: F401  (the aiosmtpd fixture)

NEW_PASSWORD = "a brand new passphrase for the kos"
GENERIC_ANSWER = "Jika ada akun yang memakai alamat ini"  # the same for every address (Indonesian by default)


@pytest.fixture
def mail_app(another_app, smtp_server):  # noqa: F811
    return another_app(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port, PUBLIC_URL="https://serasi.example")


def logged_in(app, email: str, password: str = TEST_PASSWORD):
    client = app.test_client()
    login(client, email, password)
    return client


def is_logged_in(client) -> bool:
    response = client.get("/account")
    return response.status_code == 200


def reset_link(smtp_server) -> str:  # noqa: F811
    (_recipients, message), = smtp_server.messages
    found = re.search(r"https://serasi\.example(/password/reset/\S+)", message.get_content())
    assert found, message.get_content()
    return found.group(1)


def test_a_kos_owner_resets_a_forgotten_password_by_e_mail_and_the_old_sessions_end(app, mail_app, smtp_server):  # noqa: F811
    owner = make_user("kos.owner@example.com")
    phone = logged_in(mail_app, owner.email)  # a session left open on another device
    laptop = mail_app.test_client()

    page = laptop.get("/login").get_data(as_text=True)
    assert 'href="/password/forgot"' in page
    response = laptop.post("/password/forgot", data={"email": "Kos.Owner@example.com "})
    assert response.status_code == 303 and response.location.endswith("/login")
    assert GENERIC_ANSWER in laptop.get("/login").get_data(as_text=True)

    (recipients, message), = smtp_server.messages
    assert recipients == ["kos.owner@example.com"]
    assert message["Subject"] == "Pilih kata sandi baru SERASI Web"  # Indonesian, and no name in it
    assert "Kos.Owner" in message.get_content() and "30" in message.get_content()
    link = reset_link(smtp_server)

    form = laptop.get(link)
    assert form.status_code == 200 and "Kata sandi baru" in form.get_data(as_text=True)
    assert form.headers["Referrer-Policy"] == "same-origin"  # the token in the URL goes to no other site
    refused = laptop.post(link, data={"password": "short", "password_again": "short"})
    assert refused.status_code == 200 and "minimal 8" in refused.get_data(as_text=True).lower()
    response = laptop.post(link, data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert response.status_code == 303 and response.location.endswith("/login")

    db.session.refresh(owner)
    assert verify_password(owner.password_hash, NEW_PASSWORD)
    assert not is_logged_in(phone)  # the session left open has ended
    assert db.session.execute(select(func.count()).select_from(UserSession)).scalar() == 0
    assert db.session.execute(select(AuditEvent.action).where(AuditEvent.object_id == owner.id)).scalars().all() == ["account.password_reset"]

    # The link works once.
    used = laptop.get(link)
    assert used.status_code == 404 and "tidak berlaku" in used.get_data(as_text=True)
    assert laptop.post(link, data={"password": "another long passphrase", "password_again": "another long passphrase"}).status_code == 404
    db.session.refresh(owner)
    assert verify_password(owner.password_hash, NEW_PASSWORD)

    # The old password no longer opens the account; the new one does.
    assert "salah" in laptop.post("/login", data={"email": owner.email, "password": TEST_PASSWORD}).get_data(as_text=True)
    login(laptop, owner.email, NEW_PASSWORD)


def test_the_forgot_password_answer_does_not_reveal_who_has_an_account(app, mail_app, smtp_server):  # noqa: F811
    make_user("known@example.com")
    disabled = make_user("disabled@example.com")
    disabled.enabled = False
    db.session.commit()
    answers = []
    for address in ("known@example.com", "nobody@example.com", "disabled@example.com"):
        client = mail_app.test_client()
        response = client.post("/password/forgot", data={"email": address})
        answers.append((response.status_code, response.location, GENERIC_ANSWER in client.get("/login").get_data(as_text=True)))
    assert answers[0] == answers[1] == answers[2] == (303, "/login", True)
    assert [recipients for recipients, _ in smtp_server.messages] == [["known@example.com"]]


def test_reset_mails_are_limited_per_account_and_per_address(app, another_app, smtp_server):  # noqa: F811
    limited = another_app(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port, PASSWORD_RESET_RATE_LIMIT="2 per hour")
    make_user("flooded@example.com")
    for _ in range(4):
        assert limited.test_client().post("/password/forgot", data={"email": "flooded@example.com"},
                                          environ_base={"REMOTE_ADDR": f"10.0.0.{_ + 1}"}).status_code == 303
    assert len(smtp_server.messages) == 2  # the account's limit, whatever the addresses


@pytest.mark.parametrize("case", ["expired", "tampered", "other key", "disabled account", "garbage", "wrong shape"])
def test_expired_forged_and_misused_reset_links_are_refused(app, case, monkeypatch):
    user = make_user("forgetful@example.com")
    if case == "expired":
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 31 * 60)
        token = password_reset_token(user)
        monkeypatch.undo()
    elif case == "tampered":
        token = password_reset_token(user)
        token = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    elif case == "other key":
        from itsdangerous import URLSafeTimedSerializer

        token = URLSafeTimedSerializer("another-secret-key-" + "y" * 32, salt="serasi.password-reset").dumps({"user": user.id, "password": "x"})
    elif case == "disabled account":
        token = password_reset_token(user)
        user.enabled = False
        db.session.commit()
    elif case == "garbage":
        token = "%00" + "x" * 3000
    else:
        from itsdangerous import URLSafeTimedSerializer

        token = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="serasi.password-reset").dumps({"user": "1e99", "password": []})
    client = app.test_client()
    before = user.password_hash
    assert client.get(f"/password/reset/{token}").status_code == 404
    response = client.post(f"/password/reset/{token}", data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert response.status_code == 404 and "tidak berlaku" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.password_hash == before


def test_a_link_29_minutes_old_still_works(app, monkeypatch):
    user = make_user("forgetful@example.com")
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 29 * 60)
    token = password_reset_token(user)
    monkeypatch.undo()
    assert app.test_client().get(f"/password/reset/{token}").status_code == 200


def test_changing_the_password_ends_every_other_session(app, operator):
    here, elsewhere = logged_in(app, operator.email), logged_in(app, operator.email)
    stolen_cookie = elsewhere.get_cookie("session").value

    page = here.get("/account")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    assert "Sesi Anda" in text and text.count("<tr>") == 3  # the header row and two sessions

    wrong = here.post("/account", data={"current_password": "not my password", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert wrong.status_code == 200 and "bukan kata sandi Anda saat ini" in wrong.get_data(as_text=True)
    response = here.post("/account", data={"current_password": TEST_PASSWORD, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert response.status_code == 303
    assert is_logged_in(here) and not is_logged_in(elsewhere)

    replayed = app.test_client()
    replayed.set_cookie("session", stolen_cookie)  # a cookie from before the change
    assert not is_logged_in(replayed)
    assert db.session.execute(select(AuditEvent.action).where(AuditEvent.object_id == operator.id)).scalars().all() == ["account.password_changed"]


def test_log_out_everywhere_else(app, officer):
    here, others = logged_in(app, officer.email), [logged_in(app, officer.email) for _ in range(2)]
    response = here.post("/account/sessions/end-others")
    assert response.status_code == 303
    assert "2 sesi lain telah berakhir" in here.get("/account").get_data(as_text=True)
    assert is_logged_in(here) and not any(is_logged_in(other) for other in others)


def age_sessions(user: User, *, idle: timedelta, since_login: timedelta) -> None:
    now = utcnow()
    db.session.execute(update(UserSession).where(UserSession.user_id == user.id)
                       .values(last_seen_at=now - idle, created_at=now - since_login))
    db.session.commit()


@pytest.mark.parametrize("role, idle, since_login, still_in", [
    ("officer", timedelta(minutes=29), timedelta(hours=11), True),
    ("officer", timedelta(minutes=31), timedelta(hours=1), False),  # idle
    ("officer", timedelta(minutes=1), timedelta(hours=12, minutes=1), False),  # absolute, though in use
    ("admin", timedelta(minutes=31), timedelta(hours=1), False),
    ("supervisor", timedelta(minutes=31), timedelta(hours=1), False),
    ("operator", timedelta(days=6), timedelta(days=20), True),
    ("operator", timedelta(days=7, minutes=1), timedelta(days=8), False),
    ("operator", timedelta(minutes=1), timedelta(days=30, minutes=1), False),
])
def test_sessions_end_after_the_idle_and_absolute_limits(app, offices, role, idle, since_login, still_in):
    extra = {"office_id": offices["ngurah_rai"].id} if role == "officer" else {}
    user = make_user(f"{role}@example.com", role=role, **extra)
    client = logged_in(app, user.email)
    age_sessions(user, idle=idle, since_login=since_login)
    response = client.get("/account")
    assert (response.status_code == 200) is still_in
    if not still_in:
        assert "/login" in response.location
        assert "Sesi Anda telah berakhir" in client.get(response.location).get_data(as_text=True)
        assert db.session.execute(select(func.count()).select_from(UserSession)).scalar() == 0


def test_session_limits_are_settings(app, another_app, officer):
    short = another_app(SESSION_IDLE_MINUTES_STAFF=5)
    client = logged_in(short, officer.email)
    age_sessions(officer, idle=timedelta(minutes=6), since_login=timedelta(minutes=6))
    assert not is_logged_in(client)


def test_the_daily_job_deletes_ended_sessions_and_old_login_failures(app, officer, operator):
    logged_in(app, officer.email), logged_in(app, operator.email)
    age_sessions(officer, idle=timedelta(minutes=31), since_login=timedelta(hours=1))  # ended
    age_sessions(operator, idle=timedelta(days=1), since_login=timedelta(days=2))  # still valid
    now = utcnow()
    db.session.add_all([LoginFailure(email="x@example.com", remote_addr="10.0.0.1", created_at=now - timedelta(hours=2)),
                        LoginFailure(email="x@example.com", remote_addr="10.0.0.1", created_at=now)])
    db.session.commit()
    assert get_huey(app).serasi_tasks["account_retention"].call_local() == 2
    assert db.session.execute(select(UserSession.user_id)).scalars().all() == [operator.id]
    assert db.session.execute(select(func.count()).select_from(LoginFailure)).scalar() == 1


@pytest.mark.parametrize("password", ["Kos.Owner@Example.com", "kosowner-2024!", "my KOS OWNER pass", "Ni Luh Ayu Sari 88"])
def test_a_password_made_of_the_accounts_own_e_mail_or_name_is_refused(app, password):
    client = app.test_client()
    response = client.post("/signup", data={"account_kind": "individual", "full_name": "Ni Luh Ayu Sari", "email": "kos.owner@example.com",
                                            "password": password, "password_again": password})
    assert response.status_code == 200 and "tidak boleh memuat alamat email atau nama Anda" in response.get_data(as_text=True)

    owner = make_user("kos.owner@example.com")
    owner.full_name = "Ni Luh Ayu Sari"
    db.session.commit()
    here = logged_in(app, owner.email)
    refused = here.post("/account", data={"current_password": TEST_PASSWORD, "password": password, "password_again": password})
    assert refused.status_code == 200 and "tidak boleh memuat" in refused.get_data(as_text=True)
    link = f"/password/reset/{password_reset_token(owner)}"
    refused = here.post(link, data={"password": password, "password_again": password})
    assert refused.status_code == 200 and "tidak boleh memuat" in refused.get_data(as_text=True)
    db.session.refresh(owner)
    assert verify_password(owner.password_hash, TEST_PASSWORD)


def test_the_login_gives_a_new_csrf_secret_in_its_own_cookie_so_the_first_page_sets_none(app, operator):
    client = app.test_client()
    token_before = csrf_token(client, "/login")
    response = login(client, operator.email)
    assert "session=" in response.headers["Set-Cookie"]
    with client.session_transaction() as session:
        secret = session["csrf_token"]
    first_page = client.get("/dashboard")
    assert first_page.status_code == 200 and "Set-Cookie" not in first_page.headers  # 0.5 KB less on a cold page
    token_after = csrf_token(client, "/dashboard")
    assert token_after and token_after != token_before  # rotated at the login, as the rest of the session
    with client.session_transaction() as session:
        assert session["csrf_token"] == secret
    # The form posts with the new token work.
    assert client.post("/logout", data={"csrf_token": token_after}).status_code in (302, 303)
