"""Account services: sign-up, authentication with throttling, officers and disabling."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
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
