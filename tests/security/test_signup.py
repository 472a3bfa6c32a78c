"""Sign-up: the address is verified through a link mailed by a real SMTP server (aiosmtpd); until
then the operator prepares drafts but submits nothing; the answer never reveals whether an address
has an account (its owner is told by e-mail instead)."""
from __future__ import annotations

import re
import time

import pytest
import redis
from itsdangerous import TimestampSigner
from sqlalchemy import func, select, text

from plugins.push_api.models import ApiToken
from serasi_web.accounts.models import User
from serasi_web.accounts.services import create_user, email_verification_token, password_reset_token
from serasi_web.audit.models import AuditEvent
from serasi_web.extensions import db
from serasi_web.lodgings.models import Lodging
from serasi_web.passwords import verify_password
from serasi_web.stays import services as stay_services
from serasi_web.stays.models import Stay

from ..helpers import TEST_PASSWORD, guest_form, login, lodging_values, make_user, report_guest
from ..test_forwarders import smtp_server  # noqa: F401  (the aiosmtpd fixture)

PASSWORD = "kos melati jimbaran 2026"
SIGNUP = {"account_kind": "lodging_business", "full_name": "Wayan Pemilik", "password": PASSWORD, "password_again": PASSWORD}
CHECK_YOUR_MAIL = "Periksa email Anda"
NOT_CONFIRMED = "Konfirmasi alamat email Anda"  # the banner and the refusals start so (Indonesian by default)


@pytest.fixture
def mail_app(another_app, smtp_server):  # noqa: F811
    return another_app(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port, PUBLIC_URL="https://serasi.example")


def link_in(message, path: str) -> str:
    found = re.search(rf"https://serasi\.example({path}\S*)", message.get_content())
    assert found, message.get_content()
    return found.group(1)


def main_text(response) -> str:
    page = response.get_data(as_text=True)
    return page[page.index("<main"):page.index("</main>")]


def test_a_new_operator_prepares_drafts_until_the_mailed_link_confirms_the_address(app, mail_app, smtp_server, offices):  # noqa: F811
    browser = mail_app.test_client()
    response = browser.post("/signup", data={**SIGNUP, "email": "Wayan@Example.com"})
    assert response.status_code == 303 and response.location.endswith("/signup/sent")
    assert CHECK_YOUR_MAIL in browser.get(response.location).get_data(as_text=True)
    assert browser.get("/dashboard").status_code == 302  # not logged in by the sign-up

    (recipients, message), = smtp_server.messages
    assert recipients == ["wayan@example.com"]
    assert message["Subject"] == "Konfirmasi alamat email Anda untuk SERASI Web"
    link = link_in(message, "/account/verify/")
    user = db.session.execute(select(User).where(User.email == "wayan@example.com")).scalar_one()
    assert not user.email_verified

    # Logged in, unconfirmed: a banner says why and offers the link again.
    login(browser, user.email, PASSWORD)
    dashboard = browser.get("/dashboard").get_data(as_text=True)
    assert NOT_CONFIRMED in dashboard and "Kirim tautan lagi" in dashboard

    # One lodging, through the form.
    assert browser.get("/lodgings/new").status_code == 200
    response = browser.post("/lodgings/new", data=lodging_values())
    assert response.status_code == 303
    lodging = db.session.execute(select(Lodging).where(Lodging.owner_id == user.id)).scalar_one()
    # Not a second one.
    response = browser.get("/lodgings/new")
    assert response.status_code == 303 and response.location.endswith("/account/verify")
    assert browser.post("/lodgings/new", data=lodging_values(name="Kos Kedua")).status_code == 303
    assert db.session.execute(select(func.count()).select_from(Lodging).where(Lodging.owner_id == user.id)).scalar() == 1

    # A draft, yes; submitting, no (the typed values come back with the reason).
    refused = browser.post(f"/lodgings/{lodging.id}/stays/new", data=guest_form())
    assert refused.status_code == 200
    assert "sebelum mengirim laporan" in refused.get_data(as_text=True) and 'value="Eriksson"' in refused.get_data(as_text=True)
    draft = browser.post(f"/lodgings/{lodging.id}/stays/new", data=guest_form(action="draft", stay_permit="itk"))
    assert draft.status_code == 303
    stay = db.session.execute(select(Stay).where(Stay.lodging_id == lodging.id)).scalar_one()
    assert stay.status == "draft"
    assert browser.post(f"/stays/{stay.id}/edit", data=guest_form(stay_permit="itk")).status_code == 200
    db.session.refresh(stay)
    assert stay.status == "draft" and stay.receipt_number is None

    # A group's "submit all", and an API token, wait too.
    group = stay_services.create_group(lodging, {"check_in_at": stay.check_in_at, "purpose": "tourism"}, user)
    stay.group_id = group.id
    db.session.commit()
    response = browser.post(f"/groups/{group.id}/submit")
    assert response.status_code == 303
    assert "sebelum mengirim laporan" in browser.get(response.location).get_data(as_text=True)
    db.session.refresh(stay)
    assert stay.status == "draft"
    refused = browser.post(f"/lodgings/{lodging.id}/api-tokens", data={"name": "PMS"})
    assert refused.status_code == 200 and "sebelum membuat token API" in refused.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(ApiToken)).scalar() == 0

    # The link confirms the address once; then reports go, and more lodgings.
    response = browser.get(link)
    assert response.status_code == 302 and response.location.endswith("/dashboard")
    assert NOT_CONFIRMED not in browser.get("/dashboard").get_data(as_text=True)
    db.session.refresh(user)
    assert user.email_verified
    assert db.session.execute(select(AuditEvent.action).where(AuditEvent.object_id == user.id, AuditEvent.action.like("account.%"))
                              ).scalars().all() == ["account.email_verified"]
    used = mail_app.test_client().get(link)
    assert used.status_code == 404 and "tidak berlaku" in used.get_data(as_text=True)

    assert report_guest(browser, lodging, document_number="X1234567")
    assert browser.get("/lodgings/new").status_code == 200
    assert browser.post(f"/lodgings/{lodging.id}/api-tokens", data={"name": "PMS"}).status_code == 200
    assert db.session.execute(select(func.count()).select_from(ApiToken)).scalar() == 1


