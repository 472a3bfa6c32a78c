"""Account services: sign-up with e-mail verification, authentication with throttling, officers
and disabling, password change and reset."""
from __future__ import annotations

import hashlib
import hmac
import math
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
                account_kind: str | None = None, office_id: int | None = None, locale: str | None = None,
                email_verified: bool = True, password_change_required: bool = False) -> User:
    """Create an account (the caller has validated the input and commits).

    Only self sign-up passes ``email_verified=False``: an account an admin, the command line or
    the demo makes is trusted. ``password_change_required``: an admin chose the password, so the
    holder must pick their own at the first login."""
    user = User(
        email=normalise_email(email),
        password_hash=hash_password(password),
        full_name=full_name.strip(),
        role=role,
        account_kind=account_kind,
        office_id=office_id,
        locale=locale,
        email_verified_at=utcnow() if email_verified else None,
        password_change_required=password_change_required,
    )
    db.session.add(user)
    db.session.flush()
    return user


@dataclass(frozen=True)
class LoginResult:
    user: User | None = None
    throttled: bool = False
    disabled: bool = False
    retry_after_seconds: int = 0


def login_wait_seconds(email: str, remote_addr: str) -> int:
    """Seconds this (account, client address) must still wait before its next login attempt; 0
    when it may try now.

    Two counts of recent failures, each with free failures and then a delay that doubles with
    every further failure (1 s, 2 s, 4 s ... capped), measured from the last failure: per
    account and client address (guessing one password), and per client address across accounts
    (credential stuffing). Nothing counts per account alone, so failures from other addresses
    never keep the right password out."""
    config = current_app.config
    now = utcnow()
    window_start = now - timedelta(seconds=config["LOGIN_FAILURE_WINDOW_SECONDS"])
    recent = (LoginFailure.remote_addr == remote_addr, LoginFailure.created_at >= window_start)
    counts = (
        (db.session.execute(select(func.count(), func.max(LoginFailure.created_at)).where(LoginFailure.email == email, *recent)).one(),
         config["LOGIN_FREE_FAILURES_PER_ACCOUNT_AND_ADDRESS"]),
        (db.session.execute(select(func.count(), func.max(LoginFailure.created_at)).where(*recent)).one(),
         config["LOGIN_FREE_FAILURES_PER_ADDRESS"]),
    )
    wait = 0.0
    for (count, latest), free in counts:
        if count >= free:
            delay = min(config["LOGIN_DELAY_MAX_SECONDS"], config["LOGIN_DELAY_BASE_SECONDS"] * 2 ** min(count - free, 30))
            wait = max(wait, (latest + timedelta(seconds=delay) - now).total_seconds())
    return math.ceil(wait) if wait > 0 else 0


def authenticate(email: str, password: str, remote_addr: str) -> LoginResult:
    """Check credentials, throttled per account and client address and per client address
    (``login_wait_seconds``); failures are stored in the database, so the counts hold across
    gunicorn workers. A throttled attempt checks no password."""
    email, remote_addr = normalise_email(email)[:254], (remote_addr or "unknown")[:64]
    wait = login_wait_seconds(email, remote_addr)
    if wait:
        return LoginResult(throttled=True, retry_after_seconds=wait)

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
    # A success forgives this account's failures from this address (not the address's failures
    # on other accounts: one known password must not reset a credential-stuffing count).
    db.session.execute(delete(LoginFailure).where(LoginFailure.email == email, LoginFailure.remote_addr == remote_addr))
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
    user.password_change_required = False
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


# ---- sign-up and e-mail verification ------------------------------------------------------------

_VERIFY_SALT = "serasi.email-verification"


def _verification_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_VERIFY_SALT)


def _email_fingerprint(user: User) -> str:
    # Ties the link to the address it was sent to.
    return hashlib.sha256(("verify:" + user.email).encode()).hexdigest()[:32]


def email_verification_token(user: User) -> str:
    """A signed link token proving that whoever opens it reads ``user``'s mailbox: valid
    ``EMAIL_VERIFICATION_MAX_AGE_SECONDS``, and spent once the address is verified."""
    return _verification_serializer().dumps({"user": user.id, "email": _email_fingerprint(user)})


def user_for_verification_token(token: str) -> User | None:
    """The enabled, still unverified account ``token`` verifies, or None (forged, expired, used)."""
    try:
        data = _verification_serializer().loads(token, max_age=current_app.config["EMAIL_VERIFICATION_MAX_AGE_SECONDS"])
    except (BadData, UnicodeError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("user"), int) or not isinstance(data.get("email"), str):
        return None
    from ..forms import MAX_ID

    if not 0 < data["user"] <= MAX_ID:
        return None
    user = db.session.get(User, data["user"])
    if user is None or not user.enabled or user.email_verified or not hmac.compare_digest(_email_fingerprint(user), data["email"]):
        return None
    return user


