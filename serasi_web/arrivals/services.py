"""Self check-in without a request: poster codes, a party's arrival, approval, expiry.

Approval reports each guest through ``stays.services.create_stay`` (the report form's rules,
the 24-hour deadline from the check-in the operator confirms), all guests in one transaction,
and only when the arrival is still waiting: two approvals at once give one report per guest.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update

from ..audit.services import record
from ..database import utcnow
from ..extensions import db
from ..lodgings.models import Lodging, LodgingStatus
from ..stays import services as stays
from ..stays.models import Stay
from .models import Arrival, ArrivalGuest, ArrivalStatus, SelfCheckIn

log = logging.getLogger(__name__)

# No 0/O, 1/I/L: a code may be typed from the poster.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10
OPEN_STATUSES = (ArrivalStatus.COLLECTING.value, ArrivalStatus.WAITING.value)


class ArrivalError(Exception):
    """A rule of self check-in was broken; ``message`` says which in the reader's words."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class AlreadyDecided(ArrivalError):
    """Another tab (or person) approved or rejected this arrival first."""


class ApprovalProblems(stays.StayError):
    """Rules broken by the guests: ``by_guest`` maps a guest's position to {field: message};
    ``field_errors`` holds the problems of the stay (dates, room) and of the whole report."""

    def __init__(self, field_errors: dict[str, str], by_guest: dict[int, dict[str, str]]):
        super().__init__(field_errors)
        self.by_guest = by_guest


# ---- the lodging's setting and its poster ---------------------------------------------------

def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def setting_of(lodging: Lodging) -> SelfCheckIn | None:
    return db.session.execute(select(SelfCheckIn).where(SelfCheckIn.lodging_id == lodging.id)).scalar_one_or_none()


def switch_on(lodging: Lodging, actor) -> SelfCheckIn:
    """Switch self check-in on (with a new poster code the first time)."""
    setting = setting_of(lodging)
    if setting is None:
        setting = SelfCheckIn(lodging_id=lodging.id, poster_code=new_code(), enabled=True)
        db.session.add(setting)
        db.session.flush()
    setting.enabled = True
    record("arrival.self_check_in_on", lodging, actor, lodging_id=lodging.id)
    db.session.commit()
    return setting


def switch_off(setting: SelfCheckIn, actor) -> None:
    setting.enabled = False
    record("arrival.self_check_in_off", setting.lodging, actor, lodging_id=setting.lodging_id)
    db.session.commit()


def rotate_code(setting: SelfCheckIn, actor) -> str:
    """A new poster code; the printed posters with the old one stop working at once."""
    setting.poster_code = new_code()
    setting.code_changed_at = utcnow()
    record("arrival.poster_rotated", setting.lodging, actor, lodging_id=setting.lodging_id)
    db.session.commit()
    return setting.poster_code


def save_preferences(setting: SelfCheckIn, notify_by_email: bool, expiry_hours: int, actor) -> None:
    setting.notify_by_email = notify_by_email
    setting.expiry_hours = expiry_hours
    record("arrival.settings_changed", setting.lodging, actor, lodging_id=setting.lodging_id,
           changes={"notify_by_email": notify_by_email, "expiry_hours": expiry_hours})
    db.session.commit()


def poster_refusal(lodging: Lodging) -> str | None:
    """Why guests cannot check themselves in at ``lodging`` now, or None when they can. Only a
    verified lodging gets a working poster: the office has not vouched for any other."""
    if lodging.status == LodgingStatus.REJECTED:
        return str(_l("The immigration office rejected this lodging: guests cannot check in here online. Please go to the reception."))
    if lodging.status == LodgingStatus.SUSPENDED:
        return str(_l("The immigration office suspended this lodging: guests cannot check in here online. Please go to the reception."))
    if lodging.status != LodgingStatus.VERIFIED:
        return str(_l("This lodging is not verified by the immigration office yet: guests cannot check in here online. Please go to the reception."))
    return None


