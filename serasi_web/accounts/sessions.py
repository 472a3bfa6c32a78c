"""Server-side login sessions on top of Flask-Login.

The signed Flask cookie carries the user id (Flask-Login) and a random session key. The key's hash
is stored in ``user_session``; a request is logged in only while that row exists and the account
is enabled. So logging out, or an admin disabling the account, ends the session everywhere at
once, even for a copied cookie.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import Flask, request, session
from flask_login import login_user, logout_user
from sqlalchemy import delete, select, update

from ..database import utcnow
from ..extensions import db, login_manager
from .models import User, UserSession

SESSION_KEY = "serasi_session_key"
# Writing last_seen_at on every request would turn every page view into a write.
_LAST_SEEN_RESOLUTION = timedelta(minutes=5)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def init_app(app: Flask) -> None:
    login_manager.user_loader(load_user)


def load_user(user_id: str) -> User | None:
    key = session.get(SESSION_KEY)
    if not key or not user_id.isdigit():
        return None
    # One query for the session row and its user: this runs on every request.
    row = db.session.execute(
        select(User, UserSession.id, UserSession.last_seen_at).join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.key_hash == _hash(key), User.id == int(user_id))
    ).first()
    if row is None or not row.User.enabled:
        return None
    now = utcnow()
    if now - row.last_seen_at > _LAST_SEEN_RESOLUTION:
        db.session.execute(update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now))
        db.session.commit()
    return row.User


def start_session(user: User) -> None:
    """Log ``user`` in with a brand-new session (the old cookie contents are discarded)."""
    session.clear()
    key = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(key_hash=_hash(key), user=user, user_agent=(request.user_agent.string or "")[:200])
    )
    user.last_login_at = utcnow()
    db.session.commit()
    session[SESSION_KEY] = key
    login_user(user)


def end_session() -> None:
    """Log out: delete this session's row so the cookie is worthless even if copied."""
    key = session.get(SESSION_KEY)
    if key:
        db.session.execute(delete(UserSession).where(UserSession.key_hash == _hash(key)))
        db.session.commit()
    logout_user()
    session.clear()


def end_all_sessions(user: User) -> None:
    """End every session of ``user`` (used when an account is disabled or its password changes)."""
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
