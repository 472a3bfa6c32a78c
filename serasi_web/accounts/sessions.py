"""Server-side login sessions on top of Flask-Login.

The signed Flask cookie carries the user id (Flask-Login) and a random session key. The key's hash
is stored in ``user_session``; a request is logged in only while that row exists and the account
is enabled. So logging out, or an admin disabling the account, ends the session everywhere at
once, even for a copied cookie.

A session also ends by itself: after ``SESSION_IDLE_MINUTES_*`` without a request, or
``SESSION_ABSOLUTE_MINUTES_*`` after the login, whatever happened since (``*_STAFF`` for
officers, supervision teams and admins, ``*_OPERATOR`` for operators). The daily job deletes the
rows of ended sessions (``purge_ended_sessions``).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import Flask, current_app, flash, g, request, session
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import and_, delete, or_, select, update

from ..database import utcnow
from ..extensions import db, login_manager
from .models import Role, User, UserSession

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
        select(User, UserSession.id, UserSession.created_at, UserSession.last_seen_at)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.key_hash == _hash(key), User.id == int(user_id))
    ).first()
    if row is None or not row.User.enabled:
        return None
    now = utcnow()
    idle, absolute = session_limits(row.User.role)
    if now - row.last_seen_at > idle or now - row.created_at > absolute:
        db.session.execute(delete(UserSession).where(UserSession.id == row.id))
        db.session.commit()
        session.pop(SESSION_KEY, None)
        flash(_("Your session has ended. Please log in again."), "info")
        return None
    if now - row.last_seen_at > _LAST_SEEN_RESOLUTION:
        db.session.execute(update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now))
        db.session.commit()
    return row.User


STAFF_ROLES = (Role.OFFICER, Role.SUPERVISOR, Role.ADMIN, Role.DPO)


def session_limits(role: str) -> tuple[timedelta, timedelta]:
    """(idle, absolute) limits of a session of an account with ``role``."""
    config = current_app.config
    kind = "STAFF" if role in STAFF_ROLES else "OPERATOR"
    return (timedelta(minutes=config[f"SESSION_IDLE_MINUTES_{kind}"]),
            timedelta(minutes=config[f"SESSION_ABSOLUTE_MINUTES_{kind}"]))


def current_session_id() -> int | None:
    """The ``user_session`` row of this request's login, if any."""
    key = session.get(SESSION_KEY)
    if not key:
        return None
    return db.session.execute(select(UserSession.id).where(UserSession.key_hash == _hash(key))).scalar_one_or_none()


def sessions_of(user: User) -> list[UserSession]:
    """The account's live sessions, the most recently used first."""
    return list(db.session.execute(
        select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    ).scalars())


def end_other_sessions(user: User) -> int:
    """End every session of ``user`` but this request's; the number ended."""
    keep = current_session_id()
    query = delete(UserSession).where(UserSession.user_id == user.id)
    if keep is not None:
        query = query.where(UserSession.id != keep)
    ended = db.session.execute(query).rowcount or 0
    db.session.commit()
    return ended


def purge_ended_sessions(now=None) -> int:
    """Delete the rows of sessions past their idle or absolute limit (the daily job)."""
    now = now or utcnow()
    conditions = []
    for roles in (STAFF_ROLES, (Role.OPERATOR,)):
        idle, absolute = session_limits(roles[0])
        owners = select(User.id).where(User.role.in_(roles)).scalar_subquery()
        conditions.append(and_(UserSession.user_id.in_(owners),
                               or_(UserSession.last_seen_at < now - idle, UserSession.created_at < now - absolute)))
    deleted = db.session.execute(delete(UserSession).where(or_(*conditions))).rowcount or 0
    db.session.commit()
    return deleted


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
    # A new CSRF secret now (the old one went with session.clear()), so the cookie of the login's
    # answer already holds it: else the first page after the login sets the cookie a second
    # time (0.5 KB of that cold page, bench/page_weight.py).
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    generate_csrf()


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