def find_poster(code: str) -> SelfCheckIn | None:
    """The setting whose current poster code is ``code`` (any case), or None."""
    code = (code or "").strip().upper()
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        return None
    return db.session.execute(select(SelfCheckIn).where(SelfCheckIn.poster_code == code)).scalar_one_or_none()


# ---- the guest's side -----------------------------------------------------------------------

def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_by_token(token: str) -> Arrival | None:
    if not token or len(token) > 64 or not token.isascii():
        return None
    return db.session.execute(select(Arrival).where(Arrival.token_hash == token_hash(token))).scalar_one_or_none()


def waiting_count(lodging_id: int) -> int:
    return db.session.scalar(select(func.count(Arrival.id)).where(Arrival.lodging_id == lodging_id, Arrival.status.in_(OPEN_STATUSES))) or 0


def start_arrival(setting: SelfCheckIn, values: dict, language: str, now: datetime | None = None) -> tuple[Arrival, str]:
    """A new arrival with its stay dates; returns it with the status page's capability (shown
    once, to this guest). Raises ArrivalError when the lodging has too many waiting."""
    now = now or utcnow()
    if waiting_count(setting.lodging_id) >= current_app.config["ARRIVALS_MAX_WAITING"]:
        raise ArrivalError(_l("Too many check-ins are waiting for this lodging right now. Please go to the reception."))
    errors = stays.check_dates(values, setting.lodging, now)
    if errors:
        raise stays.StayError(errors)
    token = secrets.token_urlsafe(32)
    arrival = Arrival(lodging_id=setting.lodging_id, token_hash=token_hash(token), status=ArrivalStatus.COLLECTING,
                      language=language, email=values.get("email") or "", check_in_at=values["check_in_at"],
                      planned_check_out=values.get("planned_check_out"), purpose=values["purpose"], created_at=now,
                      expires_at=now + timedelta(hours=setting.expiry_hours))
    db.session.add(arrival)
    db.session.flush()
    record("arrival.started", arrival, actor_label="guest", lodging_id=arrival.lodging_id)
    db.session.commit()
    return arrival, token


def _as_json(values: dict) -> dict:
    return {name: value.isoformat() if isinstance(value, (date, datetime)) else value for name, value in values.items()}


def guest_values(guest: ArrivalGuest) -> dict:
    """The guest's fields with dates as dates again."""
    values = dict(guest.values)
    for name in ("date_of_birth", "document_expiry", "entry_date", "permit_valid_until"):
        if values.get(name):
            values[name] = date.fromisoformat(values[name])
    return values


def stay_values(arrival: Arrival) -> dict:
    return {"check_in_at": arrival.check_in_at, "planned_check_out": arrival.planned_check_out, "purpose": arrival.purpose,
            "room": "", "notes": ""}


def is_minor_on(birth: date | None, arrival: Arrival) -> bool:
    return bool(birth) and stays.age_on(birth, stays.to_local(arrival.check_in_at, arrival.lodging).date()) < stays.ADULT_AGE


def adults_of(arrival: Arrival) -> list[ArrivalGuest]:
    return [g for g in arrival.guests if not is_minor_on(guest_values(g).get("date_of_birth"), arrival)]


def guest_problems(arrival: Arrival, values: dict, adult_position: int | None) -> dict[str, str]:
    """The report's rules (as a draft: the operator completes the permit) for one guest."""
    values = stays.complete_values(values | stay_values(arrival))
    problems = stays.rule_problems(arrival.lodging, values, submit=False)
    if any(g.values.get("document_number") == values["document_number"] and g.values.get("issuing_state") == values["issuing_state"]
           for g in arrival.guests):
        problems["document_number"] = str(_l("This document is already in your party."))
    if is_minor_on(values.get("date_of_birth"), arrival) and adult_position is None:
        problems["accompanying_stay_id"] = str(_l("A guest under 18 needs an accompanying adult: add the adult first, then choose them here."))
    return problems


