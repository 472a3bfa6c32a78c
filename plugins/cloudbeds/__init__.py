"""Bundled plugin: a pull adapter for Cloudbeds (PMS API v1.2), so that a lodging run on Cloudbeds
has its foreign guests' stays brought in (``flask serasi sources sync cloudbeds``, or a
scheduled pull).

Built from Cloudbeds' public API documentation (https://hotels.cloudbeds.com/api/v1.2/docs/,
and the models of the official client, github.com/cloudbeds/cloudbeds-api-python: getReservations,
getReservation, GetReservationResponseDataGuestListValue). What it does, in the documented terms:

- Authentication: an API key in the ``x-api-key`` header (the documented alternative, an OAuth
  access token as ``Authorization: Bearer``, is not used: a key does not expire).
- ``GET /getReservations?propertyID=..&checkInTo=<today>&checkOutFrom=<today - 7 days>
  &pageNumber=N&pageSize=100`` answers ``{"success": true, "data": [reservation, ...], "count":
  n, "total": N}``; pages are read until ``total`` reservations came (at most MAX_PAGES).
- ``GET /getReservation?reservationID=..&propertyID=..`` for each reservation whose ``status`` is
  ``checked_in`` or ``checked_out`` (the documented statuses: not_confirmed, confirmed,
  canceled, checked_in, checked_out, no_show): its ``guestList`` maps guest IDs to guests with
  ``guestFirstName``, ``guestLastName``, ``guestGender``, ``guestBirthdate``,
  ``guestDocumentType``, ``guestDocumentNumber``, ``guestDocumentIssuingCountry`` (ISO alpha-2),
  ``guestDocumentExpirationDate``, ``roomName``, ``isAnonymized`` and ``customFields``
  ([{"customFieldName", "customFieldValue"}]); the reservation has ``startDate``, ``endDate``,
  ``estimatedArrivalTime`` ("HH:MM") and ``assigned`` rooms (``roomName``).

One stay per guest: the external id is "<reservationID>-<guestID>". Cloudbeds has no nationality
field (``guestCountry`` is the address's country, which says nothing of nationality), so the
nationality is the passport's issuing state when the document is a passport; it has no place for
an entry date, a stay permit or a purpose. A property can keep those in guest or reservation
custom fields named ``SERASI_<FIELD>`` (``plugins/pms_mapping.py``); what is not there is left
absent, and the report says what is missing. Canceled, no-show and not yet checked-in
reservations give no stay; a canceled or no-show one is read too (getReservation, for its
guests' IDs) and handed on as cancelled (``ExternalStay.cancelled``), so that a report made of
it while it was checked in (a check-in undone, then canceled) is voided; a checked-out one is checked out at DEFAULT_CHECK_OUT_TIME of its
end date (or now, if earlier), since the API states no check-out time. Dates "0000-00-00"
(Cloudbeds' unknown date) are left absent. The base URL is the setting ``CLOUDBEDS_API_URL``
(for tests; it defaults to the documented one) and goes through the outbound checks of
``serasi_web/outbound.py``.
"""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

from serasi_web import hookimpl
from serasi_web.outbound import get_json, unexpected
from serasi_web.plugin_types import SourceError, SourceField
from serasi_web.stays.sync import ExternalStay

from .. import pms_mapping as mapping

API_URL = "https://api.cloudbeds.com/api/v1.2"
SYSTEM = "Cloudbeds"
PAGE_SIZE = 100
MAX_PAGES = 50
LOOKBACK_DAYS = 7  # check-outs this recent are still pulled, so they are recorded
STAY_STATUSES = {"checked_in", "checked_out"}
CANCELLED_STATUSES = {"canceled", "no_show"}  # the documented spellings: no guest stayed


class CloudbedsSource:
    name = "cloudbeds"
    label = _l("Cloudbeds")
    fields = (
        SourceField("api_key", _l("API key"), secret=True,
                    help=_l("Made in Cloudbeds under Apps & Marketplace > API Credentials, with the read reservations "
                            "and guests scopes.")),
        SourceField("property_id", _l("Property ID"), help=_l("The property's ID in Cloudbeds.")),
    )
    # No place in Cloudbeds for these (custom fields named SERASI_<FIELD> can still carry them).
    cannot_supply = ("entry_date", "stay_permit", "purpose")

    def pull(self, lodging, settings):
        api_key = (settings.get("api_key") or "").strip()
        property_id = (settings.get("property_id") or "").strip()
        if not api_key or not (property_id.isascii() and property_id.isdigit()):
            raise SourceError(_l("Enter the API key and the property ID (a number) of the Cloudbeds connection."), retry=False)
        base = (current_app.config.get("CLOUDBEDS_API_URL") or API_URL).rstrip("/")
        headers = {"x-api-key": api_key}
        params = {"propertyID": property_id, "checkInTo": mapping.local_now(lodging).date().isoformat(),
                  "checkOutFrom": mapping.days_back(lodging, LOOKBACK_DAYS).isoformat(), "pageSize": PAGE_SIZE}
        listed: list[dict] = []
        for page in range(1, MAX_PAGES + 1):
            data, total = _data(get_json(SYSTEM, base + "/getReservations", headers=headers, params={**params, "pageNumber": page}))
            if not isinstance(data, list):
                raise unexpected(SYSTEM)
            listed.extend(item for item in data if isinstance(item, dict))
            if not data or not isinstance(total, int) or len(listed) >= total:
                break
        else:
            raise mapping.too_many_bookings(SYSTEM, len(listed))
        stays = []
        for summary in listed:
            if summary.get("status") not in STAY_STATUSES | CANCELLED_STATUSES or not mapping.clean(summary.get("reservationID")):
                continue
            reservation, _ = _data(get_json(SYSTEM, base + "/getReservation", headers=headers,
                                            params={"reservationID": mapping.clean(summary["reservationID"]), "propertyID": property_id}))
            if not isinstance(reservation, dict):
                raise unexpected(SYSTEM)
            stays.extend(reservation_stays(reservation, lodging))
        return stays


