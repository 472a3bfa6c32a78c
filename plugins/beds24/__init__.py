"""Bundled plugin: a pull adapter for Beds24 (API V2), so that a lodging run on Beds24 has its
foreign guests' stays brought in (``flask serasi sources sync beds24``, or a scheduled pull).

Built from Beds24's public documentation of API V2: https://wiki.beds24.com/index.php/Category:API_V2
(tokens) and the Swagger pages at https://api.beds24.com/v2/ (GET /authentication/token, GET
/bookings). What it does, in the documented terms:

- ``GET /authentication/token`` with the header ``refreshToken: <refresh token>`` answers
  ``{"token": ..., "expiresIn": <seconds>}`` (the wiki: a token is valid 24 hours); every other
  call sends ``token: <token>``. A stored connection keeps the token, encrypted with its
  secrets (``integrations.sources.kept_between_pulls``), and reuses it until TOKEN_MARGIN
  before it expires, so a pull every 15 minutes does not ask for a new one each time; a kept
  token refused (401/403) is replaced once by a new one before the credentials are called
  refused.
- ``GET /bookings?propertyId=..&arrivalTo=<today>&departureFrom=<today - 7 days>
  &includeInfoItems=true&page=N`` answers ``{"success": true, "data": [booking, ...], "pages":
  {"nextPageExists": bool, ...}}``; pages are read while ``nextPageExists`` is true (at most
  MAX_PAGES).
- A booking's fields used: ``id``, ``status`` (new, request, confirmed, cancelled, black,
  inquiry), ``arrival``, ``departure`` (dates, the property's local days), ``arrivalTime``,
  ``firstName``, ``lastName``, ``roomId``, ``unitId``, ``infoItems`` ([{"code", "text"}]).

Beds24 keeps one guest per booking (the booker) and has no field for a nationality, a date of
birth, a sex, a passport or a stay permit. A property that asks its guests for them (guest
questions stored as info items) names those info items ``SERASI_<FIELD>``
(``plugins/pms_mapping.py``); what is not there is left absent, and the report says what is
missing. The shape of ``infoItems`` and of ``pages`` is taken from the documentation's examples;
``arrivalTime`` is read when it is "HH:MM" and ignored otherwise.

Statuses: confirmed and new bookings whose arrival day has come are stays; a booking whose
departure day has passed is checked out at DEFAULT_CHECK_OUT_TIME of that day; black (a blocked
date), inquiry and request bookings give no stay. A cancelled booking gives no stay either; it
is handed on as cancelled (``ExternalStay.cancelled``), so that a report made of it before it
was cancelled (its arrival day had come: a no-show, a mistake) is voided. The base URL is the setting
``BEDS24_API_URL`` (for tests; it defaults to the documented one) and goes through the
outbound checks of ``serasi_web/outbound.py``.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l

from serasi_web import hookimpl
from serasi_web.database import utcnow
from serasi_web.integrations.sources import kept_between_pulls
from serasi_web.outbound import CredentialsRefused, get_json, unexpected
from serasi_web.plugin_types import SourceError, SourceField
from serasi_web.stays.sync import ExternalStay

from .. import pms_mapping as mapping

API_URL = "https://api.beds24.com/v2"
SYSTEM = "Beds24"
MAX_PAGES = 200  # of the documented 100 bookings: 20,000 current bookings, far past any lodging's
LOOKBACK_DAYS = 7  # departures this recent are still pulled, so their check-outs are recorded
STAY_STATUSES = {"confirmed", "new"}
CANCELLED_STATUS = "cancelled"
TOKEN_LIFETIME = timedelta(hours=24)  # the documented validity, when the answer states none
TOKEN_MARGIN = timedelta(hours=1)  # a kept token this close to its expiry is replaced


class Beds24Source:
    name = "beds24"
    label = _l("Beds24 (API V2)")
    fields = (
        SourceField("refresh_token", _l("Refresh token"), secret=True,
                    help=_l("Made in Beds24 from an invite code with the read bookings scope (Settings > Account > "
                            "Account Access).")),
        SourceField("property_id", _l("Property ID"), help=_l("The number of the property in Beds24 (Settings > Properties).")),
        SourceField("room_map", _l("Room names"), required=False,
                    help=_l("Optional: room ID=name pairs separated by commas (e.g. 123=Villa A, 124=Villa B); "
                            "without them the room is the Beds24 room ID.")),
    )
    # No place in Beds24 for these (info items named SERASI_<FIELD> can still carry them).
    cannot_supply = ("nationality", "sex", "date_of_birth", "document_type", "document_number", "issuing_state",
                     "document_expiry", "entry_date", "stay_permit", "purpose")

    def pull(self, lodging, settings):
        refresh_token = (settings.get("refresh_token") or "").strip()
        property_id = (settings.get("property_id") or "").strip()
        if not refresh_token or not (property_id.isascii() and property_id.isdigit()):
            raise SourceError(_l("Enter the refresh token and the property ID (a number) of the Beds24 connection."), retry=False)
        rooms = room_map(settings.get("room_map") or "")
        base = (current_app.config.get("BEDS24_API_URL") or API_URL).rstrip("/")
        kept = kept_between_pulls()
        token = kept_token(kept, refresh_token)
        try:
            return self._bookings(base, token or new_token(base, refresh_token, kept), property_id, rooms, lodging)
        except CredentialsRefused:
            if token is None:
                raise
            kept.clear()  # the kept token was refused (revoked, or Beds24 forgot it): one new try
            return self._bookings(base, new_token(base, refresh_token, kept), property_id, rooms, lodging)

    def _bookings(self, base: str, token: str, property_id: str, rooms: dict[str, str], lodging) -> list[ExternalStay]:
        today = mapping.local_now(lodging).date()
        params = {"propertyId": property_id, "arrivalTo": today.isoformat(),
                  "departureFrom": mapping.days_back(lodging, LOOKBACK_DAYS).isoformat(), "includeInfoItems": "true"}
        stays, read = [], 0
        for page in range(1, MAX_PAGES + 1):
            answer = get_json(SYSTEM, base + "/bookings", headers={"token": token}, params={**params, "page": page})
            if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
                raise unexpected(SYSTEM)
            read += len(answer["data"])
            for booking in answer["data"]:
                if not isinstance(booking, dict) or str(booking.get("propertyId", property_id)) != property_id:
                    continue  # another property's booking (an account with several): never this lodging's guest
                if (stay := booking_stay(booking, lodging, rooms)) is not None:
                    stays.append(stay)
            pages = answer.get("pages")
            if not (isinstance(pages, dict) and pages.get("nextPageExists") is True):
                return stays
        raise mapping.too_many_bookings(SYSTEM, read)


def _fingerprint(refresh_token: str) -> str:
    """Which refresh token a kept token was made from (a token of another one is not reused)."""
    return hashlib.sha256(refresh_token.encode()).hexdigest()[:16]


def kept_token(kept: dict, refresh_token: str) -> str | None:
    """The kept token, while it is good for more than TOKEN_MARGIN and made from this refresh token."""
    try:
        expires = datetime.fromisoformat(kept["expires_at"])
    except (KeyError, TypeError, ValueError):
        return None
    if kept.get("for") != _fingerprint(refresh_token) or not isinstance(kept.get("token"), str) or expires - TOKEN_MARGIN <= utcnow():
        return None
    return kept["token"]


def new_token(base: str, refresh_token: str, kept: dict) -> str:
    """A new token from the refresh token, kept (with its expiry) for the next pulls."""
    answer = get_json(SYSTEM, base + "/authentication/token", headers={"refreshToken": refresh_token})
    token = answer.get("token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise unexpected(SYSTEM)
    lifetime = answer.get("expiresIn")
    lifetime = timedelta(seconds=lifetime) if isinstance(lifetime, int) and lifetime > 0 else TOKEN_LIFETIME
    kept.clear()
    kept.update({"token": token, "expires_at": (utcnow() + min(lifetime, TOKEN_LIFETIME)).isoformat(),
                 "for": _fingerprint(refresh_token)})
    return token


def room_map(text: str) -> dict[str, str]:
    rooms = {}
    for pair in text.split(","):
        room_id, _, name = pair.partition("=")
        if room_id.strip() and name.strip():
            rooms[room_id.strip()] = name.strip()
    return rooms


def booking_stay(booking: dict, lodging, rooms: dict[str, str]) -> ExternalStay | None:
    """The stay a Beds24 booking describes, or None when it is none (yet): not confirmed, not
    arrived, or an Indonesian guest; for a cancelled booking, the cancellation."""
    booking_id = booking.get("id")
    if isinstance(booking_id, int) and booking.get("status") == CANCELLED_STATUS:
        return ExternalStay(str(booking_id), {}, cancelled=True)
    if not isinstance(booking_id, int) or booking.get("status") not in STAY_STATUSES:
        return None
    arrival, departure = mapping.day(booking.get("arrival")), mapping.day(booking.get("departure"))
    if arrival is None:
        return None
    check_in = mapping.check_in_text(arrival, booking.get("arrivalTime"), lodging, arrived=False)
    if check_in is None:
        return None  # the guest may not be here yet: a later pull brings the stay
    values = {"surname": mapping.clean(booking.get("lastName")), "given_names": mapping.clean(booking.get("firstName")),
              "check_in_at": check_in, "planned_check_out": departure.isoformat() if departure else None}
    room_id = mapping.clean(booking.get("roomId"))
    values["room"] = rooms.get(room_id or "", room_id)
    items = booking.get("infoItems") if isinstance(booking.get("infoItems"), list) else []
    values.update(mapping.custom_values((item.get("code"), item.get("text")) for item in items if isinstance(item, dict)))
    for field in ("nationality", "issuing_state"):
        if values.get(field):
            values[field] = mapping.country(values[field]) or values[field]  # an unknown code is reported at the field
    if values.get("nationality") == mapping.INDONESIA:
        return None
    checked_out_at = None
    if departure and departure < mapping.local_now(lodging).date():
        checked_out_at = mapping.checked_out_moment(departure, lodging)
    return ExternalStay(str(booking_id), {name: value for name, value in values.items() if value}, checked_out_at)


@hookimpl(trylast=True)
def serasi_register_stay_sources(register):
    register(Beds24Source())