def test_signing_up_with_an_address_that_has_an_account_reveals_nothing_and_tells_its_owner(app, mail_app, smtp_server):  # noqa: F811
    owner = make_user("known@example.com")
    answers = []
    for address in ("new@example.com", "Known@Example.com "):
        browser = mail_app.test_client()
        response = browser.post("/signup", data={**SIGNUP, "email": address})
        answers.append((response.status_code, response.location, main_text(browser.get(response.location))))
    assert answers[0] == answers[1]
    assert answers[0][:2] == (303, "/signup/sent") and CHECK_YOUR_MAIL in answers[0][2]

    assert db.session.execute(select(User.email).order_by(User.id)).scalars().all() == ["known@example.com", "new@example.com"]
    db.session.refresh(owner)
    assert verify_password(owner.password_hash, TEST_PASSWORD)  # nothing about the account changed

    (new_to, new_message), (owner_to, notice) = smtp_server.messages
    assert new_to == ["new@example.com"] and "/account/verify/" in new_message.get_content()
    assert owner_to == ["known@example.com"]
    assert notice["Subject"] == "Seseorang mencoba mendaftar di SERASI Web dengan alamat Anda"
    body = notice.get_content()
    assert "Known" in body and "https://serasi.example/password/forgot" in body and "https://serasi.example/login" in body
    assert "/account/verify/" not in body and "/password/reset/" not in body  # no link that acts by itself


def test_the_owner_notices_are_limited_so_sign_up_cannot_flood_a_mailbox(app, mail_app, smtp_server):  # noqa: F811
    make_user("known@example.com")
    for number in range(5):
        response = mail_app.test_client().post("/signup", data={**SIGNUP, "email": "known@example.com"},
                                               environ_base={"REMOTE_ADDR": f"10.0.0.{number + 1}"})
        assert response.status_code == 303 and response.location.endswith("/signup/sent")
    assert len(smtp_server.messages) == 3  # EMAIL_VERIFICATION_RATE_LIMIT per account, whatever the addresses


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_send_the_link_again_is_rate_limited(app, another_app, smtp_server, storage, request):  # noqa: F811
    settings = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_server.port, "PUBLIC_URL": "https://serasi.example"}
    if storage == "redis":
        url = request.getfixturevalue("redis_url")
        redis.Redis.from_url(url).flushdb()  # counts left by earlier tests for the same user id
        settings["RATELIMIT_STORAGE_URI"] = url
    mail_app = another_app(**settings)
    user = create_user(email="late@example.com", password=PASSWORD, full_name="Late Reader", account_kind="individual",
                       email_verified=False)
    db.session.commit()
    browser = mail_app.test_client()
    login(browser, user.email, PASSWORD)
    page = browser.get("/account/verify").get_data(as_text=True)
    assert "Kirim tautan lagi" in page and "late@example.com" in page
    for attempt in range(4):
        response = browser.post("/account/verify")
        assert response.status_code == 303 and response.location.endswith("/account/verify")
        answer = browser.get(response.location).get_data(as_text=True)
        assert ("Kami telah mengirim tautan baru" in answer) is (attempt < 3)
    assert len(smtp_server.messages) == 3
    # Every link sent works (not only the last), and confirms the address once.
    first = link_in(smtp_server.messages[0][1], "/account/verify/")
    assert browser.get(first).status_code == 302
    db.session.refresh(user)
    assert user.email_verified
    assert browser.get("/account/verify").status_code == 302  # nothing left to confirm