def _data(answer) -> tuple[object, object]:
    """(data, total) of a documented answer {"success": true, "data": ..., "total": N}."""
    if not isinstance(answer, dict) or answer.get("success") is not True:
        raise unexpected(SYSTEM)
    return answer.get("data"), answer.get("total")


def _custom(fields) -> list[tuple[object, object]]:
    return [(field.get("customFieldName"), field.get("customFieldValue")) for field in fields or () if isinstance(field, dict)] \
        if isinstance(fields, list) else []


def reservation_stays(reservation: dict, lodging) -> list[ExternalStay]:
    """One stay per foreign guest of a checked-in or checked-out reservation; for a canceled or
    no-show one, each guest's cancellation."""
    status = reservation.get("status")
    reservation_id = mapping.clean(reservation.get("reservationID"))
    guests = reservation.get("guestList")
    if status in CANCELLED_STATUSES and reservation_id and isinstance(guests, dict):
        return [ExternalStay(f"{reservation_id}-{mapping.clean(guest_id)}", {}, cancelled=True)
                for guest_id in sorted(guests) if mapping.clean(guest_id)]
    start, end = mapping.day(reservation.get("startDate")), mapping.day(reservation.get("endDate"))
    if status not in STAY_STATUSES or not reservation_id or start is None:
        return []
    check_in = mapping.check_in_text(start, reservation.get("estimatedArrivalTime"), lodging, arrived=True)
    assigned = [room for room in reservation.get("assigned") or () if isinstance(room, dict)] \
        if isinstance(reservation.get("assigned"), list) else []
    checked_out_at = mapping.checked_out_moment(end, lodging) if status == "checked_out" and end else None
    shared = mapping.custom_values(_custom(reservation.get("customFields")))
    stays = []
    for guest_id, guest in sorted(guests.items()) if isinstance(guests, dict) else ():
        if not isinstance(guest, dict) or guest.get("isAnonymized") is True or not mapping.clean(guest_id):
            continue
        values = guest_values(guest)
        values.update({"check_in_at": check_in, "planned_check_out": end.isoformat() if end else None,
                       **shared, **mapping.custom_values(_custom(guest.get("customFields")))})
        values["room"] = values.get("room") or mapping.clean(guest.get("roomName")) or \
            next((mapping.clean(room.get("roomName")) for room in assigned if mapping.clean(room.get("roomName"))), None)
        for field in ("nationality", "issuing_state"):
            if values.get(field):
                values[field] = mapping.country(values[field]) or values[field]  # an unknown code is reported at the field
        if values.get("nationality") == mapping.INDONESIA:
            continue
        stays.append(ExternalStay(f"{reservation_id}-{mapping.clean(guest_id)}", {k: v for k, v in values.items() if v}, checked_out_at))
    return stays


def guest_values(guest: dict) -> dict:
    """A guest of ``guestList`` in the report form's fields (nationality: a passport's issuing state)."""
    document_type = (mapping.clean(guest.get("guestDocumentType")) or "").lower()
    issuing = mapping.clean(guest.get("guestDocumentIssuingCountry"))
    birth, expiry = mapping.day(guest.get("guestBirthdate")), mapping.day(guest.get("guestDocumentExpirationDate"))
    values = {
        "surname": mapping.clean(guest.get("guestLastName")), "given_names": mapping.clean(guest.get("guestFirstName")),
        "sex": mapping.sex(guest.get("guestGender")), "date_of_birth": birth.isoformat() if birth else None,
        "document_number": mapping.clean(guest.get("guestDocumentNumber")), "issuing_state": issuing,
        "document_expiry": expiry.isoformat() if expiry else None,
    }
    if document_type == "passport":
        values["document_type"] = "passport"
        values["nationality"] = issuing
    elif document_type and document_type not in ("na", "n/a", "none"):
        values["document_type"] = "other"
    return values


@hookimpl(trylast=True)
def serasi_register_stay_sources(register):
    register(CloudbedsSource())