def add_guest(arrival: Arrival, values: dict, adult_position: int | None) -> ArrivalGuest:
    """Add one member to a party still being collected. Raises StayError / ArrivalError."""
    if arrival.status != ArrivalStatus.COLLECTING:
        raise ArrivalError(_l("These details were already sent to the lodging."))
    if len(arrival.guests) >= current_app.config["ARRIVALS_MAX_GUESTS"]:
        raise ArrivalError(_l("A party can have at most %(count)d guests. Start a new check-in for the others.",
                              count=current_app.config["ARRIVALS_MAX_GUESTS"]))
    stored = _as_json({name: values.get(name) for name in stays.GUEST_FIELDS})
    same = next((g for g in arrival.guests if g.values == stored and g.adult_position == adult_position), None)
    if same is not None:
        return same  # the same form sent twice (a double tap, a resent POST): added once
    if problems := guest_problems(arrival, values, adult_position):
        raise stays.StayError(problems)
    position = max((g.position for g in arrival.guests), default=0) + 1
    guest = ArrivalGuest(arrival_id=arrival.id, position=position, values=stored, adult_position=adult_position)
    arrival.guests.append(guest)
    db.session.commit()
    return guest


def remove_guest(arrival: Arrival, position: int) -> None:
    if arrival.status != ArrivalStatus.COLLECTING:
        raise ArrivalError(_l("These details were already sent to the lodging."))
    for guest in list(arrival.guests):
        if guest.position == position or guest.adult_position == position:
            arrival.guests.remove(guest)  # a minor goes with the adult they were linked to
    db.session.commit()


def send(arrival: Arrival, status_url: str = "", now: datetime | None = None) -> None:
    """The guest sends the party to the lodging: it waits for the operator's approval.
    ``status_url``: the guest's status page, mailed to the guest when they gave an address."""
    now = now or utcnow()
    if arrival.status != ArrivalStatus.COLLECTING:
        return  # sent already (a resent form): nothing to do
    if not arrival.guests:
        raise ArrivalError(_l("Add at least one guest first."))
    setting = setting_of(arrival.lodging)
    if setting is None or not setting.enabled:
        raise ArrivalError(_l("This lodging does not take online check-ins at the moment. Please go to the reception."))
    if refusal := poster_refusal(arrival.lodging):
        raise ArrivalError(refusal)
    arrival.status = ArrivalStatus.WAITING
    arrival.sent_at = now
    record("arrival.sent", arrival, actor_label="guest", lodging_id=arrival.lodging_id, changes={"guests": len(arrival.guests)})
    db.session.commit()
    if setting.notify_by_email:
        _notify_operator(arrival)
    if arrival.email and status_url:
        _mail_guest(arrival, status_url)


def _notify_operator(arrival: Arrival) -> None:
    from ..links import public_url
    from ..notifications.mail import mail_configured
    from ..notifications.services import notify

    if mail_configured():
        notify(arrival.lodging.owner, "arrival_waiting", f"arrival-{arrival.id}", "arrival_waiting", arrival=arrival,
               lodging=arrival.lodging, review_url=public_url("arrivals.review", arrival_id=arrival.id))


def _mail_guest(arrival: Arrival, status_url: str) -> None:
    """The guest asked for an e-mail: the lodging's name and the link to their status page. The
    subject names the lodging only, never a guest."""
    from flask import render_template
    from flask_babel import force_locale

    from ..notifications.mail import mail_configured, send_mail

    if not mail_configured():
        return
    with force_locale(arrival.language):
        subject = render_template("emails/arrival_received_subject.txt", lodging=arrival.lodging).strip()
        body = render_template("emails/arrival_received.txt", lodging=arrival.lodging, status_url=status_url)
    try:
        send_mail(arrival.email, subject, body)
    except Exception:  # the details reached the lodging; the mail is only a courtesy
        log.warning("arrival %s: the guest's e-mail was not sent", arrival.id, exc_info=True)


# ---- the operator's side --------------------------------------------------------------------

