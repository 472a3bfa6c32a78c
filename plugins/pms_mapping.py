"""What the pull adapters of property systems (plugins/beds24, plugins/cloudbeds) share: turning
their bookings' values into the report form's fields.

- Countries: the systems send ISO 3166 alpha-2 codes; reports use ICAO's codes (alpha-3, and D
  for Germany), as the OTA receiver does (``plugins.ota_receiver.message.icao_country``).
- Only foreigners are reported: a guest of Indonesian nationality (IDN) is left out.
- The systems have no place for an entry date, a stay permit or (Beds24) a passport. A property
  can still send them: a custom field (Cloudbeds) or an info item (Beds24) named
  ``SERASI_<FIELD>`` (``SERASI_ENTRY_DATE``, ``SERASI_STAY_PERMIT``, ``SERASI_DOCUMENT_NUMBER``,
  any report field's name in capitals) fills that field. What no field supplies stays absent,
  so the report form says what is missing (docs/integrations.md).
- Check-in: the arrival day at the system's arrival time (or DEFAULT_CHECK_IN_TIME), in the
  lodging's local time, as the report form reads it.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Iterable

from flask_babel import lazy_gettext as _l

from serasi_web.database import utcnow
from serasi_web.plugin_types import SourceError
from serasi_web.stays import services

from .ota_receiver.message import icao_country

INDONESIA = "IDN"
CUSTOM_PREFIX = "SERASI_"
DEFAULT_CHECK_IN_TIME = time(14, 0)  # the usual hotel check-in hour, when the system states none
DEFAULT_CHECK_OUT_TIME = time(12, 0)
SEXES = {"m": "M", "male": "M", "f": "F", "female": "F", "x": "X"}

__all__ = ["INDONESIA", "country", "custom_values", "day", "sex", "check_in_text", "checked_out_moment", "local_now", "clean"]


def country(code) -> str | None:
    """An ISO alpha-2 (or alpha-3) code as the report's ICAO code; None when unknown."""
    return icao_country(code) if isinstance(code, str) and code.strip() else None


def day(value) -> date | None:
    """The date of "2026-11-28" or "2026-11-28 14:00:00"; None for anything else (also Cloudbeds'
    "0000-00-00" for an unknown date)."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def sex(value) -> str | None:
    return SEXES.get(value.strip().lower()) if isinstance(value, str) else None


def clean(value) -> str | None:
    """Text as the report wants it: trimmed, None when empty or not text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return value.strip() or None if isinstance(value, str) else None


def custom_values(pairs: Iterable[tuple[object, object]]) -> dict[str, str]:
    """Report fields a property keeps in its system's custom fields named SERASI_<FIELD>."""
    values = {}
    for name, value in pairs:
        if not isinstance(name, str) or not name.upper().startswith(CUSTOM_PREFIX):
            continue
        field = name[len(CUSTOM_PREFIX):].lower()
        if field in services.REPORT_FIELDS and (text := clean(value)):
            values[field] = text
    return values


def local_now(lodging) -> datetime:
    """Now at the lodging, naive local time."""
    return services.to_local(utcnow(), lodging).replace(tzinfo=None)


def arrival_time(text) -> time:
    """A system's arrival time ("15:30", "15:30:00"), or DEFAULT_CHECK_IN_TIME."""
    if isinstance(text, str):
        try:
            return time.fromisoformat(text.strip()[:5])
        except ValueError:
            pass
    return DEFAULT_CHECK_IN_TIME


def check_in_text(arrival: date, time_text, lodging, *, arrived: bool) -> str | None:
    """The check-in as local text for the report form. When that moment is still to come: None
    for a booking whose guest may not have come yet (pulled again later), or the start of the
    arrival day for a guest the system says is in (the same value on every pull, so a pull
    that changes nothing corrects nothing)."""
    moment = datetime.combine(arrival, arrival_time(time_text))
    if moment > local_now(lodging):
        if not arrived:
            return None
        moment = datetime.combine(arrival, time(0, 0))
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def checked_out_moment(departure: date, lodging) -> datetime:
    """When a guest who left on ``departure`` checked out, as UTC: the usual check-out hour, or
    now when that is still to come (the system says the guest has left)."""
    local = datetime.combine(departure, DEFAULT_CHECK_OUT_TIME)
    return min(services.to_utc(local, lodging), utcnow())


def days_back(lodging, days: int) -> date:
    return (local_now(lodging) - timedelta(days=days)).date()


def too_many_bookings(system: str, read: int) -> SourceError:
    """The error when the system lists more current bookings than one pull reads: the pull stops
    before anything is applied, so no guest is left out unseen (the operator is told, and the
    next pull tries again; a wrong property ID is the usual cause)."""
    return SourceError(_l("%(system)s listed more than %(n)d current bookings for this property, more than one pull reads, so "
                          "nothing was applied. Check the property ID; if it is right, tell the administrator.", system=system, n=read))
