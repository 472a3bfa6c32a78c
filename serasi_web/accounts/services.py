"""Account services: sign-up, authentication with throttling, officers and disabling, password
change and reset."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import delete, func, select

from ..database import utcnow
from ..extensions import db
from ..passwords import burn_verification_time, hash_password, needs_rehash, verify_password
from .models import LoginFailure, Role, User
from .sessions import end_all_sessions


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.execute(select(User).where(User.email == normalise_email(email))).scalar_one_or_none()


def create_user(*, email: str, password: str, full_name: str, role: str = Role.OPERATOR,
                account_kind: str | None = None, office_id: int | None = None, locale: str | None = None) -> User:
    """Create an account (the caller has validated the input and commits)."""
    user = User(
        email=normalise_email(email),
        password_hash=hash_password(password),
        full_name=full_name.strip(),
        role=role,
        account_kind=account_kind,
        office_id=office_id,
        locale=locale,
    )
    db.session.add(user)
    db.session.flush()
    return user


@dataclass(frozen=True)
class LoginResult:
    user: User | None = None
    throttled: bool = False
    disabled: bool = False
    retry_after_minutes: int = 0


def authenticate(email: str, password: str, remote_addr: str) -> LoginResult:
    """Check credentials, counting failures per account and per client address in the database."""
    config = current_app.config
    email = normalise_email(email)
    window_start = utcnow() - timedelta(seconds=config["LOGIN_FAILURE_WINDOW_SECONDS"])

    def recent_failures(column, value) -> tuple[int, object]:
        return db.session.execute(
            select(func.count(), func.min(LoginFailure.created_at)).where(column == value, LoginFailure.created_at >= window_start)
        ).one()

    account_count, account_oldest = recent_failures(LoginFailure.email, email)
    address_count, address_oldest = recent_failures(LoginFailure.remote_addr, remote_addr)
    if account_count >= config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] or address_count >= config["LOGIN_MAX_FAILURES_PER_ADDRESS"]:
        oldest = min(t for t in (account_oldest, address_oldest) if t is not None)
        wait = oldest + timedelta(seconds=config["LOGIN_FAILURE_WINDOW_SECONDS"]) - utcnow()
        return LoginResult(throttled=True, retry_after_minutes=max(1, int(wait.total_seconds() // 60) + 1))

    user = find_user_by_email(email)
    if user is None:
        burn_verification_time(password)
        ok = False
    else:
        ok = verify_password(user.password_hash, password)
    if ok and not user.enabled:
        return LoginResult(disabled=True)
    if not ok:
        db.session.add(LoginFailure(email=email[:254], remote_addr=remote_addr[:64]))
        db.session.commit()
        return LoginResult()

    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    # A success forgives this account's earlier failures (not the address's).
    db.session.execute(delete(LoginFailure).where(LoginFailure.email == email))
    db.session.commit()
    return LoginResult(user=user)


def forget_old_login_failures() -> int:
    """Delete failures older than the window (run now and then; they are useless after it)."""
    cutoff = utcnow() - timedelta(seconds=current_app.config["LOGIN_FAILURE_WINDOW_SECONDS"])
    result = db.session.execute(delete(LoginFailure).where(LoginFailure.created_at < cutoff))
    db.session.commit()
    return result.rowcount or 0


def set_enabled(user: User, enabled: bool) -> None:
    """Enable or disable an account; disabling ends all of its sessions at once."""
    user.enabled = enabled
    if not enabled:
        end_all_sessions(user)
    db.session.commit()


# ---- password change and reset ------------------------------------------------------------------

_RESET_SALT = "serasi.password-reset"


def change_password(user: User, new_password: str, *, actor: User | None = None, how: str = "changed") -> None:
    """Give ``user`` a new password and end every session of the account (the caller starts a new
    one for the browser that made the change). Audited; the caller commits."""
    from ..audit.services import record

    user.password_hash = hash_password(new_password)
    end_all_sessions(user)
    db.session.execute(delete(LoginFailure).where(LoginFailure.email == user.email))
    record(f"account.password_{how}", user, actor or user)


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_RESET_SALT)


def _password_fingerprint(user: User) -> str:
    # Ties the link to the password it replaces: once the password changes, the link is spent.
    return hashlib.sha256(("reset:" + user.password_hash).encode()).hexdigest()[:32]


def password_reset_token(user: User) -> str:
    """A signed link token for ``user``: valid ``PASSWORD_RESET_MAX_AGE_SECONDS`` and usable once
    (it names the current password hash, which the reset replaces). Nothing is stored."""
    return _reset_serializer().dumps({"user": user.id, "password": _password_fingerprint(user)})


def user_for_reset_token(token: str) -> User | None:
    """The enabled account ``token`` may reset, or None (forged, expired or already used)."""
    try:
        data = _reset_serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"])
    except (BadData, UnicodeError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("user"), int) or not isinstance(data.get("password"), str):
        return None
    from ..forms import MAX_ID

    if not 0 < data["user"] <= MAX_ID:
        return None
    user = db.session.get(User, data["user"])
    if user is None or not user.enabled or not hmac.compare_digest(_password_fingerprint(user), data["password"]):
        return None
    return user


def send_password_reset(email: str, remote_addr: str) -> bool:
    """Mail a reset link when ``email`` belongs to an enabled account. The caller answers the same
    either way, so the form does not reveal who has an account. At most a few mails per address
    and per account an hour, so the form cannot flood anyone's mailbox. True when sent."""
    from flask import render_template
    from flask_babel import force_locale

    from ..notifications.mail import mail_configured, send_mail
    from ..rate_limits import allow

    email = normalise_email(email)
    if not allow(current_app.config["PASSWORD_RESET_RATE_LIMIT"], "password-reset-address", remote_addr)[0]:
        return False
    user = find_user_by_email(email)
    if user is None or not user.enabled:
        return False
    if not allow(current_app.config["PASSWORD_RESET_RATE_LIMIT"], "password-reset-account", str(user.id))[0]:
        return False
    if not mail_configured():
        current_app.logger.warning("password reset for user %s not sent: SMTP_HOST is not set", user.id)
        return False
    base_url = current_app.config["PUBLIC_URL"].rstrip("/")
    from flask import url_for

    link = base_url + url_for("accounts.reset_password", token=password_reset_token(user))
    minutes = current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"] // 60
    with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        subject = render_template("emails/password_reset_subject.txt").strip()
        body = render_template("emails/password_reset.txt", user=user, link=link, minutes=minutes)
    try:
        send_mail(user.email, subject, body)
    except Exception:  # noqa: BLE001 - the person can ask again; the answer must not differ
        current_app.logger.warning("password reset for user %s not sent", user.id, exc_info=True)
        return False
    return True