def waiting_for(owner_id: int, lodging_id: int | None = None) -> list[Arrival]:
    query = (select(Arrival).join(Lodging, Arrival.lodging_id == Lodging.id)
             .where(Lodging.owner_id == owner_id, Arrival.status == ArrivalStatus.WAITING).order_by(Arrival.sent_at))
    if lodging_id:
        query = query.where(Arrival.lodging_id == lodging_id)
    return db.session.execute(query.limit(100)).scalars().all()


def approve(arrival: Arrival, guests: dict[int, dict], stay: dict, actor, now: datetime | None = None) -> list[Stay]:
    """Report every guest of the waiting ``arrival`` with the values the operator checked:
    ``guests`` maps a guest's position to its guest fields, ``stay`` holds the confirmed
    check-in (UTC), planned check-out, room, purpose and notes. All guests or none.

    Raises ApprovalProblems (nothing written), AlreadyDecided (approved or rejected meanwhile:
    nothing written twice), LodgingRefused (a rejected or suspended lodging)."""
    now = now or utcnow()
    if arrival.status != ArrivalStatus.WAITING:
        raise AlreadyDecided(decided_message(arrival))
    lodging = arrival.lodging
    stays.refuse_unless_may_report(lodging)
    members = sorted(arrival.guests, key=lambda g: g.position)

    def minor_at(values: dict) -> bool:
        born = values.get("date_of_birth")
        return bool(born) and stays.age_on(born, stays.to_local(values["check_in_at"], lodging).date()) < stays.ADULT_AGE
    by_guest: dict[int, dict[str, str]] = {}
    common: dict[str, str] = {}
    complete: dict[int, dict] = {}
    for guest in members:
        values = stays.complete_values(guests[guest.position] | stay)
        problems = stays.report_problems(lodging, values, submit=True, now=now)
        for name in stays.STAY_FIELDS + ("",):
            if name in problems:
                common[name] = problems.pop(name)
        duplicate = stays.find_open_duplicate(lodging, values["document_number"], values["issuing_state"])
        if duplicate is not None:
            problems["document_number"] = str(_l("This guest is already reported at this lodging (receipt %(number)s): "
                                                 "remove them from this arrival, or void or check out that report first.",
                                                 number=duplicate.receipt_number or "—"))
        adult = next((g for g in members if g.position == guest.adult_position), None)
        if minor_at(values) and (adult is None or minor_at(stays.complete_values(guests[adult.position] | stay))):
            problems["accompanying_stay_id"] = str(_l("A guest under 18 needs an accompanying adult of this party."))
        if problems:
            by_guest[guest.position] = problems
        complete[guest.position] = values
    if by_guest or common:
        db.session.refresh(arrival)
        if arrival.status != ArrivalStatus.WAITING:  # approved meanwhile: its own reports are the "duplicates"
            raise AlreadyDecided(decided_message(arrival))
        raise ApprovalProblems(common, by_guest)

    # Adults first: a minor's report names its adult's report.
    order = sorted(members, key=lambda g: g.adult_position is not None)
    made: dict[int, Stay] = {}
    with stays.one_transaction():
        claimed = db.session.execute(
            update(Arrival).where(Arrival.id == arrival.id, Arrival.status == ArrivalStatus.WAITING)
            .values(status=ArrivalStatus.APPROVED, decided_at=now, decided_by_id=getattr(actor, "id", None))
            .execution_options(synchronize_session=False)).rowcount
        if not claimed:
            raise AlreadyDecided(_l("This arrival was approved or rejected meanwhile (in another tab?): nothing was reported twice."))
        group = None
        if len(members) > 1:
            group = stays.create_group(lodging, stay | {"name": stay_name(arrival)}, actor, now=now)
        for guest in order:
            values = complete[guest.position]
            if guest.adult_position is not None and guest.adult_position in made:
                values = values | {"accompanying_stay_id": made[guest.adult_position].id}
            token = f"arrival-{arrival.id}-{guest.position}"
            result = stays.create_stay(lodging, values, actor, submit=True, form_token=token, group=group, now=now,
                                       extra={"source": "self_check_in"})
            # Written now, so that a minor after it can name its id.
            stays.write_waiting_if(("form", lodging.id, token))
            made[guest.position] = result.stay
        for guest in members:
            db.session.execute(update(ArrivalGuest).where(ArrivalGuest.id == guest.id)
                               .values(stay_id=made[guest.position].id, values={}).execution_options(synchronize_session=False))
        db.session.execute(update(Arrival).where(Arrival.id == arrival.id).values(
            group_id=group.id if group else None, email="",
            expires_at=now + timedelta(days=current_app.config["ARRIVALS_STATUS_DAYS"])).execution_options(synchronize_session=False))
        record("arrival.approved", arrival, actor, lodging_id=lodging.id, changes={"reports": [s.id for s in made.values()]})
    db.session.expire(arrival)
    return [made[g.position] for g in members]


