"""The API's JSON body <-> the report form's fields, and JSON pointers for errors."""
from __future__ import annotations

from typing import Any

from serasi_web.stays import services

# JSON pointer of each report field, in the body sent by property systems.
POINTERS = {
    "surname": "/guest/surname", "given_names": "/guest/given_names", "sex": "/guest/sex",
    "date_of_birth": "/guest/date_of_birth", "place_of_birth": "/guest/place_of_birth", "nationality": "/guest/nationality",
    "document_type": "/document/type", "document_number": "/document/number", "issuing_state": "/document/issuing_state",
    "document_expiry": "/document/expiry_date",
    "stay_permit": "/permit/kind", "visa_index": "/permit/visa_index", "permit_number": "/permit/number",
    "entry_date": "/permit/entry_date", "port_of_entry": "/permit/port_of_entry", "permit_valid_until": "/permit/valid_until",
    "entry_stamp_qr": "/permit/entry_stamp_qr",
    "check_in_at": "/stay/check_in", "planned_check_out": "/stay/planned_check_out", "room": "/stay/room",
    "purpose": "/stay/purpose", "notes": "/stay/notes",
}
FIELD_OF_POINTER = {pointer: name for name, pointer in POINTERS.items()}
SECTIONS = {"guest", "document", "permit", "stay"}
REQUIRED = ("/guest/surname", "/guest/sex", "/guest/date_of_birth", "/guest/nationality", "/document/number",
            "/document/issuing_state", "/document/expiry_date", "/permit/entry_date", "/stay/check_in", "/stay/purpose")


def read_body(body: Any, prefix: str = "", allowed_top: set[str] = frozenset()) -> tuple[dict[str, Any], list[dict]]:
    """Flatten a stay body to form field values; list every structural problem with its pointer."""
    errors: list[dict] = []
    values: dict[str, Any] = {}
    if not isinstance(body, dict):
        return {}, [{"pointer": prefix or "/", "detail": "must be a JSON object"}]
    for key, section in body.items():
        if key in allowed_top:
            continue
        if key not in SECTIONS:
            errors.append({"pointer": f"{prefix}/{key}", "detail": "unknown field"})
            continue
        if not isinstance(section, dict):
            errors.append({"pointer": f"{prefix}/{key}", "detail": "must be a JSON object"})
            continue
        for name, value in section.items():
            pointer = f"/{key}/{name}"
            field = FIELD_OF_POINTER.get(pointer)
            if field is None:
                errors.append({"pointer": prefix + pointer, "detail": "unknown field"})
            elif value is not None and not isinstance(value, str):
                errors.append({"pointer": prefix + pointer, "detail": "must be a string"})
            elif value is not None and not is_unicode_text(value):
                errors.append({"pointer": prefix + pointer, "detail": "must be Unicode text (a lone surrogate escape such as \\udcff is not)"})
            elif value is not None:
                values[field] = value
    for pointer in REQUIRED:
        field = FIELD_OF_POINTER[pointer]
        if not values.get(field) and not any(e["pointer"] == prefix + pointer for e in errors):
            errors.append({"pointer": prefix + pointer, "detail": "required"})
    return values, errors


def is_unicode_text(value: str) -> bool:
    """False for a string holding a lone surrogate: JSON can carry one as an escape (\\udcff), but
    it is no character, and neither UTF-8 nor the database can store it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


MAX_EXTERNAL_ID = 100  # the column's length


def valid_external_id(external_id) -> bool:
    """A system's own id for a stay: 1-100 printable characters (it travels in URLs)."""
    return isinstance(external_id, str) and 0 < len(external_id) <= MAX_EXTERNAL_ID and external_id.isprintable()


def check_in_as_local_text(value: str, lodging) -> str:
    """ISO 8601 check-in: with an offset it is converted to the lodging's local time; without one
    it already is local time. Returned as text for the form's parser (unparseable text is kept as
    it is, so the form reports it at the field)."""
    moment = services.parse_moment(value)
    if moment is None:
        return value
    if moment.tzinfo is not None:
        moment = services.to_local(moment, lodging).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def pointer_errors(field_errors: dict[str, str], prefix: str = "") -> list[dict]:
    return [{"pointer": prefix + POINTERS.get(name, "/" + name if name else ""), "detail": message}
            for name, message in field_errors.items()]
