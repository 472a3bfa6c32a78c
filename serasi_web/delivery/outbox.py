"""Writing stay events into the outbox, inside the transaction that changes the stay."""
from __future__ import annotations

from datetime import date, datetime, timezone


EVENTS = ("reported", "corrected", "checked_out", "voided")
PAYLOAD_VERSION = 1


def _iso(value):
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def event_payload(event: str, stay) -> dict:
    """The event as every forwarder receives it: the whole report at this version."""
    lodging = stay.lodging
    return {
        "payload_version": PAYLOAD_VERSION,
        "event": event,
        "idempotency_key": f"stay-{stay.id}-v{stay.version}-{event}",
        "stay": {
            "id": stay.id, "version": stay.version, "status": stay.status, "source": stay.source, "external_id": stay.external_id,
            "receipt_number": stay.receipt_number, "deadline": _iso(stay.deadline_at), "reported_at": _iso(stay.reported_at),
            "late": stay.late, "checked_out_at": _iso(stay.checked_out_at), "void_reason": stay.void_reason,
            "guest": {"surname": stay.surname, "given_names": stay.given_names, "sex": stay.sex,
                      "date_of_birth": _iso(stay.date_of_birth), "place_of_birth": stay.place_of_birth, "nationality": stay.nationality},
            "document": {"type": stay.document_type, "number": stay.document_number, "issuing_state": stay.issuing_state,
                         "expiry_date": _iso(stay.document_expiry)},
            "permit": {"kind": stay.stay_permit, "visa_index": stay.visa_index, "number": stay.permit_number,
                       "entry_date": _iso(stay.entry_date), "port_of_entry": stay.port_of_entry,
                       "valid_until": _iso(stay.permit_valid_until), "entry_stamp_qr": stay.entry_stamp_qr},
            "stay": {"check_in": _iso(stay.check_in_at), "planned_check_out": _iso(stay.planned_check_out), "room": stay.room,
                     "purpose": stay.purpose, "notes": stay.notes},
        },
        "lodging": {"id": lodging.id, "name": lodging.name, "type": lodging.lodging_type, "office_id": lodging.office_id,
                    "regency_code": lodging.regency_code, "district_code": lodging.district_code, "village_code": lodging.village_code},
    }


def event_values(event: str, stay) -> dict:
    """The columns of the outbox row for ``event`` (``created_at`` is filled when it is written)."""
    payload = event_payload(event, stay)
    return {"stay_id": stay.id, "lodging_id": stay.lodging_id, "event": event, "stay_version": stay.version,
            "idempotency_key": payload["idempotency_key"], "payload": payload}

