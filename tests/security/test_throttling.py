"""Login throttling without lockout abuse: growing delays per (account, client address) and per
client address, never per account alone; behind a proxy only ``TRUSTED_PROXY_COUNT`` decides
the client address, so a made-up ``X-Forwarded-For`` neither evades nor resets a count.

The first delay is set to a minute here (``LOGIN_DELAY_BASE_SECONDS``; 1 s by default) and time
passes by moving the stored failures back, so no test depends on its own speed."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from serasi_web.accounts.models import LoginFailure
from serasi_web.database import utcnow
from serasi_web.extensions import db

from ..helpers import TEST_PASSWORD, make_user

WAIT = "Terlalu banyak percobaan gagal. Coba lagi dalam {} detik."
WRONG = "Alamat email atau kata sandi salah."


@pytest.fixture
def throttled_app(another_app):
    return another_app(LOGIN_DELAY_BASE_SECONDS=60)


def attempt(app, email: str, password: str, address: str = "198.51.100.7", forwarded_for: str | None = None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return app.test_client().post("/login", data={"email": email, "password": password},
                                  environ_base={"REMOTE_ADDR": address}, headers=headers)


def answer(response) -> str:
    if response.status_code == 303:
        return "logged in"
    page = response.get_data(as_text=True)
    if "Terlalu banyak percobaan gagal" in page:
        return WAIT.format(page.split("Coba lagi dalam ")[1].split(" detik")[0])
    assert WRONG in page, page[:2000]
    return WRONG


def let_time_pass(seconds: int) -> None:
    for failure in db.session.execute(select(LoginFailure)).scalars():
        failure.created_at -= timedelta(seconds=seconds)
    db.session.commit()


def test_after_five_failures_each_attempt_waits_twice_as_long_up_to_the_cap(app, throttled_app, operator):
    for _ in range(5):
        assert answer(attempt(throttled_app, operator.email, "wrong password!")) == WRONG
    # Refused without checking the password, the right one included, and told how long to wait.
    assert answer(attempt(throttled_app, operator.email, TEST_PASSWORD)) == WAIT.format(60)
    let_time_pass(61)
    assert answer(attempt(throttled_app, operator.email, "wrong password!")) == WRONG
    assert answer(attempt(throttled_app, operator.email, "wrong password!")) == WAIT.format(120)
    let_time_pass(121)
    assert answer(attempt(throttled_app, operator.email, "wrong password!")) == WRONG
    assert answer(attempt(throttled_app, operator.email, TEST_PASSWORD)) == WAIT.format(240)
    let_time_pass(241)
    assert answer(attempt(throttled_app, operator.email, "wrong password!")) == WRONG
    assert answer(attempt(throttled_app, operator.email, TEST_PASSWORD)) == WAIT.format(300)  # LOGIN_DELAY_MAX_SECONDS
    let_time_pass(301)
    assert answer(attempt(throttled_app, operator.email, TEST_PASSWORD)) == "logged in"
    # The success forgives this address's failures for the account.
    assert db.session.execute(select(LoginFailure).where(LoginFailure.email == operator.email)).first() is None


def test_the_right_password_from_another_address_is_not_kept_out(app, throttled_app, operator):
    for _ in range(5):
        attempt(throttled_app, operator.email, "wrong password!", address="203.0.113.66")
    now = utcnow()
    db.session.add_all([LoginFailure(email=operator.email, remote_addr=f"192.0.2.{number}", created_at=now) for number in range(1, 200)])
    db.session.commit()
    assert answer(attempt(throttled_app, operator.email, TEST_PASSWORD, address="203.0.113.66")) == WAIT.format(60)
    assert answer(attempt(throttled_app, operator.email, TEST_PASSWORD, address="198.51.100.7")) == "logged in"
    # The attacker's address still waits: the real user's success forgave only its own address.
    assert answer(attempt(throttled_app, operator.email, TEST_PASSWORD, address="203.0.113.66")) == WAIT.format(60)


def test_one_address_trying_many_accounts_waits_too(app, throttled_app, operator):
    """Credential stuffing: 30 failures from one address, on as many accounts, make it wait for any account."""
    for number in range(3):
        assert answer(attempt(throttled_app, f"victim{number}@example.com", "Password2024!", address="203.0.113.99")) == WRONG
    now = utcnow()
    db.session.add_all([LoginFailure(email=f"victim{number}@example.com", remote_addr="203.0.113.99", created_at=now)
                        for number in range(3, 30)])
    db.session.commit()
    assert answer(attempt(throttled_app, operator.email, TEST_PASSWORD, address="203.0.113.99")) == WAIT.format(60)
    assert answer(attempt(throttled_app, operator.email, TEST_PASSWORD, address="198.51.100.7")) == "logged in"
    # A known password does not reset the address's count on the other accounts.
    let_time_pass(61)
    assert answer(attempt(throttled_app, operator.email, TEST_PASSWORD, address="203.0.113.99")) == "logged in"
    assert answer(attempt(throttled_app, "victim31@example.com", "Password2024!", address="203.0.113.99")) == WRONG
    assert answer(attempt(throttled_app, "victim32@example.com", "Password2024!", address="203.0.113.99")) == WAIT.format(120)


@pytest.mark.parametrize("proxies", [0, 1])
def test_a_made_up_x_forwarded_for_neither_evades_nor_resets_the_count(app, another_app, operator, proxies):
    behind = another_app(LOGIN_DELAY_BASE_SECONDS=60, TRUSTED_PROXY_COUNT=proxies)
    # proxies=0: the socket's address is the client. proxies=1: the socket is the proxy, and the
    # client is the address the proxy appended last; whatever the client wrote before it is noise.
    socket_address = "198.51.100.7" if proxies == 0 else "10.0.0.2"
    client_address = "198.51.100.7" if proxies == 0 else "203.0.113.9"

    def forwarded(made_up: str, client: str = client_address) -> str | None:
        if proxies == 0:
            return made_up or None
        return f"{made_up}, {client}" if made_up else client

    for number in range(5):
        response = attempt(behind, operator.email, "wrong password!", address=socket_address, forwarded_for=forwarded(f"192.0.2.{number}"))
        assert answer(response) == WRONG
    stored = set(db.session.execute(select(LoginFailure.remote_addr)).scalars())
    assert stored == {client_address}
    for made_up in ("192.0.2.77", "127.0.0.1", "203.0.113.10, 192.0.2.1", ""):
        response = attempt(behind, operator.email, TEST_PASSWORD, address=socket_address, forwarded_for=forwarded(made_up))
        assert answer(response) == WAIT.format(60), made_up
    if proxies == 1:
        # Another real client behind the same proxy is not kept out.
        response = attempt(behind, operator.email, TEST_PASSWORD, address=socket_address, forwarded_for=forwarded("192.0.2.1", "203.0.113.10"))
        assert answer(response) == "logged in"


def test_old_failures_leave_the_window(app, throttled_app, operator):
    make_user("other@example.com")
    for _ in range(5):
        attempt(throttled_app, operator.email, "wrong password!")
    assert answer(attempt(throttled_app, operator.email, TEST_PASSWORD)) == WAIT.format(60)
    let_time_pass(15 * 60 + 1)  # LOGIN_FAILURE_WINDOW_SECONDS
    assert answer(attempt(throttled_app, operator.email, TEST_PASSWORD)) == "logged in"