def stay_name(arrival: Arrival) -> str:
    return str(_l("Self check-in %(number)d", number=arrival.id))


def decided_message(arrival: Arrival):
    if arrival.status == ArrivalStatus.APPROVED:
        return _l("This arrival is approved already: its guests are reported (nothing was reported twice).")
    if arrival.status == ArrivalStatus.REJECTED:
        return _l("This arrival was rejected: it cannot be approved any more.")
    return _l("The guest has not sent this arrival yet.")


def reject(arrival: Arrival, actor, reason: str = "", now: datetime | None = None) -> None:
    """Refuse a waiting arrival: the guests' details are deleted; the guest's page says so."""
    now = now or utcnow()
    claimed = db.session.execute(
        update(Arrival).where(Arrival.id == arrival.id, Arrival.status == ArrivalStatus.WAITING)
        .values(status=ArrivalStatus.REJECTED, decided_at=now, decided_by_id=getattr(actor, "id", None), reject_reason=reason,
                email="", expires_at=now + timedelta(days=current_app.config["ARRIVALS_STATUS_DAYS"]))
        .execution_options(synchronize_session=False)).rowcount
    if not claimed:
        db.session.rollback()
        raise AlreadyDecided(decided_message(arrival))
    db.session.execute(delete(ArrivalGuest).where(ArrivalGuest.arrival_id == arrival.id))
    record("arrival.rejected", arrival, actor, lodging_id=arrival.lodging_id)
    db.session.commit()
    db.session.expire(arrival)


def delete_arrival(arrival: Arrival, actor) -> None:
    """Delete an arrival that is not approved (spam, a mistake): nothing of it stays, and its
    status page answers that the link is no longer valid."""
    if arrival.status == ArrivalStatus.APPROVED:
        raise AlreadyDecided(decided_message(arrival))
    record("arrival.deleted", arrival, actor, lodging_id=arrival.lodging_id)
    db.session.delete(arrival)
    db.session.commit()


def receipts_of(arrival: Arrival) -> list[Stay]:
    """The reports made from an approved arrival, in the party's order."""
    ids = [g.stay_id for g in arrival.guests if g.stay_id]
    if not ids:
        return []
    found = {s.id: s for s in db.session.execute(select(Stay).where(Stay.id.in_(ids))).scalars()}
    return [found[i] for i in ids if i in found]


def expire(now: datetime | None = None) -> int:
    """Delete arrivals past their time: unapproved ones (the guests' details with them) and the
    status pages of decided ones. The worker runs it every quarter of an hour; returns how many."""
    now = now or utcnow()
    expired = db.session.execute(select(Arrival).where(Arrival.expires_at < now).limit(5000)).scalars().all()
    if not expired:
        return 0
    ids = [arrival.id for arrival in expired]
    for arrival in expired:
        if arrival.status in OPEN_STATUSES:
            record("arrival.expired", arrival, actor_label="retention", lodging_id=arrival.lodging_id)
    db.session.execute(delete(ArrivalGuest).where(ArrivalGuest.arrival_id.in_(ids)))
    db.session.execute(delete(Arrival).where(Arrival.id.in_(ids)).execution_options(synchronize_session=False))
    db.session.commit()
    log.info("self check-in: %d expired arrivals deleted", len(ids))
    return len(ids)
