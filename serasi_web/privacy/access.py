"""A data subject's access request (Law 27/2022 Art. 30-32): what one office holds about the
holder of a travel document, and who has seen it.

An office answers for its own area: the answer lists the reports of lodgings routed to it,
their versions and who accessed them, and names the other offices that hold reports of the same
document (with their count only) so the request can be passed on. A report under a legal hold
is left out of what the subject receives (the Art. 15 exceptions for law enforcement); the
officer sees how many were left out. A pseudonymised report no longer carries the document: it
is not found, because nothing identifying is held any more.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..audit.models import AuditEvent, AuditSubject
from ..database import utcnow
from ..extensions import db
from ..lodgings.models import Lodging
from ..officer.scope import scope_for
from ..offices.models import ImmigrationOffice
from ..stays.models import Stay
from .models import SubjectAccessRequest
from .retention import held_document

CHANNELS = ("email", "letter", "in_person", "other")
RECORDED = "privacy.request_recorded"
ANSWERED = "privacy.request_answered"


def record_request(officer, *, document_number: str, issuing_state: str, received_on: date, channel: str,
                   reference: str = "") -> SubjectAccessRequest:
    """Record a request received by the officer's office; audited, commits."""
    request = SubjectAccessRequest(office_id=officer.office_id, document_number=document_number, issuing_state=issuing_state,
                                   received_on=received_on, channel=channel, reference=reference, recorded_by_id=officer.id,
                                   recorded_at=utcnow())
    db.session.add(request)
    db.session.flush()
    db.session.add(AuditEvent(action=RECORDED, object_type="SubjectAccessRequest", object_id=request.id, actor_id=officer.id,
                              actor_label=officer.email, changes={"channel": channel, "received_on": received_on.isoformat()}))
    db.session.commit()
    return request


def requests_of(officer):
    """The requests of the officer's office, newest first."""
    return (select(SubjectAccessRequest).where(SubjectAccessRequest.office_id == officer.office_id)
            .order_by(SubjectAccessRequest.recorded_at.desc(), SubjectAccessRequest.id.desc()))


def request_in_scope(officer, request_id: int) -> SubjectAccessRequest | None:
    return db.session.execute(select(SubjectAccessRequest).where(
        SubjectAccessRequest.id == request_id, SubjectAccessRequest.office_id == officer.office_id)).scalar_one_or_none()


@dataclass
class StayRecord:
    stay: Stay
    accesses: list[AuditEvent]


@dataclass
class AccessAnswer:
    request: SubjectAccessRequest
    office: ImmigrationOffice
    generated_at: datetime
    stays: list[StayRecord] = field(default_factory=list)
    withheld: int = 0  # reports under a legal hold, left out
    other_offices: list[tuple[str, int]] = field(default_factory=list)  # (office name or "", reports); "" = no office


def answer(request: SubjectAccessRequest, officer) -> AccessAnswer:
    """Everything the officer's office holds about the request's document; audited, commits."""
    scope = scope_for(officer)
    same_document = (Stay.document_number == request.document_number, Stay.issuing_state == request.issuing_state)
    found = db.session.execute(
        select(Stay, held_document().label("held")).where(scope.report_condition(), *same_document)
        .options(selectinload(Stay.lodging), selectinload(Stay.versions)).order_by(Stay.check_in_at, Stay.id)).all()
    shown = [stay for stay, held in found if not held]
    result = AccessAnswer(request, db.session.get(ImmigrationOffice, request.office_id), utcnow(), withheld=len(found) - len(shown))
    ids = [stay.id for stay in shown]
    accesses: dict[int, list[AuditEvent]] = {stay_id: [] for stay_id in ids}
    if ids:
        # Who saw each report: every access that showed it (a view, a list, a search, an export:
        # ``audit_subject``), and every event about the report itself (submitted, corrected ...).
        shown_in = select(AuditSubject.event_id, AuditSubject.stay_id).where(AuditSubject.stay_id.in_(ids))
        about = select(AuditEvent.id, AuditEvent.object_id).where(AuditEvent.object_type == "Stay", AuditEvent.object_id.in_(ids))
        pairs = db.session.execute(shown_in.union(about)).all()
        events = {event.id: event for event in db.session.execute(
            select(AuditEvent).where(AuditEvent.id.in_({event_id for event_id, _ in pairs}))).scalars()}
        for event_id, stay_id in sorted(pairs, key=lambda pair: (events[pair[0]].at, pair[0])):
            accesses[stay_id].append(events[event_id])
    result.stays = [StayRecord(stay, accesses[stay.id]) for stay in shown]
    result.other_offices = [(name or "", count) for name, count in db.session.execute(
        select(ImmigrationOffice.name, func.count(Stay.id)).select_from(Stay).join(Lodging, Lodging.id == Stay.lodging_id)
        .outerjoin(ImmigrationOffice, ImmigrationOffice.id == Lodging.office_id)
        .where(*same_document, Stay.reported_at.is_not(None), ~scope.lodging_condition())
        .group_by(ImmigrationOffice.name).order_by(ImmigrationOffice.name)).all()]
    if request.answered_at is None:
        request.answered_at = result.generated_at
    answered = AuditEvent(action=ANSWERED, object_type="SubjectAccessRequest", object_id=request.id, actor_id=officer.id,
                          actor_label=officer.email, changes={"withheld": result.withheld})
    db.session.add(answered)
    db.session.flush()
    db.session.add_all(AuditSubject(event_id=answered.id, stay_id=stay_id) for stay_id in ids)  # the answer showed them
    db.session.commit()
    return result


def as_json(result: AccessAnswer) -> dict:
    """The answer as the subject receives it in machine-readable form."""
    from ..stays.services import snapshot

    request = result.request
    return {
        "request": {"id": request.id, "received_on": request.received_on.isoformat(), "channel": request.channel,
                    "reference": request.reference, "document_number": request.document_number,
                    "issuing_state": request.issuing_state},
        "office": result.office.name,
        "generated_at": result.generated_at.isoformat(),
        "stays": [{
            "receipt_number": record.stay.receipt_number,
            "status": record.stay.status,
            "reported_at": record.stay.reported_at.isoformat() if record.stay.reported_at else None,
            "lodging": {"name": record.stay.lodging.name, "street_address": record.stay.lodging.street_address,
                        "village_code": record.stay.lodging.village_code},
            "data": snapshot(record.stay),
            "versions": [{"version": version.version, "action": version.action, "changed_at": version.changed_at.isoformat(),
                          "reason": version.reason, "changes": version.changes} for version in record.stay.versions],
            "accessed": [{"at": event.at.isoformat(), "by": event.actor_label, "action": event.action} for event in record.accesses],
        } for record in result.stays],
        "other_offices": [{"office": name, "reports": count} for name, count in result.other_offices],
    }
