"""``POST /api/ota/v1/HotelResNotif``: a channel manager pushes OpenTravel reservation
notifications; each foreign guest becomes a stay of the token's lodging (docs/ota.md).

The answer is always an ``OTA_HotelResNotifRS``. A message that was read answers HTTP 200 with
Success (and Warnings) or, when it cannot be processed at all (not well-formed, a DTD, a wrong
root or namespace, another hotel's code), with Errors and nothing written, as OpenTravel's
business-level errors travel. Only what is refused before the message is read answers 4xx, with
the same XML body: 401 (no or bad token), 403 (read-only token, disabled account), 413 (too
large), 429 (rate limit).
"""
from __future__ import annotations

import base64
import binascii
import logging
from datetime import datetime, time

from flask import Blueprint, Response, current_app, g, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import RequestEntityTooLarge

from plugins.push_api.auth import authenticate
from serasi_web.extensions import db
from serasi_web.integrations.sources import DRAFT_BLANK_TEXT
from serasi_web.stays import services, sync
from serasi_web.stays.models import Stay, StayStatus

from . import message
from .message import Notice

log = logging.getLogger(__name__)
api = Blueprint("api_ota", __name__, url_prefix="/api/ota/v1")
SOURCE = "ota"
DEFAULT_MAX_BODY = 1024 * 1024  # setting OTA_MAX_BODY
DEFAULT_CHECK_IN_TIME = "14:00"  # setting OTA_CHECK_IN_TIME; a lodging's extra "check_in_time" wins
# Without these not even a draft is saved (its list and its deadline need them). What else a
# report needs (``services.NEEDED_TO_SUBMIT``) a draft may lack, as a property system's
# (``integrations.sources``): the guest waits as a draft, and the answer names the gaps.
DRAFT_NEEDS = ("surname", "check_in_at")
OTA_NAMES = {
    "surname": "PersonName/Surname", "sex": "Customer/@Gender", "date_of_birth": "Customer/@BirthDate",
    "nationality": "CitizenCountryName/@Code", "document_number": "Document/@DocID (DocType 2)",
    "document_type": "Document/@DocID (DocType 2)",  # no Document at all: named once with the number
    "issuing_state": "Document/@DocIssueCountry", "document_expiry": "Document/@ExpireDate", "check_in_at": "RoomStay/TimeSpan/@Start",
    "entry_date": "entry date (SerasiStay/@EntryDate)", "stay_permit": "stay permit (SerasiStay/@StayPermit)",
    "purpose": "purpose (SerasiStay/@Purpose)",
}


def _xml(body: bytes, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="application/xml")


def _error(text: str, ewt: str, code: str, status: int = 200, echo_token: str | None = None, soap: str | None = None) -> Response:
    return _xml(message.response(None, echo_token, errors=[Notice(ewt, code, text)], soap=soap), status)


@api.before_request
def _authenticate():
    """The push API's token check (expiry, scope, disabled owner, rate limit), its refusal
    turned into an OTA error. The token may also come as the password of HTTP Basic (many
    channel managers can only be given a user name and a password)."""
    header = request.headers.get("Authorization", "")
    scheme, _space, credentials = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            _user, _colon, password = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            password = ""
        request.environ["HTTP_AUTHORIZATION"] = f"Bearer {password}" if password else ""
    refusal = authenticate()
    if refusal is None:
        request.max_content_length = current_app.config.get("OTA_MAX_BODY", DEFAULT_MAX_BODY)
        return None
    detail = (refusal.get_json(silent=True) or {}).get("detail") or "Refused."
    ewt = {401: message.EWT_AUTHENTICATION, 403: message.EWT_AUTHORIZATION}.get(refusal.status_code, message.EWT_PROCESSING)
    code = message.ERR_AUTHORIZATION if refusal.status_code in (401, 403) else message.ERR_SYSTEM
    answer = _error(detail, ewt, code, refusal.status_code)
    if "Retry-After" in refusal.headers:
        answer.headers["Retry-After"] = refusal.headers["Retry-After"]
    return answer


