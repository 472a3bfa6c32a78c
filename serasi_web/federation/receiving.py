"""The receiving side: mirror a peer's lodging and apply its stay events.

Each event carries the whole stay at one version (as the sender's outbox wrote it) and the
lodging it belongs to, so any event can be applied alone:

- the lodging is created or updated as a mirror (owned by the peer's placeholder account,
  routed to this instance's office by its region codes like any lodging; codes no office covers
  leave it unrouted, on the admin's "Lodgings with no office" page);
- the stay is created the first time any of its events arrives (a check-out before its report
  creates the stay checked out: nothing is lost), then updated by each newer version; a version
  at or below the one applied changes nothing (the same event twice, or an older one late).

Mirrored stays write their versions and audit events, but no outbox event: this instance does
not forward another instance's reports onward (two instances feeding each other would loop).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..audit.services import record
from ..database import utcnow
from ..extensions import db
from ..forms import MAX_ID
from ..lodgings.models import Lodging, LodgingStatus
from ..offices.routing import route_lodging
from ..reference import regions
from ..stays import services
from ..stays.models import Stay, StayStatus, StayVersion
from ..stays.sync import read_values
from .models import FederatedLodging, FederatedStay, FederationPeer

EVENTS = ("reported", "corrected", "checked_out", "voided")
STATUSES = (StayStatus.REPORTED.value, StayStatus.CHECKED_OUT.value, StayStatus.VOIDED.value)
SOURCE = "federation"
# Lodging fields: (JSON name, column, maximum length, required).
LODGING_TEXT = (("name", "name", 160, True), ("type", "lodging_type", 40, True), ("street_address", "street_address", 300, True),
                ("postal_code", "postal_code", 5, False), ("nib", "nib", 13, False), ("person_in_charge", "person_in_charge", 120, False),
                ("phone", "phone", 30, False), ("office", None, 160, False))
REGION_LEVELS = (("province_code", 1), ("regency_code", 2), ("district_code", 3), ("village_code", 4))
# The version action each event leaves in the stay's history here.
ACTIONS = {"reported": "submitted", "corrected": "corrected", "checked_out": "checked_out", "voided": "voided"}


@dataclass
class Applied:
    outcome: str  # "created", "updated", "unchanged"
    stay: Stay
    record: FederatedStay


class Invalid(Exception):
    """The event has bad fields: ``errors`` is a list of {"pointer", "detail"}."""

    def __init__(self, errors: list[dict]):
        super().__init__(errors)
        self.errors = errors


def _positive_id(value) -> bool:
    """A positive integer that fits the database's integer columns (JSON allows any size)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _text(value) -> bool:
    return isinstance(value, str) and "\x00" not in value and _encodable(value)


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_lodging(body) -> tuple[dict, list[dict]]:
    """The mirrored lodging's columns from the event's ``lodging`` member, and its errors."""
    errors: list[dict] = []
    if not isinstance(body, dict):
        return {}, [{"pointer": "/lodging", "detail": "required: a JSON object"}]
    columns: dict = {}
    origin_id = body.get("id")
    if not _positive_id(origin_id):
        errors.append({"pointer": "/lodging/id", "detail": "required: the lodging's id on the sending instance (a positive integer)"})
    for name, column, limit, required in LODGING_TEXT:
        value = body.get(name)
        if value is None or value == "":
            if required:
                errors.append({"pointer": f"/lodging/{name}", "detail": "required"})
            value = ""
        elif not _text(value):
            errors.append({"pointer": f"/lodging/{name}", "detail": "must be a string of Unicode text"})
            continue
        elif len(value.strip()) > limit:
            errors.append({"pointer": f"/lodging/{name}", "detail": f"at most {limit} characters"})
            continue
        columns[column or name] = value.strip()
    parent = None
    for name, level in REGION_LEVELS:
        value = body.get(name)
        region = regions.get(value) if isinstance(value, str) else None
        if region is None or region.level != level:
            errors.append({"pointer": f"/lodging/{name}", "detail": "unknown region code (Kemendagri codes, e.g. 51.03.05)"})
            parent = None
            continue
        if parent is not None and regions.parent_of(region.code) != parent:
            errors.append({"pointer": f"/lodging/{name}", "detail": f"not within {parent}"})
        columns[name] = parent = region.code
    columns["nib"] = columns.get("nib") or None
    return {"origin_id": origin_id, **columns}, errors


