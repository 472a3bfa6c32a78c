"""An account an admin made logs in with the password the admin chose, and must choose its own
before anything else (then enrol two-step login when its role needs it)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from serasi_web.accounts.models import User
from serasi_web.accounts.services import password_reset_token
from serasi_web.extensions import db
from serasi_web.passwords import verify_password

from ..helpers import TEST_PASSWORD, login, make_user

GIVEN = "petugas denpasar 2026"
OWN = "my own passphrase for the office"
CHOOSE_FIRST = "Pilih kata sandi Anda sendiri dulu"


def made_by_admin(admin_client, offices, role: str) -> User:
    if role == "officer":
        data = {"full_name": "Made Petugas", "email": "made@imigrasi.example", "office_id": offices["denpasar"].id, "password": GIVEN}
        response = admin_client.post("/admin/officers/new", data=data)
    else:
        data = {"full_name": "Timpora Kuta", "email": "made@imigrasi.example", "password": GIVEN, "region_codes": "51.03.05"}
        response = admin_client.post("/admin/supervisors/new", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    user = db.session.execute(select(User).where(User.email == "made@imigrasi.example")).scalar_one()
    assert user.password_change_required
    return user


@pytest.mark.parametrize("role", ["officer", "supervisor"])
def test_an_account_an_admin_made_chooses_its_own_password_before_anything_else(app, admin_client, offices, role):
    user = made_by_admin(admin_client, offices, role)
    browser = app.test_client()
    login(browser, user.email, GIVEN)
    for path in ("/officer/inbox", "/officer/lodgings", "/notifications/settings", "/account/two-step", "/account/sessions/end-others"):
        response = browser.post(path) if path.endswith("end-others") else browser.get(path)
        assert response.status_code == 303 and response.location.endswith("/account"), path
    page = browser.get("/account")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and CHOOSE_FIRST in text and "dipilih oleh administrator" in text
    assert "Sesi Anda" not in text  # only the password form until it is done

    refused = browser.post("/account", data={"current_password": GIVEN, "password": "short", "password_again": "short"})
    assert refused.status_code == 200
    response = browser.post("/account", data={"current_password": GIVEN, "password": OWN, "password_again": OWN})
    assert response.status_code == 303 and not response.location.endswith("/account")
    assert browser.get("/officer/inbox").status_code == 200
    db.session.refresh(user)
    assert not user.password_change_required and verify_password(user.password_hash, OWN)

    # Logging out stays possible at any time; the next login goes straight in.
    browser.post("/logout")
    login(browser, user.email, OWN)
    assert browser.get("/officer/inbox").status_code == 200


def test_the_password_comes_before_two_step_enrolment(app, another_app, admin_client, offices):
    user = made_by_admin(admin_client, offices, "officer")
    strict = another_app(MFA_REQUIRED_ROLES=["officer", "supervisor", "admin"])
    browser = strict.test_client()
    login(browser, user.email, GIVEN)
    response = browser.get("/account/two-step")
    assert response.status_code == 303 and response.location.endswith("/account")
    response = browser.post("/account", data={"current_password": GIVEN, "password": OWN, "password_again": OWN})
    assert response.status_code == 303
    response = browser.get(response.location)
    assert response.status_code == 303 and response.location.endswith("/account/two-step")
    assert browser.get("/account/two-step").status_code == 200


def test_logging_out_works_before_the_password_is_changed(app, admin_client, offices):
    user = made_by_admin(admin_client, offices, "officer")
    browser = app.test_client()
    login(browser, user.email, GIVEN)
    assert browser.post("/logout").status_code == 303
    assert browser.get("/officer/inbox").status_code == 302  # to the login page


def test_a_reset_by_e_mail_also_counts_as_choosing_the_password(app, admin_client, offices):
    user = made_by_admin(admin_client, offices, "officer")
    response = app.test_client().post(f"/password/reset/{password_reset_token(user)}", data={"password": OWN, "password_again": OWN})
    assert response.status_code == 303
    db.session.refresh(user)
    assert not user.password_change_required


def test_demo_logins_self_sign_up_and_the_command_line_admin_are_not_asked(app, monkeypatch):
    from serasi_web.demo import load_demo_data

    demo_logins = load_demo_data()
    db.session.commit()
    monkeypatch.setenv("SERASI_ADMIN_PASSWORD", "admin passphrase 2026")
    assert app.test_cli_runner().invoke(args=["serasi", "create-admin", "root@example.com"]).exit_code == 0
    operator = make_user("operator@example.com")
    emails = [email for _role, email, _password in demo_logins] + ["root@example.com", operator.email]
    users = db.session.execute(select(User).where(User.email.in_(emails))).scalars().all()
    assert len(users) == len(emails) and not any(user.password_change_required for user in users)
    browser = app.test_client()
    login(browser, operator.email, TEST_PASSWORD)
    assert browser.get("/dashboard").status_code == 200
    _role, email, password = next(login_ for login_ in demo_logins if login_[0] == "officer")
    login(app.test_client(), email, password)
