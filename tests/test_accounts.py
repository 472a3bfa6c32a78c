"""Sign-up, login, logout, sessions, throttling, roles."""
import pytest
from sqlalchemy import select

from serasi_web.accounts.models import LoginFailure, User, UserSession
from serasi_web.extensions import db
from serasi_web.passwords import verify_password

from .helpers import TEST_PASSWORD, login

SIGNUP = {"account_kind": "lodging_business", "full_name": "Wayan Pemilik", "email": "Wayan@Example.com",
          "password": "kos melati jimbaran 2026", "password_again": "kos melati jimbaran 2026"}


def test_operator_signs_up_and_logs_in(client):
    response = client.post("/signup", data=SIGNUP)
    assert response.status_code == 303 and response.location.endswith("/signup/sent")
    user = db.session.execute(select(User).where(User.email == "wayan@example.com")).scalar_one()
    assert user.role == "operator" and user.account_kind == "lodging_business"
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert not user.email_verified  # until the link mailed to the address is opened (tests/security/test_signup.py)
    login(client, "wayan@example.com", SIGNUP["password"])
    assert client.get("/lodgings/").status_code == 200


@pytest.mark.parametrize("password, message", [
    ("short1", "at least 8"),
    ("password123", "most common"),
    ("12345678", "most common"),
    ("x" * 129, "at most 128"),
])
def test_weak_passwords_are_refused_at_the_field(client, password, message):
    response = client.post("/signup", data={**SIGNUP, "password": password, "password_again": password}, headers={"Accept-Language": "en"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and message in page
    assert 'value="Wayan Pemilik"' in page  # the typed values come back
    assert db.session.execute(select(User)).first() is None


def test_long_passphrase_of_64_characters_is_accepted(client):
    phrase = "a long passphrase of exactly sixty-four characters is allowed ok"
    assert len(phrase) == 64
    response = client.post("/signup", data={**SIGNUP, "password": phrase, "password_again": phrase})
    assert response.status_code == 303


def test_signup_with_taken_email_answers_as_a_new_sign_up(client, operator):
    response = client.post("/signup", data={**SIGNUP, "email": operator.email.upper()}, headers={"Accept-Language": "en"})
    assert response.status_code == 303 and response.location.endswith("/signup/sent")
    assert db.session.execute(select(User.email)).scalars().all() == [operator.email]


def test_wrong_password_is_refused_without_saying_which_part(client, operator):
    page = client.post("/login", data={"email": operator.email, "password": "wrong password!"}, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "e-mail address or the password is wrong" in page
    page = client.post("/login", data={"email": "nobody@example.com", "password": "wrong password!"}, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "e-mail address or the password is wrong" in page


def test_login_starts_a_new_session(app, client, operator):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client, operator.email)
    with client.session_transaction() as session:
        assert "planted" not in session
    assert db.session.execute(select(UserSession).where(UserSession.user_id == operator.id)).scalar_one()


def test_logout_really_ends_the_session_even_for_a_copied_cookie(app, operator):
    browser = app.test_client()
    login(browser, operator.email)
    stolen = app.test_client()
    stolen.set_cookie("session", browser.get_cookie("session").value)
    assert stolen.get("/lodgings/").status_code == 200
    assert browser.post("/logout").status_code == 303
    assert stolen.get("/lodgings/").status_code == 302  # back to the login page
    assert db.session.execute(select(UserSession)).first() is None


def test_disabling_an_account_ends_its_sessions(app, operator, admin_client):
    operator_client = app.test_client()
    login(operator_client, operator.email)
    assert admin_client.post(f"/admin/users/{operator.id}/disable").status_code == 303
    assert operator_client.get("/lodgings/").status_code == 302
    page = app.test_client().post("/login", data={"email": operator.email, "password": TEST_PASSWORD}, headers={"Accept-Language": "en"})
    assert "has been disabled" in page.get_data(as_text=True)


def test_login_throttling_holds_across_processes_sharing_the_database(another_app, operator):
    """Five failures from one address make its next attempt wait, even through a second app
    (another worker). A one-minute first delay keeps the test independent of its speed."""
    first_worker, other_worker = another_app(LOGIN_DELAY_BASE_SECONDS=60), another_app(LOGIN_DELAY_BASE_SECONDS=60)
    client = first_worker.test_client()
    for _ in range(5):
        client.post("/login", data={"email": operator.email, "password": "wrong password!"})
    response = other_worker.test_client().post("/login", data={"email": operator.email, "password": TEST_PASSWORD}, headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert "Too many failed attempts. Try again in 60 seconds." in response.get_data(as_text=True)


def test_successful_login_forgives_earlier_failures(client, operator):
    for _ in range(3):
        client.post("/login", data={"email": operator.email, "password": "wrong password!"})
    login(client, operator.email)
    assert db.session.execute(select(LoginFailure).where(LoginFailure.email == operator.email)).first() is None


def test_login_redirects_only_to_local_paths(client, operator):
    response = client.post("/login?next=https://evil.example/", data={"email": operator.email, "password": TEST_PASSWORD})
    assert response.location == "/dashboard"
    response = client.post("/logout")
    response = client.post("/login?next=//evil.example/x", data={"email": operator.email, "password": TEST_PASSWORD})
    assert response.location == "/dashboard"


def test_roles_only_reach_their_pages(app, operator_client, officer_client, admin_client):
    assert operator_client.get("/admin/").status_code == 404
    assert operator_client.get("/officer/lodgings").status_code == 404
    assert officer_client.get("/admin/").status_code == 404
    assert officer_client.get("/lodgings/").status_code == 404
    assert admin_client.get("/admin/").status_code == 200
    assert app.test_client().get("/lodgings/").status_code == 302


def test_admin_creates_an_officer_of_one_office(app, admin_client, offices):
    response = admin_client.post("/admin/officers/new", data={
        "full_name": "Made Petugas", "email": "made@imigrasi.example", "office_id": offices["denpasar"].id,
        "password": "petugas denpasar 2026"})
    assert response.status_code == 303
    officer = db.session.execute(select(User).where(User.email == "made@imigrasi.example")).scalar_one()
    assert officer.role == "officer" and officer.office_id == offices["denpasar"].id
    assert verify_password(officer.password_hash, "petugas denpasar 2026")


def test_officer_form_requires_an_existing_office(admin_client, offices):
    response = admin_client.post("/admin/officers/new", data={
        "full_name": "Made", "email": "made@imigrasi.example", "office_id": 9999, "password": "petugas denpasar 2026"},
        headers={"Accept-Language": "en"})
    assert response.status_code == 200 and "Choose the office" in response.get_data(as_text=True)


def test_admin_cannot_disable_themselves(admin_client, admin):
    admin_client.post(f"/admin/users/{admin.id}/disable")
    db.session.refresh(admin)
    assert admin.enabled


def test_create_admin_command_reads_password_from_environment(app, monkeypatch):
    monkeypatch.setenv("SERASI_ADMIN_PASSWORD", "admin passphrase 2026")
    result = app.test_cli_runner().invoke(args=["serasi", "create-admin", "root@example.com"])
    assert result.exit_code == 0, result.output
    user = db.session.execute(select(User).where(User.email == "root@example.com")).scalar_one()
    assert user.role == "admin"
    monkeypatch.setenv("SERASI_ADMIN_PASSWORD", "password123")
    result = app.test_cli_runner().invoke(args=["serasi", "create-admin", "weak@example.com"])
    assert result.exit_code != 0 and "most common" in result.output


def test_create_admin_command_prompts_for_the_password(app, monkeypatch):
    monkeypatch.delenv("SERASI_ADMIN_PASSWORD", raising=False)
    result = app.test_cli_runner().invoke(args=["serasi", "create-admin", "root@example.com"],
                                          input="admin passphrase 2026\nadmin passphrase 2026\n")
    assert result.exit_code == 0, result.output