def read_stay(body, lodging: Lodging | None) -> tuple[dict, list[dict]]:
    """The stay's origin facts and report values from the event's ``stay`` member, and its errors.
    The report fields go through the report form's own fields (``sync.read_values``)."""
    from serasi_web.api.mapping import (
        check_in_as_local_text,
        pointer_errors,
        read_body,
    )

    if not isinstance(body, dict):
        return {}, [{"pointer": "/stay", "detail": "required: a JSON object"}]
    errors: list[dict] = []
    facts: dict = {}
    for name in ("id", "version"):
        value = body.get(name)
        if not _positive_id(value):
            errors.append({"pointer": f"/stay/{name}", "detail": f"required: a whole number from 1 to {MAX_ID}"})
        facts[name] = value
    if body.get("status") not in STATUSES:
        errors.append({"pointer": "/stay/status", "detail": f"one of {', '.join(STATUSES)}"})
    facts["status"] = body.get("status")
    receipt = body.get("receipt_number")
    if receipt is not None and not (_text(receipt) and 0 < len(receipt) <= 20):
        errors.append({"pointer": "/stay/receipt_number", "detail": "at most 20 characters"})
    facts["receipt_number"] = receipt
    for name in ("reported_at", "checked_out_at"):
        value = body.get(name)
        moment = services.parse_moment(value) if isinstance(value, str) else None
        if value is not None and (moment is None or moment.tzinfo is None):
            errors.append({"pointer": f"/stay/{name}", "detail": "an ISO 8601 date-time with its offset"})
        facts[name] = moment
    if facts["reported_at"] is None and not any(e["pointer"] == "/stay/reported_at" for e in errors):
        errors.append({"pointer": "/stay/reported_at", "detail": "required"})
    if facts["status"] == StayStatus.CHECKED_OUT and facts["checked_out_at"] is None and not any(
            e["pointer"] == "/stay/checked_out_at" for e in errors):
        errors.append({"pointer": "/stay/checked_out_at", "detail": "required for a checked-out stay"})
    reason = body.get("void_reason")
    if reason is not None and not (_text(reason) and len(reason) <= 1000):
        errors.append({"pointer": "/stay/void_reason", "detail": "at most 1000 characters of text"})
    facts["void_reason"] = reason if isinstance(reason, str) else None
    facts["late"] = body.get("late") is True
    sections = {key: value for key, value in body.items() if key in ("guest", "document", "permit", "stay")}
    raw, structural = read_body(sections, "/stay")
    errors.extend(structural)
    if lodging is None or structural:
        return facts, errors
    if "check_in_at" in raw:
        raw["check_in_at"] = check_in_as_local_text(raw["check_in_at"], lodging)
    values, field_errors = read_values(lodging, raw)
    if field_errors:
        # Only the form's own reading of each field: the sender's rules (deadlines, the date of the
        # report) held when it was reported there and are not judged again here.
        errors.extend(pointer_errors({name: message for name, message in field_errors.items() if name not in values}, "/stay"))
    facts["values"] = values = services.complete_values(values)
    # A submitted report needs what the database needs (the stay permit, say): a draft's gaps
    # cannot arrive here, as only submitted reports are sent.
    columns = Stay.__table__.c
    missing = {name: "required" for name in services.REPORT_FIELDS
               if name not in field_errors and values.get(name) in (None, "") and not columns[name].nullable and columns[name].default is None}
    errors.extend(pointer_errors(missing, "/stay"))
    return facts, errors


def mirror_lodging(peer: FederationPeer, columns: dict) -> Lodging:
    """Create or update the mirror of the peer's lodging (no commit)."""
    origin_id = columns.pop("origin_id")
    office_name = columns.pop("office", "")
    link = db.session.execute(select(FederatedLodging).where(
        FederatedLodging.peer_id == peer.id, FederatedLodging.origin_lodging_id == origin_id)).scalar_one_or_none()
    if link is None:
        lodging = Lodging(owner_id=peer.account_id, federation_peer_id=peer.id, status=LodgingStatus.VERIFIED, extra={},
                          **({"person_in_charge": "", "phone": "", "postal_code": ""} | columns))
        route_lodging(lodging)
        db.session.add(lodging)
        db.session.flush()
        db.session.add(FederatedLodging(peer_id=peer.id, origin_lodging_id=origin_id, origin_office=office_name, lodging_id=lodging.id))
        record("federation.lodging_mirrored", lodging, actor_label=f"federation:{peer.name}", lodging_id=lodging.id,
               changes={"origin_lodging_id": origin_id, "office": lodging.office_id})
        return lodging
    lodging = db.session.get(Lodging, link.lodging_id)
    changes = {name: [getattr(lodging, name), value] for name, value in columns.items() if getattr(lodging, name) != value}
    if changes or link.origin_office != office_name:
        for name, (_, value) in changes.items():
            setattr(lodging, name, value)
        if {"village_code", "district_code"} & set(changes):
            route_lodging(lodging)
        link.origin_office, link.updated_at = office_name, utcnow()
        record("federation.lodging_updated", lodging, actor_label=f"federation:{peer.name}", lodging_id=lodging.id, changes=changes)
    return lodging