@api.post("/HotelResNotif")
def hotel_res_notif():
    limit = request.max_content_length
    if request.content_length and request.content_length > limit:
        return _error(f"The message may be at most {limit} bytes.", message.EWT_PROCESSING, message.ERR_UNABLE, 413)
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:  # no Content-Length, and more than the limit arrived
        return _error(f"The message may be at most {limit} bytes.", message.EWT_PROCESSING, message.ERR_UNABLE, 413)
    try:
        notification = message.parse(body)
    except message.MessageError as error:
        return _error(error.text, error.ewt, error.code, soap=error.soap)
    # Every reservation must be for this token's lodging before anything is written.
    own = str(g.lodging.id)
    for reservation in notification.reservations:
        if not reservation.hotel_codes or "" in reservation.hotel_codes:
            return _error(f"Reservation {reservation.res_id}: RoomStay/BasicPropertyInfo/@HotelCode is missing.",
                          message.EWT_REQUIRED_FIELD, message.ERR_REQUIRED_FIELD, echo_token=notification.echo_token, soap=notification.soap)
        if any(code != own for code in reservation.hotel_codes):
            return _error(f"Reservation {reservation.res_id}: HotelCode must be this token's lodging ({own}).",
                          message.EWT_AUTHORIZATION, message.ERR_INVALID_HOTEL, echo_token=notification.echo_token, soap=notification.soap)
    warnings: list[Notice] = []
    try:
        for reservation in notification.reservations:
            warnings += _apply(reservation)
    except OperationalError:
        db.session.rollback()
        log.error("ota: the database failed while applying a notification")
        return _error("The database is unavailable; send the message again later.", message.EWT_PROCESSING, message.ERR_SYSTEM, 503,
                      echo_token=notification.echo_token, soap=notification.soap)
    return _xml(message.response(notification, notification.echo_token, warnings=warnings, reservations=notification.reservations,
                                 soap=notification.soap))


# ---- one reservation ----------------------------------------------------------------------

def _actor_label() -> str:
    return f"ota:{g.api_token.name}"


def _apply(reservation: message.Reservation) -> list[Notice]:
    if reservation.status in message.CANCEL_STATUSES:
        return _cancel(reservation)
    if reservation.status not in message.UPSERT_STATUSES:
        return [Notice(message.EWT_BIZ_RULE, message.ERR_UNABLE,
                       f"Reservation {reservation.res_id}: ResStatus {reservation.status!r} is not processed (Commit, Book, Modify or Cancel are).")]
    notices = []
    for guest in reservation.guests:
        label = f"Reservation {reservation.res_id}, guest {guest.rph}"
        external_id = f"{reservation.res_id}/{guest.rph}"
        try:
            try:
                notice = _apply_guest(external_id, guest, label)
            except IntegrityError:
                # The same message arrived twice at the same moment: the other request created the
                # stay; this one now finds it (and, with the same content, changes nothing).
                db.session.rollback()
                notice = _apply_guest(external_id, guest, label)
        except OperationalError:
            raise
        except Exception as error:  # noqa: BLE001 - one guest must not stop the others
            db.session.rollback()
            # Only the kind of error: a database error's text holds the guest's values.
            log.error("ota: reservation %s guest %s could not be saved (%s)", reservation.res_id, guest.rph, type(error).__name__)
            notice = Notice(message.EWT_PROCESSING, message.ERR_SYSTEM, f"{label}: could not be saved (the error was logged).")
        if notice is not None:
            notices.append(notice)
    return notices


def _check_in_text(value: str) -> str | None:
    """TimeSpan/@Start as the lodging's local time: a date-time is converted (with an offset) or
    taken as local; a date gets the lodging's check-in time."""
    if len(value) > 10:
        moment = services.parse_moment(value)
        if moment is None:
            return None
        if moment.tzinfo is not None:
            moment = services.to_local(moment, g.lodging).replace(tzinfo=None)
        return moment.strftime("%Y-%m-%dT%H:%M:%S")
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
        at = time.fromisoformat((g.lodging.extra or {}).get("check_in_time") or current_app.config.get("OTA_CHECK_IN_TIME", DEFAULT_CHECK_IN_TIME))
    except (ValueError, TypeError):
        return None
    return datetime.combine(day, at).strftime("%Y-%m-%dT%H:%M:%S")