def mark_email_verified(user: User) -> None:
    """The owner of the address has shown it is theirs (a verification or a reset link). The
    caller commits."""
    from ..audit.services import record

    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        record("account.email_verified", user, user)


def may_submit_reports(user: User | None) -> bool:
    """Reports, API tokens and imports need a verified e-mail address; drafts do not."""
    return user is not None and user.email_verified


def may_register_lodging(user: User) -> bool:
    """An account whose address is not verified yet may register one lodging, not more."""
    if user.email_verified:
        return True
    from ..lodgings.models import Lodging

    return not db.session.execute(select(Lodging.id).where(Lodging.owner_id == user.id).limit(1)).first()


def _mail_allowed(kind: str, remote_addr: str, user: User) -> bool:
    """At most ``EMAIL_VERIFICATION_RATE_LIMIT`` mails of ``kind`` per client address and per
    account, so neither sign-up nor "send the link again" can flood a mailbox."""
    from ..rate_limits import allow

    limit = current_app.config["EMAIL_VERIFICATION_RATE_LIMIT"]
    return allow(limit, f"{kind}-address", remote_addr)[0] and allow(limit, f"{kind}-account", str(user.id))[0]


def _send_account_mail(user: User, template: str, **context) -> bool:
    """Mail ``emails/<template>.txt`` to ``user`` in their language; True when sent."""
    from flask import render_template
    from flask_babel import force_locale

    from ..notifications.mail import send_mail

    with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        subject = render_template(f"emails/{template}_subject.txt").strip()
        body = render_template(f"emails/{template}.txt", user=user, **context)
    try:
        send_mail(user.email, subject, body)
    except Exception:  # the person can ask again; the answer must not differ
        current_app.logger.warning("%s mail for user %s not sent", template, user.id, exc_info=True)
        return False
    return True


def _public_link(endpoint: str, **values) -> str:
    from flask import url_for

    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for(endpoint, **values)


def send_email_verification(user: User, remote_addr: str) -> bool:
    """Mail ``user`` a link that verifies the address (limited per address and account). With no
    mail server outside production the link goes to the log, so a developer can follow it (that
    counts as sent). True when sent."""
    from ..notifications.mail import mail_configured

    if user.email_verified or not user.enabled or not _mail_allowed("email-verification", remote_addr, user):
        return False
    link = _public_link("accounts.verify_email", token=email_verification_token(user))
    if not mail_configured():
        if current_app.config["ENV_NAME"] != "production":
            current_app.logger.warning("no SMTP_HOST: the e-mail verification link of user %s is %s", user.id, link)
            return True
        current_app.logger.warning("e-mail verification for user %s not sent: SMTP_HOST is not set", user.id)
        return False
    days = current_app.config["EMAIL_VERIFICATION_MAX_AGE_SECONDS"] // 86400
    return _send_account_mail(user, "email_verification", link=link, days=days)


def send_signup_attempt_notice(user: User, remote_addr: str) -> bool:
    """Tell the owner of an existing account that someone tried to sign up with its address (the
    sign-up page answers as for a new account, so it reveals nothing). True when sent."""
    from ..notifications.mail import mail_configured

    if not user.enabled or not mail_configured() or not _mail_allowed("signup-notice", remote_addr, user):
        return False
    return _send_account_mail(user, "signup_attempt", login_link=_public_link("accounts.login"),
                              reset_link=_public_link("accounts.forgot_password"))


def sign_up(*, email: str, password: str, full_name: str, account_kind: str, locale: str | None, remote_addr: str) -> User | None:
    """Make an operator account whose address waits for verification, and mail the link. When the
    address has an account already, nothing is made: its owner gets a notice instead. The caller
    answers the same either way ("check your e-mail"); the password is hashed either way, so the
    time taken does not tell the two apart. The new account, or None."""
    from sqlalchemy.exc import IntegrityError

    existing = find_user_by_email(email)
    if existing is None:
        try:
            user = create_user(email=email, password=password, full_name=full_name, account_kind=account_kind,
                               locale=locale, email_verified=False)
            db.session.commit()
        except IntegrityError:  # the same address signed up at the same moment
            db.session.rollback()
            return None
        send_email_verification(user, remote_addr)
        return user
    hash_password(password)  # the work a new account costs
    send_signup_attempt_notice(existing, remote_addr)
    return None