def _state(stay: Stay, facts: dict, now: datetime) -> None:
    """Set the stay's status and its dates from the sender's facts."""
    stay.status = facts["status"]
    stay.reported_at = facts["reported_at"]
    stay.late = facts["late"]
    if facts["status"] == StayStatus.CHECKED_OUT and stay.checked_out_at != facts["checked_out_at"]:
        stay.checked_out_at, stay.check_out_reported_at = facts["checked_out_at"], now
    if facts["status"] == StayStatus.VOIDED and stay.voided_at is None:
        stay.void_reason, stay.voided_at = facts["void_reason"] or "", now


def _history(stay: Stay, event: str, peer: FederationPeer, facts: dict, changes: dict) -> None:
    from ..audit.models import AuditEvent

    label = f"federation:{peer.name}"
    reason = facts["void_reason"] or "" if event == "voided" else ""
    version, audit, _outbox = services._history_values(stay, ACTIONS[event], None, reason, changes, label)
    db.session.add(StayVersion(stay_id=stay.id, **version))
    db.session.add(AuditEvent(**audit))


def apply_event(peer: FederationPeer, event: str, lodging: Lodging, facts: dict) -> Applied:
    """Apply one stay event (the lodging is mirrored already, uncommitted); commits."""
    link = db.session.execute(select(FederatedStay).where(
        FederatedStay.peer_id == peer.id, FederatedStay.origin_stay_id == facts["id"])).scalar_one_or_none()
    now = utcnow()
    if link is not None:
        stay = db.session.get(Stay, link.stay_id)
        if facts["version"] <= link.origin_version:
            db.session.commit()  # the lodging's own changes, if any
            return Applied("unchanged", stay, link)
        changes = services._apply(stay, facts["values"])
        if stay.status != facts["status"]:
            changes["status"] = [stay.status, facts["status"]]
        _state(stay, facts, now)
        stay.version += 1
        link.origin_version, link.origin_receipt_number, link.updated_at = facts["version"], facts["receipt_number"], now
        _history(stay, event, peer, facts, changes)
        db.session.commit()
        return Applied("updated", stay, link)
    stay = Stay(lodging=lodging, lodging_id=lodging.id, version=1, source=SOURCE, external_id=str(facts["id"]),
                created_at=now, updated_at=now, lodging_pending_at_report=False)
    services._apply(stay, facts["values"])
    _state(stay, facts, now)
    db.session.add(stay)
    db.session.flush()
    link = FederatedStay(peer_id=peer.id, origin_stay_id=facts["id"], origin_receipt_number=facts["receipt_number"],
                         origin_version=facts["version"], stay_id=stay.id, updated_at=now)
    db.session.add(link)
    _history(stay, event, peer, facts, {})
    db.session.commit()
    return Applied("created", stay, link)


def receive(peer: FederationPeer, body) -> Applied:
    """Validate and apply one event body; raises ``Invalid`` (nothing written) on bad fields.
    Two deliveries of the same new stay at the same moment: the second finds the first's."""
    if not isinstance(body, dict):
        raise Invalid([{"pointer": "/", "detail": "must be a JSON object"}])
    errors = [{"pointer": f"/{key}", "detail": "unknown field"} for key in body if key not in ("event", "idempotency_key", "lodging", "stay")]
    event = body.get("event")
    if event not in EVENTS:
        errors.append({"pointer": "/event", "detail": f"one of {', '.join(EVENTS)}"})
    columns, lodging_errors = read_lodging(body.get("lodging"))
    errors.extend(lodging_errors)
    if errors:
        read_stay_errors = read_stay(body.get("stay"), None)[1]
        raise Invalid(errors + read_stay_errors)
    for attempt in range(2):
        lodging = mirror_lodging(peer, dict(columns))
        facts, stay_errors = read_stay(body.get("stay"), lodging)
        if stay_errors:
            db.session.rollback()
            raise Invalid(stay_errors)
        try:
            return apply_event(peer, event, lodging, facts)
        except IntegrityError:
            db.session.rollback()
            if attempt:
                raise
    raise AssertionError("unreachable")
