"""The console's domain actions, callable without a request: the access log, the inbox mark and
supervision-team accounts."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select

from ..accounts.models import Role, SupervisionRegion, User
from ..accounts.services import create_user
from ..audit.models import AuditEvent, AuditSubject
from ..database import utcnow
from ..extensions import db
from ..stays.models import Stay
from .models import InboxMark
from .queries import INBOX_DEFAULT_DAYS

# Access-log actions (Law 27/2022 asks who processed personal data, when and what for).
STAY_VIEWED = "console.stay_viewed"
TIMELINE_VIEWED = "console.timeline_viewed"
SEARCHED = "console.search"
INBOX_VIEWED = "console.inbox_viewed"
WATCH_LIST_VIEWED = "console.watch_list_viewed"
EXPORTED = "console.export"
# Counts only, no guest: recorded so that a regional or national console's reading of other
# offices' figures is on the record too (the period and the tables shown).
STATISTICS_VIEWED = "console.statistics_viewed"
AUDIT_EXPORTED = "admin.audit_export"
ACCESS_ACTIONS = (STAY_VIEWED, TIMELINE_VIEWED, SEARCHED, INBOX_VIEWED, WATCH_LIST_VIEWED, STATISTICS_VIEWED, EXPORTED, AUDIT_EXPORTED)
MAX_RECORDED_IDS = 100


def record_access(user: User, action: str, *, stay: Stay | None = None, details: dict[str, Any] | None = None,
                  stays: list[Stay] | None = None) -> None:
    """Record that ``user`` saw guests' data: one stay, or a list of them. Committed at once.

    ``stays`` lists the reports a page showed (up to 100 of them are kept as ``audit_subject``
    rows, the only record of whom an access showed); ``details`` says what was asked for (the
    search criteria, the list, the exported table). The row goes in
    through its own connection and transaction: committing the page's session would expire
    every object the page is about to render and reload them one by one.
    """
    from ..privacy.purpose import current_purpose

    changes = dict(details or {})
    if (purpose := current_purpose()) is not None:
        changes["purpose"] = purpose
    shown = [] if stay is None else [stay.id]
    if stays is not None:  # a timeline may list a report twice
        shown = list(dict.fromkeys(shown + [each.id for each in stays[:MAX_RECORDED_IDS]]))
    with db.engine.begin() as connection:
        event_id = connection.execute(insert(AuditEvent.__table__).values(
            at=utcnow(), action=action, object_type="Stay" if stay is not None else "Console",
            object_id=stay.id if stay is not None else 0, actor_id=user.id, actor_label=user.email,
            lodging_id=stay.lodging_id if stay is not None else None, changes=changes,
        )).inserted_primary_key[0]
        if shown:  # who saw whom, for the data-protection officer's log (privacy/access_log.py)
            connection.execute(insert(AuditSubject.__table__), [{"event_id": event_id, "stay_id": stay_id} for stay_id in shown])


def inbox_seen_until(user: User, now: datetime | None = None) -> datetime:
    """Where the user's inbox starts: their mark, or a week back for a user who never marked it."""
    mark = db.session.get(InboxMark, user.id)
    return mark.seen_until if mark else (now or utcnow()) - timedelta(days=INBOX_DEFAULT_DAYS)


def mark_inbox_seen(user: User, until: datetime, now: datetime | None = None) -> datetime:
    """Move the user's mark to ``until`` (never backwards, never past now); returns the mark."""
    until = min(until, now or utcnow())
    mark = db.session.get(InboxMark, user.id)
    if mark is None:
        mark = InboxMark(user_id=user.id, seen_until=until)
        db.session.add(mark)
    elif until > mark.seen_until:
        mark.seen_until = until
    db.session.commit()
    return mark.seen_until


def create_supervisor(*, email: str, password: str, full_name: str, region_codes: list[str],
                      password_change_required: bool = False) -> User:
    """A read-only supervision-team account (Timpora, police) for ``region_codes`` (validated).
    ``password_change_required``: an admin chose the password (the holder changes it first)."""
    user = create_user(email=email, password=password, full_name=full_name, role=Role.SUPERVISOR,
                       password_change_required=password_change_required)
    set_supervision_regions(user, region_codes)
    return user


def set_supervision_regions(user: User, region_codes: list[str]) -> None:
    """Make ``region_codes`` the whole of a supervisor's regions and commit."""
    db.session.execute(delete(SupervisionRegion).where(SupervisionRegion.user_id == user.id))
    db.session.flush()
    db.session.expire(user, ["supervision_regions"])
    for code in dict.fromkeys(region_codes):
        db.session.add(SupervisionRegion(user_id=user.id, region_code=code))
    db.session.commit()


def supervision_region_codes(user: User) -> list[str]:
    return list(db.session.scalars(
        select(SupervisionRegion.region_code).where(SupervisionRegion.user_id == user.id).order_by(SupervisionRegion.region_code)))


# ---- the audit log, for admins ------------------------------------------------------------------

STAY_ACTIONS = ("stay.created", "stay.edited", "stay.submitted", "stay.corrected", "stay.checked_out", "stay.voided")


def audit_query(*, actor: str = "", action: str = "", start: datetime | None = None, end: datetime | None = None):
    """Audit events, newest first, filtered by the actor's e-mail (part of it), an action (or a
    group such as ``console.*``) and a time range [start, end)."""
    from sqlalchemy import or_

    from ..stays.queries import escape_like

    query = select(AuditEvent)
    if actor:
        query = query.where(AuditEvent.actor_label.like(f"%{escape_like(actor.lower())}%", escape="\\"))
    if action.endswith(".*"):
        query = query.where(AuditEvent.action.like(f"{escape_like(action[:-1])}%", escape="\\"))
    elif action == "access":
        query = query.where(or_(AuditEvent.action.like("console.%"), AuditEvent.action.like("admin.%")))
    elif action:
        query = query.where(AuditEvent.action == action)
    if start is not None:
        query = query.where(AuditEvent.at >= start)
    if end is not None:
        query = query.where(AuditEvent.at < end)
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


AUDIT_COLUMNS = ("at_utc", "actor", "action", "object_type", "object_id", "lodging_id", "details")


def audit_rows(query):
    """The events of ``query`` as export rows, read in batches (the log can be long)."""
    import json

    from ..audit.labels import GUEST_DATA_ACTIONS

    for event in db.session.execute(query.execution_options(yield_per=1000)).scalars():
        # The admin's export leaves out what names guests, as the page does (audit/labels.py).
        details = "" if event.action.startswith(GUEST_DATA_ACTIONS) else json.dumps(event.changes, ensure_ascii=False, default=str)
        yield (event.at.isoformat(), event.actor_label, event.action, event.object_type, event.object_id,
               event.lodging_id if event.lodging_id is not None else "", details)
