"""The purpose of access: a console user says why they search, follow a timeline or export, once
per session (changeable at any time); it goes into every access-log entry of that session. An
office can make it mandatory for its officers (Administration › office)."""
from __future__ import annotations

from flask import has_request_context, session
from flask_babel import lazy_gettext as _l

SESSION_KEY = "access_purpose"
PURPOSES = {
    "investigation": _l("Investigating a case"),
    "supervision": _l("Routine supervision of foreigners"),
    "lodging_check": _l("Checking a lodging's reports"),
    "data_request": _l("Answering a data access request"),
    "statistics": _l("Statistics and reporting"),
    "other": _l("Other (describe it)"),
}


def current_purpose() -> dict | None:
    """The purpose given in this session: {"code": ..., "text": ...}, or None."""
    if not has_request_context():
        return None
    found = session.get(SESSION_KEY)
    return found if isinstance(found, dict) and found.get("code") in PURPOSES else None


def set_purpose(code: str, text: str) -> None:
    session[SESSION_KEY] = {"code": code, "text": text}


def label(purpose: dict | None) -> str:
    if not purpose:
        return ""
    name = str(PURPOSES.get(purpose.get("code"), ""))
    return f"{name}: {purpose['text']}" if purpose.get("text") else name


def required_but_missing(user) -> bool:
    """The user's office asks for a purpose and none was given in this session."""
    office = getattr(user, "office", None) if getattr(user, "is_officer", False) else None
    return bool(office is not None and office.access_purpose_required and current_purpose() is None)
