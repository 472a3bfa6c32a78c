"""Keeping searches on the server: save the criteria of a POSTed search form and redirect to
``.../s/<id>``; the result pages (and their pagination links) carry only that id.

An id is 128 random bits, answers only the user who made it (anyone else gets 404, exactly like
an id that never existed) and lives ``SEARCH_LIFETIME``; the daily job deletes the expired ones.
The terms are personal data: they are kept here only as long as the id works, and in the access
log (``audit_event``) where the console records every search anyway.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from ..database import utcnow
from ..extensions import db
from .models import SavedSearch

SEARCH_LIFETIME = timedelta(minutes=30)
MAX_VALUE_LENGTH = 200
_SEARCH_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")  # what secrets.token_urlsafe makes  # longer than any search field accepts: the form still says "too long"


def save_search(user, kind: str, criteria: dict[str, str], now: datetime | None = None) -> SavedSearch:
    """Keep ``criteria`` (field name -> text as sent) for ``user``; the same search sent again
    (a live search retyping, a double click) reuses the user's latest id and renews it."""
    now = now or utcnow()
    # No NUL (PostgreSQL refuses it in text; the forms drop it too) and nothing unbounded.
    criteria = {str(name): str(value).replace("\x00", "")[:MAX_VALUE_LENGTH] for name, value in criteria.items() if value not in (None, "")}
    latest = db.session.execute(
        select(SavedSearch).where(SavedSearch.user_id == user.id, SavedSearch.kind == kind, SavedSearch.expires_at > now)
        .order_by(SavedSearch.created_at.desc()).limit(1)
    ).scalar_one_or_none()
    if latest is not None and latest.criteria == criteria:
        latest.expires_at = now + SEARCH_LIFETIME
        db.session.commit()
        return latest
    search = SavedSearch(id=secrets.token_urlsafe(16), user_id=user.id, kind=kind, criteria=criteria,
                         created_at=now, expires_at=now + SEARCH_LIFETIME)
    db.session.add(search)
    db.session.commit()
    return search


def own_search(user, kind: str, search_id: str) -> SavedSearch | None:
    """The user's own search of this kind (expired or not), else None (another user's, unknown,
    or made on another page)."""
    if not _SEARCH_ID.fullmatch(search_id or ""):
        return None  # never sent to the database (a NUL or a 10,000-character id would fail there)
    search = db.session.get(SavedSearch, search_id)
    if search is None or search.user_id != user.id or search.kind != kind:
        return None
    return search


def is_expired(search: SavedSearch, now: datetime | None = None) -> bool:
    return search.expires_at <= (now or utcnow())


def purge_expired_searches(now: datetime | None = None) -> int:
    """Delete searches whose id no longer works (the daily job)."""
    deleted = db.session.execute(delete(SavedSearch).where(SavedSearch.expires_at <= (now or utcnow()))).rowcount or 0
    db.session.commit()
    return deleted
