"""Two-step login (TOTP, RFC 6238) with recovery codes: required for officers, supervision teams
and admins, optional for operators; replayed, drifting, wrong and throttled codes; a lost phone;
an admin's reset. The tests' other files turn it off (conftest); here it is on, as in production."""
from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from serasi_web.accounts import mfa
from serasi_web.accounts.models import MfaRecoveryCode, MfaTotp, UserSession
from serasi_web.audit.models import AuditEvent
from serasi_web.extensions import db

from ..helpers import TEST_PASSWORD, make_user


@pytest.fixture
def app_config(app_config):
    return {**app_config, "MFA_REQUIRED_ROLES": ["officer", "supervisor", "admin"]}


def password_step(client, email: str, password: str = TEST_PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def enrol(client) -> tuple[str, list[str]]:
    """Enrol the logged-in account's app: (the secret, the recovery codes shown)."""
    page = client.get("/account/two-step").get_data(as_text=True)
    secret = re.search(r'<code id="totp-secret">([^<]+)</code>', page).group(1).replace(" ", "")
    assert "<svg" in page  # the QR code to scan
    response = client.post("/account/two-step", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200, response.get_data(as_text=True)[:1000]
    codes = re.findall(r"<li><code>([A-Z0-9]{5}-[A-Z0-9]{5})</code></li>", response.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def code_of(secret: str, steps_from_now: int = 0) -> str:
    return pyotp.TOTP(secret).generate_otp(int(time.time() // 30) + steps_from_now)


def actions_of(user) -> list[str]:
    return db.session.execute(select(AuditEvent.action).where(AuditEvent.object_id == user.id, AuditEvent.object_type == "User")
                              .order_by(AuditEvent.id)).scalars().all()


def test_an_officer_must_enrol_then_logs_in_with_password_and_code(app, officer):
    client = app.test_client()
    assert password_step(client, officer.email).status_code == 303
    response = client.get("/officer/inbox")
    assert response.status_code == 303 and response.location.endswith("/account/two-step")  # nothing else until enrolled
    page = client.get("/account/two-step").get_data(as_text=True)
    assert "Peran Anda mewajibkan" in page

    wrong = client.post("/account/two-step", data={"code": "000000"})
    assert wrong.status_code == 200 and "Kode ini salah" in wrong.get_data(as_text=True)
    secret, codes = enrol(client)
    assert client.get("/officer/inbox").status_code == 200
    stored = db.session.execute(select(MfaRecoveryCode.code_hash).where(MfaRecoveryCode.user_id == officer.id)).scalars().all()
    assert len(stored) == 10 and not set(stored) & ({code.replace("-", "") for code in codes} | set(codes))  # stored hashed
    assert "account.mfa_enabled" in actions_of(officer)

    # The next login: the password alone opens nothing.
    client.post("/logout")
    response = password_step(client, officer.email)
    assert response.status_code == 303 and response.location.endswith("/login/code")
    assert "/login" in client.get("/officer/inbox").location
    assert db.session.execute(select(UserSession).where(UserSession.user_id == officer.id)).first() is None
    response = client.post("/login/code", data={"code": code_of(secret, +1)})  # the phone's clock runs a little ahead
    assert response.status_code == 303
    assert client.get("/officer/inbox").status_code == 200


def test_a_code_is_never_accepted_twice(app, officer):
    client = app.test_client()
    password_step(client, officer.email)
    secret, _codes = enrol(client)
    used = code_of(secret)  # enrolment used the current step (or the one before it)
    client.post("/logout")
    password_step(client, officer.email)
    for code in (code_of(secret, -1), used):
        replayed = client.post("/login/code", data={"code": code})
        assert replayed.status_code == 200 and "sudah dipakai" in replayed.get_data(as_text=True)


def test_clock_drift_of_one_step_is_accepted_and_more_is_not(app, officer):
    row = mfa.pending_enrolment(officer)
    now = 1_800_000_000.0
    step = int(now // 30)
    totp = pyotp.TOTP(row.secret)
    assert not mfa.check_totp(row, totp.generate_otp(step - 2), now)
    assert not mfa.check_totp(row, totp.generate_otp(step + 2), now)
    assert mfa.check_totp(row, totp.generate_otp(step - 1), now)
    assert mfa.check_totp(row, totp.generate_otp(step + 1), now)
    assert not mfa.check_totp(row, totp.generate_otp(step), now)  # older than the code just used
    assert not mfa.check_totp(row, "12345", now) and not mfa.check_totp(row, "abcdef", now) and not mfa.check_totp(row, "", now)


def test_a_lost_phone_a_recovery_code_then_a_new_phone(app, officer):
    client = app.test_client()
    password_step(client, officer.email)
    old_secret, codes = enrol(client)
    client.post("/logout")

    password_step(client, officer.email)
    response = client.post("/login/code", data={"code": codes[3].lower()})
    assert response.status_code == 303
    assert "9 kode pemulihan" in client.get(response.location, follow_redirects=True).get_data(as_text=True)
    assert "account.mfa_recovery_code_used" in actions_of(officer)

    # The new phone replaces the old one.
    refused = client.post("/account/two-step", data={"action": "replace", "password": "wrong password"})
    assert "bukan kata sandi Anda saat ini" in refused.get_data(as_text=True)
    assert client.post("/account/two-step", data={"action": "replace", "password": TEST_PASSWORD}).status_code == 303
    assert client.get("/officer/inbox").location.endswith("/account/two-step")  # must enrol again
    new_secret, _ = enrol(client)
    assert new_secret != old_secret
    client.post("/logout")

    password_step(client, officer.email)
    for code in (codes[3], codes[0], code_of(old_secret)):  # a spent code; the old set; the old phone
        refused = client.post("/login/code", data={"code": code})
        assert refused.status_code == 200 and "salah" in refused.get_data(as_text=True)


def test_wrong_codes_are_throttled_per_account(app, officer):
    client = app.test_client()
    password_step(client, officer.email)
    secret, _ = enrol(client)
    client.post("/logout")
    password_step(client, officer.email)
    for _ in range(5):
        assert "salah" in client.post("/login/code", data={"code": "000000"}).get_data(as_text=True)
    throttled = client.post("/login/code", data={"code": code_of(secret, +1)})
    assert throttled.status_code == 200 and "Terlalu banyak kode salah" in throttled.get_data(as_text=True)
    assert db.session.execute(select(UserSession).where(UserSession.user_id == officer.id)).first() is None


def test_the_second_step_waits_five_minutes_for_the_code(app, officer):
    client = app.test_client()
    password_step(client, officer.email)
    secret, _ = enrol(client)
    client.post("/logout")
    password_step(client, officer.email)
    with client.session_transaction() as cookie:
        cookie["serasi_mfa_since"] -= 301
    response = client.post("/login/code", data={"code": code_of(secret, +1)})
    assert response.status_code == 303 and response.location.endswith("/login")
    assert client.get("/login/code").location.endswith("/login")  # no second step without the password


def test_operators_may_turn_two_step_login_on_and_off_officers_may_not_turn_it_off(app, operator, officer):
    client = app.test_client()
    password_step(client, operator.email)
    assert client.get("/dashboard").status_code == 200  # optional: no enrolment asked
    assert "Peran Anda mewajibkan" not in client.get("/account/two-step").get_data(as_text=True)
    enrol(client)
    client.post("/logout")
    assert password_step(client, operator.email).location.endswith("/login/code")
    assert client.get("/login/code").status_code == 200
    # Turning it off needs the password.
    row = db.session.get(MfaTotp, operator.id)
    client.post("/login/code", data={"code": pyotp.TOTP(row.secret).generate_otp(row.last_step + 1)})
    assert client.post("/account/two-step", data={"action": "disable", "password": TEST_PASSWORD}).status_code == 303
    assert not mfa.has_mfa(operator)

    officer_client = app.test_client()
    password_step(officer_client, officer.email)
    enrol(officer_client)
    refused = officer_client.post("/account/two-step", data={"action": "disable", "password": TEST_PASSWORD})
    assert refused.status_code == 200 and mfa.has_mfa(officer)


def test_an_admin_resets_a_users_two_step_login_and_it_is_audited(app, officer):
    admin = make_user("admin@example.com", role="admin")
    officer_client, admin_client = app.test_client(), app.test_client()
    password_step(officer_client, officer.email)
    enrol(officer_client)
    password_step(admin_client, admin.email)
    enrol(admin_client)

    response = admin_client.post(f"/admin/users/{officer.id}/two-step/reset")
    assert response.status_code == 303
    assert not mfa.has_mfa(officer) and db.session.execute(select(MfaRecoveryCode).where(MfaRecoveryCode.user_id == officer.id)).first() is None
    assert officer_client.get("/officer/inbox").location.endswith("/login?next=%2Fofficer%2Finbox")  # its sessions ended
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "account.mfa_reset_by_admin")).scalar_one()
    assert event.object_id == officer.id and event.actor_id == admin.id
    # Only an admin may.
    assert officer_client.post(f"/admin/users/{admin.id}/two-step/reset").status_code in (302, 303, 404)
    assert mfa.has_mfa(admin)


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_officer_logs_in_with_password_and_code_in_a_real_browser_with_the_csp_enforced(app, officer):
    from playwright.sync_api import expect

    from ..browser import chromium, live_server, log_out

    with live_server(app) as base_url, chromium() as browser:
        page = browser.new_context(locale="id", extra_http_headers={"Accept-Language": "id"}).new_page()
        page.set_default_timeout(10_000)
        page.goto(base_url + "/login")
        page.fill("#email", officer.email)
        page.fill("#password", TEST_PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url("**/account/two-step")
        secret = page.inner_text("#totp-secret").replace(" ", "")
        expect(page.locator(".qr svg")).to_have_count(1)
        page.fill("#code", pyotp.TOTP(secret).now())
        page.click("main form button[type=submit]")
        expect(page.locator("#recovery-codes li")).to_have_count(10)
        log_out(page)
        page.wait_for_url(base_url + "/")

        page.goto(base_url + "/login")
        page.fill("#email", officer.email)
        page.fill("#password", TEST_PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url("**/login/code")
        page.fill("#code", code_of(secret, +1))
        page.click("main form button[type=submit]")
        page.wait_for_url("**/officer/lodgings")
        expect(page.locator("h1")).to_be_visible()