@pytest.mark.parametrize("case", ["expired", "tampered", "reset link", "other address", "garbage", "wrong shape"])
def test_expired_forged_and_misused_verification_links_are_refused(app, case, monkeypatch):
    user = create_user(email="slow@example.com", password=PASSWORD, full_name="Slow Reader", account_kind="individual",
                       email_verified=False)
    db.session.commit()
    if case == "expired":
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 8 * 24 * 3600)
        token = email_verification_token(user)
        monkeypatch.undo()
    elif case == "tampered":
        token = email_verification_token(user)
        token = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    elif case == "reset link":
        token = password_reset_token(user)  # signed by the same key, for another purpose
    elif case == "other address":
        token = email_verification_token(user)
        user.email = "someone.else@example.com"
        db.session.commit()
    elif case == "garbage":
        token = "%00" + "x" * 3000
    else:
        from itsdangerous import URLSafeTimedSerializer

        token = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="serasi.email-verification").dumps({"user": "1e99", "email": []})
    response = app.test_client().get(f"/account/verify/{token}")
    assert response.status_code == 404 and "tidak berlaku" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert not user.email_verified


def test_a_password_reset_through_the_mailbox_confirms_the_address_too(app):
    user = create_user(email="forgetful@example.com", password=PASSWORD, full_name="Forgetful", account_kind="individual",
                       email_verified=False)
    db.session.commit()
    new_password = "another long passphrase"
    response = app.test_client().post(f"/password/reset/{password_reset_token(user)}",
                                      data={"password": new_password, "password_again": new_password})
    assert response.status_code == 303
    db.session.refresh(user)
    assert user.email_verified


def test_accounts_made_by_an_admin_the_command_line_or_the_demo_count_as_verified(app, admin_client, offices, monkeypatch):
    assert admin_client.post("/admin/officers/new", data={"full_name": "Made Petugas", "email": "made@imigrasi.example",
                                                          "office_id": offices["denpasar"].id, "password": "petugas denpasar 2026"}).status_code == 303
    monkeypatch.setenv("SERASI_ADMIN_PASSWORD", "admin passphrase 2026")
    assert app.test_cli_runner().invoke(args=["serasi", "create-admin", "root@example.com"]).exit_code == 0
    from serasi_web.demo import load_demo_data

    demo_logins = load_demo_data()
    db.session.commit()
    emails = ["made@imigrasi.example", "root@example.com"] + [email for _role, email, _password in demo_logins]
    users = db.session.execute(select(User).where(User.email.in_(emails))).scalars().all()
    assert len(users) == len(emails) and all(user.email_verified for user in users)


def test_the_migration_marks_every_existing_account_verified(app):
    from flask_migrate import downgrade

    from serasi_web.database import upgrade_schema

    operator = make_user("before.upgrade@example.com")
    created_at = operator.created_at
    db.session.commit()
    db.session.remove()
    downgrade(revision="0012")
    try:
        with db.engine.begin() as connection:
            columns = connection.execute(text("SELECT * FROM user_account")).keys()
            assert "email_verified_at" not in columns
    finally:
        upgrade_schema()
    user = db.session.execute(select(User).where(User.email == "before.upgrade@example.com")).scalar_one()
    assert user.email_verified and user.email_verified_at == created_at and not user.password_change_required


def test_without_a_mail_server_the_link_goes_to_the_log_outside_production(app, caplog):
    """``make run`` has no mail server: the developer follows the link from the terminal."""
    browser = app.test_client()
    with caplog.at_level("WARNING", logger="serasi_web"):
        assert browser.post("/signup", data={**SIGNUP, "email": "dev@example.com"}).status_code == 303
    found = re.search(r"http://localhost(/account/verify/\S+)", caplog.text)
    assert found, caplog.text
    login(browser, "dev@example.com", PASSWORD)
    assert browser.get(found.group(1)).status_code == 302
    assert db.session.execute(select(User).where(User.email == "dev@example.com")).scalar_one().email_verified


def test_the_api_submits_nothing_for_an_unconfirmed_owner_either(app, offices):
    """The rule sits where every submission passes (report_problems), not only in the forms: a
    token that exists for an unconfirmed owner (made outside the form) still reports nothing."""
    import json

    from plugins.push_api.tokens import create_token

    from ..helpers import make_lodging
    from ..test_api import stay_body

    owner = create_user(email="pms.owner@example.com", password=PASSWORD, full_name="PMS Owner", account_kind="lodging_business",
                        email_verified=False)
    db.session.commit()
    lodging = make_lodging(owner)
    token = create_token(lodging, "Front desk PMS", owner)
    response = app.test_client().put("/api/v1/stays/RES-1", data=json.dumps(stay_body()), content_type="application/json",
                                     headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    assert response.status_code == 422 and "Confirm your e-mail address" in response.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(Stay)).scalar() == 0
