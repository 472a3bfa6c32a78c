"""The office's access log, for its data-protection officer (Law 27/2022: who processed whose
personal data, when and what for).

It reads the audit trail the console writes (``record_access``) and the reports each event
showed (``audit_subject``), scoped to one office: the events of its own staff, and any event
that showed a report of a lodging routed to it (a supervision team's, say). The log is only
read here: no route edits or deletes an event; only the retention job removes old ones, and it
logs its own run.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, or_, select

from ..accounts.models import User
from ..audit.models import AuditEvent, AuditSubject
from ..extensions import db
from ..lodgings.models import Lodging
from ..officer.queries import normalise_document_number
from ..officer.scope import Scope, scope_for
from ..stays.models import Stay
from ..stays.queries import escape_like
from ..stays.services import fold_name

# What the log holds: reading guests' data in the console, the office's answers to data
# subjects, and legal holds. Changes to reports are the operators' own history (audit log).
LOGGED_ACTIONS = ("console.stay_viewed", "console.timeline_viewed", "console.search", "console.inbox_viewed",
                  "console.watch_list_viewed", "console.export", "stay.legal_hold_set", "stay.legal_hold_released",
                  "privacy.request_recorded", "privacy.request_answered", "privacy.access_log_searched",
                  "privacy.access_log_exported")
SEARCHED = "privacy.access_log_searched"
EXPORTED = "privacy.access_log_exported"
SUBJECTS_SHOWN = 3  # per event on the page; the rest are counted


@dataclass(frozen=True)
class Filters:
    actor: str = ""  # part of the staff member's e-mail
    guest: str = ""  # a document number, or part of a name
    lodging_id: int | None = None
    start: datetime | None = None  # [start, end), aware
    end: datetime | None = None

    def names_a_guest(self) -> bool:
        return bool(self.guest)


def office_lodgings(user: User) -> list[Lodging]:
    """The lodgings of the user's office, for the lodging filter."""
    scope = scope_for(user)
    return list(db.session.scalars(select(Lodging).where(scope.lodging_condition()).order_by(Lodging.name, Lodging.id)))


def _guest_condition(scope: Scope, guest: str):
    """Reports of the scope whose document number is ``guest`` or whose name contains it."""
    document = normalise_document_number(guest)
    conditions = []
    if document and any(ch.isdigit() for ch in document):
        conditions.append(Stay.document_number == document)
    if folded := fold_name(guest).strip():
        conditions.append(Stay.name_folded.like(f"%{escape_like(folded)}%", escape="\\"))
    return select(Stay.id).where(Stay.lodging_id.in_(scope.lodging_ids()), or_(*conditions))


def events_query(user: User, filters: Filters) -> Select:
    """The office's access events, newest first, narrowed by ``filters``."""
    scope = scope_for(user)
    staff = select(User.id).where(User.office_id == user.office_id)
    shown_here = select(AuditSubject.event_id).join(Stay, Stay.id == AuditSubject.stay_id).where(
        Stay.lodging_id.in_(scope.lodging_ids()))
    query = select(AuditEvent).where(
        AuditEvent.action.in_(LOGGED_ACTIONS),
        or_(AuditEvent.actor_id.in_(staff), AuditEvent.lodging_id.in_(scope.lodging_ids()), AuditEvent.id.in_(shown_here)))
    if filters.actor:
        query = query.where(AuditEvent.actor_label.like(f"%{escape_like(filters.actor.lower())}%", escape="\\"))
    if filters.guest:
        about = select(AuditSubject.event_id).where(AuditSubject.stay_id.in_(_guest_condition(scope, filters.guest)))
        query = query.where(AuditEvent.id.in_(about))
    if filters.lodging_id is not None:
        of_lodging = select(AuditSubject.event_id).join(Stay, Stay.id == AuditSubject.stay_id).where(Stay.lodging_id == filters.lodging_id)
        query = query.where(or_(AuditEvent.lodging_id == filters.lodging_id, AuditEvent.id.in_(of_lodging)))
    if filters.start is not None:
        query = query.where(AuditEvent.at >= filters.start)
    if filters.end is not None:
        query = query.where(AuditEvent.at < filters.end)
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


@dataclass(frozen=True)
class Subject:
    """A report an event showed, as the log names it."""

    name: str
    document: str
    lodging: str


def subjects_of(events: list[AuditEvent]) -> dict[int, tuple[list[Subject], int]]:
    """For each event: the first reports it showed and how many in all (two queries a page)."""
    if not events:
        return {}
    rows = db.session.execute(
        select(AuditSubject.event_id, Stay.surname, Stay.given_names, Stay.document_number, Stay.issuing_state,
               Stay.pseudonymised_at, Lodging.name)
        .join(Stay, Stay.id == AuditSubject.stay_id).join(Lodging, Lodging.id == Stay.lodging_id)
        .where(AuditSubject.event_id.in_([event.id for event in events]))
        .order_by(AuditSubject.event_id, AuditSubject.stay_id)).all()
    found: dict[int, tuple[list[Subject], int]] = {}
    for event_id, surname, given_names, document, issuing_state, pseudonymised_at, lodging in rows:
        shown, count = found.get(event_id, ([], 0))
        if len(shown) < SUBJECTS_SHOWN:
            if pseudonymised_at is not None:
                shown.append(Subject(name="", document="", lodging=lodging))
            else:
                shown.append(Subject(name=" ".join(part for part in (given_names, surname) if part),
                                     document=f"{document} ({issuing_state})", lodging=lodging))
        found[event_id] = (shown, count + 1)
    return found


def export_rows(user: User, filters: Filters):
    """The log as CSV rows (every subject of an event spelled out), read in batches."""
    query = events_query(user, filters)
    batch: list[AuditEvent] = []
    for event in db.session.execute(query.execution_options(yield_per=500)).scalars():
        batch.append(event)
        if len(batch) == 500:
            yield from _rows(batch)
            batch = []
    if batch:
        yield from _rows(batch)


EXPORT_COLUMNS = ("at_utc", "who", "action", "purpose", "subjects")


def _rows(events: list[AuditEvent]):
    from ..audit.labels import audit_action_label
    from .purpose import label as purpose_label

    subjects = db.session.execute(
        select(AuditSubject.event_id, Stay.surname, Stay.given_names, Stay.document_number, Stay.pseudonymised_at)
        .join(Stay, Stay.id == AuditSubject.stay_id).where(AuditSubject.event_id.in_([event.id for event in events]))
        .order_by(AuditSubject.event_id, AuditSubject.stay_id)).all()
    named: dict[int, list[str]] = {}
    for event_id, surname, given_names, document, pseudonymised_at in subjects:
        named.setdefault(event_id, []).append(
            "—" if pseudonymised_at is not None else f"{' '.join(p for p in (given_names, surname) if p)} {document}")
    for event in events:
        purpose = event.changes.get("purpose") if isinstance(event.changes, dict) else None
        yield (event.at.isoformat(), event.actor_label, audit_action_label(event.action),
               purpose_label(purpose) if purpose else "", "; ".join(named.get(event.id, [])))