def _apply_guest(external_id: str, guest: message.Guest, label: str) -> Notice | None:
    """Create, change or leave alone the stay of one guest; the notice to answer with, if any."""
    if guest.citizen == "IDN":
        return Notice(message.EWT_ADVISORY, message.ERR_UNABLE, f"{label}: an Indonesian citizen; only foreign guests are reported.")
    raw = dict(guest.values)
    if "check_in_at" in raw:
        converted = _check_in_text(raw["check_in_at"])
        if converted is None:
            return Notice(message.EWT_BIZ_RULE, message.ERR_UNABLE, f"{label}: TimeSpan/@Start is not a date or date-time.")
        raw["check_in_at"] = converted
    missing = [name for name in DRAFT_NEEDS if not raw.get(name)]
    if missing:
        return Notice(message.EWT_REQUIRED_FIELD, message.ERR_REQUIRED_FIELD,
                      f"{label}: not saved, the message lacks {', '.join(OTA_NAMES[name] for name in missing)}; "
                      "the lodging reports this guest at check-in.")
    check_in = services.parse_moment(raw["check_in_at"])
    if services.to_utc(check_in, g.lodging) > services.utcnow() + services.FUTURE_TOLERANCE:
        return Notice(message.EWT_ADVISORY, message.ERR_UNABLE,
                      f"{label}: arrives on {raw['check_in_at'][:10]}; a guest is reported once checked in: "
                      "send the reservation again on or after arrival.")
    digest = sync.content_hash(raw)
    existing = sync.find_external(g.lodging, SOURCE, external_id)
    if existing is not None and existing.external_hash == digest:
        return _draft_notice(label, existing, raw) if existing.status == StayStatus.DRAFT else None  # the same message again
    if existing is not None and existing.status == StayStatus.VOIDED:
        return Notice(message.EWT_BIZ_RULE, message.ERR_UNABLE, f"{label}: this guest's stay was voided; it is not brought back.")
    parsed, errors = sync.read_values(g.lodging, raw)
    errors = {name: text for name, text in errors.items() if name in raw or name == ""}  # a missing field is not an error here
    if errors:
        return _invalid(label, errors)
    complete = all(raw.get(name) for name in services.NEEDED_TO_SUBMIT)
    extra = {"external_hash": digest}
    try:
        if existing is None:
            # The gaps as a pulled booking's draft has them: the dates NULL (absent here), the text blank.
            values = parsed | {name: parsed.get(name) or "" for name in DRAFT_BLANK_TEXT}
            stay = services.create_stay(g.lodging, values, None, submit=complete, actor_label=_actor_label(),
                                        extra={"source": SOURCE, "external_id": external_id} | extra).stay
        else:
            # Only what the message says, over what the stay holds: the operator's completion of
            # a draft (a passport, the entry date, permit, purpose) is kept.
            values = {name: getattr(existing, name) for name in services.REPORT_FIELDS} | {
                name: value for name, value in parsed.items() if name in raw}
            if existing.status == StayStatus.DRAFT:
                services.update_draft(existing, values, None, submit=complete, actor_label=_actor_label(), extra=extra)
            else:
                services.correct(existing, values, f"updated by {_actor_label()}", None, actor_label=_actor_label(), extra=extra)
            stay = existing
    except services.DuplicateStay:
        db.session.rollback()
        return Notice(message.EWT_BIZ_RULE, message.ERR_UNABLE, f"{label}: this guest already has an open stay at this lodging.")
    except services.StayError as error:
        db.session.rollback()
        return _invalid(label, error.field_errors)
    return _draft_notice(label, stay, raw) if stay is not None and stay.status == StayStatus.DRAFT else None


def _draft_notice(label: str, stay: Stay, raw: dict) -> Notice:
    lacking = list(dict.fromkeys(OTA_NAMES[name] for name in services.NEEDED_TO_SUBMIT if not raw.get(name)))
    return Notice(message.EWT_ADVISORY, message.ERR_REQUIRED_FIELD,
                  f"{label}: kept as a draft for the lodging to complete and submit; the message lacks {', '.join(lacking) or 'nothing'}.")


def _invalid(label: str, errors: dict[str, str]) -> Notice:
    detail = "; ".join(f"{OTA_NAMES.get(name, name) or 'stay'}: {text}" for name, text in errors.items())
    return Notice(message.EWT_BIZ_RULE, message.ERR_UNABLE, f"{label}: not saved: {detail}")


def _cancel(reservation: message.Reservation) -> list[Notice]:
    """Void every open stay of the reservation (drafts too: nothing is deleted, the record keeps
    the reason). A guest already checked out stayed: that report is left as it is."""
    prefix = reservation.res_id + "/"
    stays = db.session.execute(select(Stay).where(Stay.lodging_id == g.lodging.id, Stay.source == SOURCE,
                                                  Stay.external_id.startswith(prefix, autoescape=True))).scalars().all()
    notices = []
    for stay in stays:
        guest = stay.external_id[len(prefix):]
        if stay.status in (StayStatus.DRAFT, StayStatus.REPORTED):
            services.void(stay, f"Reservation {reservation.res_id} cancelled ({_actor_label()})", None, actor_label=_actor_label())
        elif stay.status == StayStatus.CHECKED_OUT:
            notices.append(Notice(message.EWT_BIZ_RULE, message.ERR_UNABLE,
                                  f"Reservation {reservation.res_id}, guest {guest}: already checked out; the report stays."))
    return notices
