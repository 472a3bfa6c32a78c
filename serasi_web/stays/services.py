"""Reporting guests: create, submit, correct, void, check out; deadlines; duplicates; groups.

Every function here works without a request (the API and importers call them too). Times are
stored in UTC; the 24-hour deadline and every date rule use the lodging's local time zone.
"""
from __future__ import annotations

import unicodedata
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from datetime import date, datetime, timedelta, timezone

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select, union_all
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from ..database import utcnow
from ..extensions import db
from ..lodgings.models import Lodging, LodgingStatus
from ..reference.permits import suggested_permit
from ..reference.regions import time_zone_of
from .models import OPEN_STATUSES, Stay, StayGroup, StayStatus, StayVersion
from .receipts import new_receipt_number

REPORTING_WINDOW = timedelta(hours=24)
CHECK_OUT_WINDOW = timedelta(hours=24)
FUTURE_TOLERANCE = timedelta(minutes=10)  # clocks of phones drift
ADULT_AGE = 18

GUEST_FIELDS = (
    "surname", "given_names", "sex", "date_of_birth", "place_of_birth", "nationality",
    "document_type", "document_number", "issuing_state", "document_expiry",
    "entry_date", "port_of_entry", "stay_permit", "visa_index", "permit_number", "permit_valid_until", "entry_stamp_qr",
)
STAY_FIELDS = ("check_in_at", "planned_check_out", "room", "purpose", "notes")
REPORT_FIELDS = GUEST_FIELDS + STAY_FIELDS
OPTIONAL_TEXT_FIELDS = ("given_names", "place_of_birth", "port_of_entry", "visa_index", "permit_number", "entry_stamp_qr", "room", "notes")


class StayError(Exception):
    """A rule was broken; ``field_errors`` maps form fields to messages."""

    def __init__(self, field_errors: dict[str, str]):
        super().__init__(field_errors)
        self.field_errors = field_errors


class LodgingRefused(StayError):
    """The lodging may not obtain receipts now (``receipt_refusal``); nothing was written."""

    def __init__(self, message: str):
        super().__init__({"": message})
        self.message = message


def refuse_unless_may_report(lodging: Lodging) -> None:
    """Raise ``LodgingRefused`` when ``lodging`` may not obtain receipts now."""
    if refusal := receipt_refusal(lodging):
        raise LodgingRefused(refusal)


class DuplicateStay(StayError):
    def __init__(self, existing: Stay):
        super().__init__({"document_number": str(_l("This guest already has an open stay at this lodging."))})
        self.existing = existing


def receipt_refusal(lodging: Lodging) -> str | None:
    """Why ``lodging`` may not obtain receipts now, or None when it may.

    The one rule every way of submitting follows (the form, groups, the API, imports, rosters):
    a rejected or suspended lodging gets no receipt. A lodging waiting for verification may
    report (the law's 24 hours do not wait for the office); its reports are marked "lodging not
    verified". Drafts, corrections, check-outs and voids stay possible: they issue no receipt and
    keep the office's records true.
    """
    if lodging.status == LodgingStatus.REJECTED:
        return str(_l("The immigration office rejected this lodging: it cannot submit reports. Correct its details to send it for verification again."))
    if lodging.status == LodgingStatus.SUSPENDED:
        return str(_l("The immigration office suspended this lodging: it cannot submit reports until the suspension is lifted. Drafts can still be saved."))
    return None


def lodging_zone(lodging: Lodging):
    return time_zone_of(lodging.province_code)


def to_utc(local: datetime, lodging: Lodging) -> datetime:
    """A naive local time typed at the lodging, as an aware UTC datetime."""
    return local.replace(tzinfo=lodging_zone(lodging)).astimezone(timezone.utc)


def to_local(moment: datetime, lodging: Lodging) -> datetime:
    return moment.astimezone(lodging_zone(lodging))


def parse_moment(text: str) -> datetime | None:
    """Text from another system as an ISO 8601 date-time ("Z" or an offset: converted to UTC;
    none: kept naive), or None when it is not one or lies outside 1900-2200 (where moving it by
    a time zone could overflow)."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    if not 1900 <= moment.year <= 2200:
        return None
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment


def fold_name(*parts: str) -> str:
    """Lower case without accents, for accent-insensitive search ("Müller" finds "muller")."""
    text = " ".join(p for p in parts if p)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def is_minor(stay: Stay) -> bool:
    """Under ADULT_AGE at check-in; False while a draft waits for the date of birth (nothing says so yet)."""
    return stay.date_of_birth is not None and age_on(stay.date_of_birth, to_local(stay.check_in_at, stay.lodging).date()) < ADULT_AGE


def check_dates(values: dict, lodging: Lodging, now: datetime | None = None) -> dict[str, str]:
    """The date rules of a report; returns {field: message} (empty when all hold)."""
    now = now or utcnow()
    errors: dict[str, str] = {}
    check_in = values.get("check_in_at")
    birth, entry = values.get("date_of_birth"), values.get("entry_date")
    expiry, planned = values.get("document_expiry"), values.get("planned_check_out")
    valid_until = values.get("permit_valid_until")
    local_today = to_local(now, lodging).date()
    check_in_day = to_local(check_in, lodging).date() if check_in else None

    if birth and (birth > local_today or birth.year < 1900):
        errors["date_of_birth"] = str(_l("The date of birth is not possible."))
    if check_in and check_in > now + FUTURE_TOLERANCE:
        errors["check_in_at"] = str(_l("The check-in cannot be in the future."))
    if entry:
        if birth and entry <= birth:
            errors["entry_date"] = str(_l("The date of entry must be after the date of birth."))
        elif check_in_day and entry > check_in_day:
            errors["entry_date"] = str(_l("The date of entry cannot be after the check-in."))
        elif entry > local_today:
            errors["entry_date"] = str(_l("The date of entry cannot be in the future."))
    if expiry and check_in_day and expiry < check_in_day:
        errors["document_expiry"] = str(_l("The document had expired at check-in."))
    if planned and check_in_day and planned < check_in_day:
        errors["planned_check_out"] = str(_l("The planned check-out cannot be before the check-in."))
    if valid_until and entry and valid_until < entry:
        errors["permit_valid_until"] = str(_l("The permit cannot end before the date of entry."))
    return errors


def date_warnings(values: dict, lodging: Lodging, now: datetime | None = None) -> dict[str, str]:
    """What the operator should know but may still report (the guest is here): a document or a
    stay permit that ends before the planned check-out, or a permit already ended. {field: message}."""
    from flask_babel import format_date

    now = now or utcnow()
    warnings: dict[str, str] = {}
    expiry, planned = values.get("document_expiry"), values.get("planned_check_out")
    valid_until = values.get("permit_valid_until")
    check_in = values.get("check_in_at")
    check_in_day = to_local(check_in, lodging).date() if check_in else None
    local_today = to_local(now, lodging).date()
    if expiry and planned and planned > expiry and not (check_in_day and expiry < check_in_day):
        warnings["document_expiry"] = str(_l("The document expires on %(date)s, before the planned check-out: the guest needs a new one.",
                                             date=format_date(expiry, "long")))
    if valid_until:
        if valid_until < local_today:
            warnings["permit_valid_until"] = str(_l("The stay permit ended on %(date)s: the guest may be overstaying.",
                                                    date=format_date(valid_until, "long")))
        elif planned and planned > valid_until:
            warnings["permit_valid_until"] = str(_l("The stay permit ends on %(date)s, before the planned check-out: the guest must extend it or leave by then.",
                                                    date=format_date(valid_until, "long")))
    return warnings


def complete_values(values: dict) -> dict:
    """Fill what can be derived: the stay permit from the visa index; empty optional text as ""."""
    values = dict(values)
    if not values.get("stay_permit") and values.get("visa_index"):
        values["stay_permit"] = suggested_permit(values["visa_index"])
    for name in OPTIONAL_TEXT_FIELDS:
        values[name] = values.get(name) or ""
    return values


@dataclass
class NewStay:
    """A stay built in memory, waiting to be written with its first version and audit event."""

    stay: Stay
    action: str  # "created" (a draft) or "submitted"
    actor: object
    actor_label: str


class _Batch:
    """What ``one_transaction()`` collects: new stays (written together, one statement per table,
    before the commit). Stay events reach plugins through the outbox rows written with them."""

    def __init__(self):
        self.new_stays: list[NewStay] = []
        self.keys: set[tuple] = set()  # lookups the waiting stays would answer (see write_waiting_if)
        # Lookups answered in advance for the whole batch (see look_up_in_advance): key -> the
        # stay found, or None when the database has none.
        self.known: dict[tuple, Stay | None] = {}

    def forget(self, keys) -> None:
        """A stay with these keys now exists (waiting, or changed in the session): look them up again."""
        for key in keys:
            self.known.pop(key, None)


_batch: ContextVar[_Batch | None] = ContextVar("serasi_stay_batch", default=None)


def commit() -> None:
    """Commit, or inside ``one_transaction()`` only flush (the batch commits once at its end)."""
    if _batch.get() is None:
        db.session.commit()
    else:
        db.session.flush()


def in_one_transaction() -> bool:
    return _batch.get() is not None


@contextmanager
def one_transaction():
    """Write many reports in one transaction (a batch of 500 commits once, not 500 times).

    Every rule is checked before anything is written, so a refused item leaves nothing behind;
    new stays are written together at the end; an unexpected database error rolls the whole
    transaction back and is raised, and the caller retries item by item.
    """
    batch = _Batch()
    token = _batch.set(batch)
    try:
        yield
        written = write_new_stays(batch.new_stays)
        db.session.commit()
        keep_loaded(written)
    except BaseException:
        db.session.rollback()
        raise
    finally:
        _batch.reset(token)


def _stay_keys(stay: Stay) -> set[tuple]:
    """The lookups that would find ``stay`` (see ``write_waiting_if``)."""
    keys = {("document", stay.lodging_id, stay.document_number, stay.issuing_state),
            open_document_key(stay.lodging_id, stay.document_number)}
    if stay.form_token:
        keys.add(("form", stay.lodging_id, stay.form_token))
    if stay.external_id:
        keys.add(external_key(stay.lodging_id, stay.source, stay.external_id))
    return keys


def open_document_key(lodging_id: int, document_number) -> tuple:
    return ("open document", lodging_id, document_number)


def external_key(lodging_id: int, source, external_id) -> tuple:
    return ("external", lodging_id, source, external_id)


def look_up_in_advance(lodging: Lodging, *, source: str | None = None, external_ids=(), document_numbers=()) -> None:
    """Inside a batch: answer in two queries the per-item lookups the batch will make, the stays
    of these external ids (``find_external``) and whether these document numbers have an open
    stay at ``lodging`` (``find_open_duplicate``). Values that differ from what validation makes
    of them are simply looked up again, item by item."""
    batch = _batch.get()
    if batch is None:
        return
    external_ids = {value for value in external_ids if value}
    if source and external_ids:
        found = {stay.external_id: stay for stay in db.session.execute(select(Stay).where(
            Stay.lodging_id == lodging.id, Stay.source == source, Stay.external_id.in_(external_ids))).scalars()}
        batch.known.update((external_key(lodging.id, source, value), found.get(value)) for value in external_ids)
    document_numbers = {value for value in document_numbers if value}
    if document_numbers:
        found = set(db.session.execute(select(Stay.document_number).where(
            Stay.lodging_id == lodging.id, Stay.status.in_(OPEN_STATUSES), Stay.document_number.in_(document_numbers))).scalars())
        batch.known.update((open_document_key(lodging.id, value), None) for value in document_numbers - found)


def known_in_advance(key: tuple) -> tuple[bool, Stay | None]:
    """(True, what ``look_up_in_advance`` found) when it answered ``key``; (False, None) otherwise."""
    batch = _batch.get()
    if batch is None or key not in batch.known:
        return False, None
    return True, batch.known[key]


def write_waiting_if(*keys: tuple) -> None:
    """Inside a batch, write the stays still waiting when one of them could answer a lookup by
    ``keys`` (the same document, form or external id twice in one batch), so the lookup sees it."""
    batch = _batch.get()
    if batch is not None and batch.new_stays and not batch.keys.isdisjoint(keys):
        write_new_stays(batch.new_stays)
        batch.new_stays, batch.keys = [], set()


def report_problems(lodging: Lodging, values: dict, *, submit: bool, now: datetime | None = None) -> dict[str, str]:
    """Every rule a report must meet beyond its form ({field: message}, empty when it may be
    saved): the date rules, a stay permit once submitted, and the plugins' rules. ``values`` as
    ``complete_values`` returns them. The form, the API, imports and rosters all go through it."""
    from ..plugins import validate_stay

    problems = validate_stay(lodging, values) | rule_problems(lodging, values, submit=submit, now=now) | account_problems(lodging, submit=submit)
    if submit and (refusal := receipt_refusal(lodging)):
        problems[""] = refusal  # about no field: the form shows it at the top, the API as the detail
    return problems


def account_problems(lodging: Lodging, *, submit: bool) -> dict[str, str]:
    """A report is submitted in the name of the lodging's owner: only once the owner's e-mail
    address is confirmed (drafts may wait). Form, groups, API, imports and rosters alike."""
    from ..accounts.services import may_submit_reports

    if submit and not may_submit_reports(lodging.owner):
        return {"": str(_l("Confirm your e-mail address before submitting reports (the link is in the e-mail we sent you). "
                           "You can save the report as a draft meanwhile."))}
    return {}


# What a draft may lack and a report may not: the stay permit (the operator chooses it), and what
# a property system has no place for (``integrations.sources``; the dates are NULL on such a
# draft, the text blank). The form's own messages where it asks for the same.
NEEDED_TO_SUBMIT = {
    "sex": _l("Choose the sex."), "date_of_birth": _l("Enter the date of birth."), "nationality": _l("Choose the nationality."),
    "document_type": _l("Choose the document type."), "document_number": _l("Enter the document number."),
    "issuing_state": _l("Choose the issuing state."), "document_expiry": _l("Enter the expiry date."),
    "entry_date": _l("Enter the date of entry into Indonesia."), "stay_permit": _l("Choose the stay permit."),
    "purpose": _l("Choose the purpose of the stay."),
}


def rule_problems(lodging: Lodging, values: dict, *, submit: bool, now: datetime | None = None) -> dict[str, str]:
    """Our own rules of a report (the date rules; a stay permit once submitted), without the
    plugins': safe on a partial report, so a form with other mistakes reports these in the same
    round (the values that did not parse are simply absent)."""
    errors = check_dates(values, lodging, now)
    if submit:
        for name, message in NEEDED_TO_SUBMIT.items():
            if not values.get(name):
                errors.setdefault(name, str(message))
    return errors


def correction_problems(stay: Stay, values: dict, now: datetime | None = None) -> dict[str, str]:
    """Every rule a correction of the submitted report ``stay`` must meet (``values`` as
    ``complete_values`` returns them): a report's rules, and a check-in no later than the
    check-out already recorded."""
    errors = report_problems(stay.lodging, values, submit=True, now=now)
    if stay.checked_out_at and values.get("check_in_at") and values["check_in_at"] > stay.checked_out_at:
        errors["check_in_at"] = str(_l("The check-in cannot be after the check-out."))
    return errors


def find_open_duplicate(lodging: Lodging, document_number: str, issuing_state: str, exclude_id: int | None = None) -> Stay | None:
    if not document_number:
        return None  # a draft waiting for its document (a system with no place for it) duplicates nothing yet
    write_waiting_if(("document", lodging.id, document_number, issuing_state))
    if known_in_advance(open_document_key(lodging.id, document_number)) == (True, None):
        return None
    query = select(Stay).where(
        Stay.lodging_id == lodging.id, Stay.document_number == document_number,
        Stay.issuing_state == issuing_state, Stay.status.in_(OPEN_STATUSES),
    )
    if exclude_id:
        query = query.where(Stay.id != exclude_id)
    return db.session.execute(query.limit(1)).scalar_one_or_none()


def snapshot(stay: Stay) -> dict:
    """The report's fields as JSON-ready values (dates as ISO text)."""
    return {name: _json(getattr(stay, name)) for name in REPORT_FIELDS + ("status", "accompanying_stay_id")}


# Version actions that are events for other systems (a draft is nobody's business yet).
_OUTBOX_EVENTS = {"submitted": "reported", "corrected": "corrected", "checked_out": "checked_out", "voided": "voided"}


def _history_values(stay: Stay, action: str, actor, reason: str = "", changes: dict | None = None,
                    actor_label: str = "") -> tuple[dict, dict, dict | None]:
    """The rows one change of ``stay`` adds: its version, its audit event and (for events other
    systems hear about) its outbox event, as column values."""
    from ..audit.services import event_values as audit_values
    from ..delivery.outbox import event_values as outbox_values

    version = {"version": stay.version, "action": action, "reason": reason, "changed_by_id": getattr(actor, "id", None),
               "changed_by_label": actor_label or getattr(actor, "email", "") or "", "snapshot": snapshot(stay),
               "changes": changes or {}, "changed_at": utcnow()}
    details = {"version": stay.version, "changes": changes or {}}
    if reason:
        details["reason"] = reason
    audit = audit_values(f"stay.{action}", stay, actor, lodging_id=stay.lodging_id, changes=details, actor_label=actor_label)
    outbox = None
    if action in _OUTBOX_EVENTS and stay.reported_at is not None:
        outbox = outbox_values(_OUTBOX_EVENTS[action], stay)  # same transaction as the change: never lost, never phantom
    return version, audit, outbox


def _add_version(stay: Stay, action: str, actor, reason: str = "", changes: dict | None = None, actor_label: str = "") -> None:
    from ..audit.models import AuditEvent
    from ..delivery.models import OutboxEvent

    version, audit, outbox = _history_values(stay, action, actor, reason, changes, actor_label)
    # Added, not appended to stay.versions: appending would first load the stay's whole history.
    db.session.add(StayVersion(stay_id=stay.id, **version))
    db.session.add(AuditEvent(**audit))
    if outbox is not None:
        db.session.add(OutboxEvent(**outbox))


# ---- Writing new reports --------------------------------------------------------------------
# A new report is four rows: the stay, its first version, its audit event and (when submitted)
# its outbox event. The ORM's unit of work inserts them object by object, in two flushes per
# report (the stay's id first); here they go in with one INSERT per table, for one report or
# a batch of 500 alike, and the stay object joins the session as if it had been loaded.

@cache
def _stay_columns() -> tuple[tuple[str, object], ...]:
    """(attribute, column default) of every stay column but the id."""
    return tuple((prop.key, prop.columns[0].default) for prop in sa_inspect(Stay).column_attrs if not prop.columns[0].primary_key)


def _stay_row(stay: Stay) -> dict:
    """The column values of a stay built in memory, defaults applied. Every column is set on the
    object too: once written it holds exactly what the row holds, and nothing is read back."""
    row = {}
    for key, default in _stay_columns():
        value = stay.__dict__.get(key)
        if value is None and default is not None:
            value = default.arg if default.is_scalar else default.arg(None)
        if key not in stay.__dict__ or value is not stay.__dict__[key]:
            setattr(stay, key, value)
        row[key] = value
    return row


def write_new_stays(new_stays: list[NewStay]) -> list[tuple[Stay, dict]]:
    """Insert the stays with their first version, audit event and outbox event (no commit).
    Returns each stay with the row written (see ``keep_loaded``)."""
    if not new_stays:
        return []
    from ..audit.models import AuditEvent
    from ..delivery.models import OutboxEvent

    connection = db.session.connection()
    stay_table = Stay.__table__
    rows = [_stay_row(entry.stay) for entry in new_stays]
    ids = connection.execute(insert(stay_table).returning(stay_table.c.id, sort_by_parameter_order=True), rows).scalars().all()
    versions, audit_events, outbox_events = [], [], []
    for entry, stay_id in zip(new_stays, ids):
        stay = entry.stay
        stay.id = stay_id
        make_transient_to_detached(stay)  # persistent without a reload: its attributes are the row
        db.session.add(stay)
        version, audit, outbox = _history_values(stay, entry.action, entry.actor, actor_label=entry.actor_label)
        versions.append(version | {"stay_id": stay_id})
        audit_events.append(audit)
        if outbox is not None:
            outbox_events.append(outbox)
    connection.execute(insert(StayVersion.__table__), versions)
    connection.execute(insert(AuditEvent.__table__), audit_events)
    if outbox_events:
        connection.execute(insert(OutboxEvent.__table__), outbox_events)
    return [(entry.stay, row | {"id": stay_id}) for entry, row, stay_id in zip(new_stays, rows, ids)]


def keep_loaded(written: list[tuple[Stay, dict]]) -> None:
    """After the commit (which expires every object in the session): the stays just written
    hold exactly the rows written, so say so instead of reading each back with a SELECT (the
    page or API answer that follows reads them)."""
    for stay, row in written:
        for key, value in row.items():
            set_committed_value(stay, key, value)


def _set(stay: Stay, columns: dict | None) -> None:
    for name, value in (columns or {}).items():
        setattr(stay, name, value)


def _apply(stay: Stay, values: dict) -> dict:
    """Set the report fields; return {field: [old, new]} of what changed."""
    changes = {}
    for name in REPORT_FIELDS:
        if name not in values:
            continue
        old, new = getattr(stay, name), values[name]
        if old != new:
            changes[name] = [_json(old), _json(new)]
            setattr(stay, name, new)
    if "document_number" in changes and (batch := _batch.get()) is not None:
        batch.forget({open_document_key(stay.lodging_id, stay.document_number)})
    stay.name_folded = fold_name(stay.given_names, stay.surname)
    stay.deadline_at = stay.check_in_at + REPORTING_WINDOW
    return changes


def _json(value):
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _report(stay: Stay, now: datetime) -> None:
    from ..capture.storage import discard_photos

    if stay.id:
        discard_photos(stay)
    stay.status = StayStatus.REPORTED
    stay.reported_at = now
    stay.late = now > stay.deadline_at
    stay.lodging_pending_at_report = stay.lodging.status != LodgingStatus.VERIFIED
    # 29^12 possible numbers: a collision is astronomically unlikely and the unique index guards it.
    stay.receipt_number = new_receipt_number()


@dataclass
class CreateResult:
    stay: Stay
    created: bool  # False when the same form was sent twice and the first stay is returned


def find_by_form_token(lodging: Lodging, form_token: str) -> Stay | None:
    write_waiting_if(("form", lodging.id, form_token))
    return db.session.execute(select(Stay).where(Stay.lodging_id == lodging.id, Stay.form_token == form_token)).scalar_one_or_none()


def _made_by_form_or_duplicate(lodging: Lodging, form_token: str, document_number: str, issuing_state: str) -> tuple[Stay | None, Stay | None]:
    """One query for the two lookups of a form's submission: the stay this form made already (a
    double click, a resent POST) and an open stay of the same document."""
    write_waiting_if(("form", lodging.id, form_token), ("document", lodging.id, document_number, issuing_state))
    # UNION ALL, not OR: each half walks its own index (with OR, SQLite scans the lodging's stays).
    # Only ids are read: on the usual path (a new guest) both halves find nothing.
    stay = Stay.__table__.c
    both = union_all(
        select(stay.id, stay.form_token).where(stay.lodging_id == lodging.id, stay.form_token == form_token),
        select(stay.id, stay.form_token).where(stay.lodging_id == lodging.id, stay.document_number == document_number,
                                               stay.issuing_state == issuing_state, stay.status.in_(OPEN_STATUSES)),
    )
    made, duplicate = None, None
    for stay_id, token in db.session.connection().execute(both):
        if token == form_token:
            made = db.session.get(Stay, stay_id)
        else:
            duplicate = db.session.get(Stay, stay_id)
    return made, duplicate


def create_stay(lodging: Lodging, values: dict, actor=None, *, submit: bool, form_token: str | None = None,
                group: StayGroup | None = None, actor_label: str = "", now: datetime | None = None,
                extra: dict | None = None) -> CreateResult:
    """Create a draft or a submitted report. Raises StayError / DuplicateStay on broken rules.

    A form sent twice (``form_token`` seen before) answers with the stay it made the first time.
    Inside ``one_transaction()`` the new stay is written with the others at the end of the
    batch (its id is known after that); otherwise it is written and committed here.
    """
    now = now or utcnow()
    if submit:
        refuse_unless_may_report(lodging)
    values = complete_values(values)
    errors = report_problems(lodging, values, submit=submit, now=now)
    if errors:
        raise StayError(errors)
    if form_token:
        made, duplicate = _made_by_form_or_duplicate(lodging, form_token, values["document_number"], values["issuing_state"])
        if made is not None:
            return CreateResult(made, created=False)
    else:
        duplicate = find_open_duplicate(lodging, values["document_number"], values["issuing_state"])
    if duplicate is not None:
        raise DuplicateStay(duplicate)

    stay = Stay(lodging=lodging, lodging_id=lodging.id, status=StayStatus.DRAFT, version=1, form_token=form_token,
                created_by_id=getattr(actor, "id", None), group_id=group.id if group else None,
                accompanying_stay_id=values.get("accompanying_stay_id"), created_at=now, updated_at=now, **(extra or {}))
    _apply(stay, values)
    if submit:
        _report(stay, now)
    new_stay = NewStay(stay, "submitted" if submit else "created", actor, actor_label)
    batch = _batch.get()
    if batch is not None:
        batch.new_stays.append(new_stay)
        keys = _stay_keys(stay)
        batch.keys |= keys
        batch.forget(keys)
        return CreateResult(stay, created=True)
    try:
        written = write_new_stays([new_stay])
    except IntegrityError:
        # The same form arrived twice at the same moment: the other request won; return its stay.
        db.session.rollback()
        existing = find_by_form_token(lodging, form_token) if form_token else None
        if existing is None:
            raise
        return CreateResult(existing, created=False)
    if group is not None:
        db.session.expire(group, ["members"])
    from ..capture.storage import claim_photos, discard_form_photos

    # Photos exist only for forms (keyed by the form's token) and only while keeping is on; any
    # left from before it was switched off go with the worker's daily purge of unclaimed photos.
    if form_token and current_app.config["CAPTURE_KEEP_PHOTOS"]:
        claim_photos(stay) if stay.status == StayStatus.DRAFT else discard_form_photos(stay)
    db.session.commit()
    keep_loaded(written)
    return CreateResult(stay, created=True)


def update_draft(stay: Stay, values: dict, actor=None, *, submit: bool, now: datetime | None = None, actor_label: str = "",
                 extra: dict | None = None) -> Stay:
    """Change a draft (no reason needed: nothing was reported yet), and optionally submit it.
    ``extra``: other columns to write with the change, once every rule has passed."""
    now = now or utcnow()
    if stay.status != StayStatus.DRAFT:
        raise StayError({"": str(_l("Only a draft can be edited; correct a submitted report instead."))})
    if submit:
        refuse_unless_may_report(stay.lodging)
    values = complete_values(values)
    errors = report_problems(stay.lodging, values, submit=submit, now=now)
    if errors:
        raise StayError(errors)
    duplicate = find_open_duplicate(stay.lodging, values["document_number"], values["issuing_state"], exclude_id=stay.id)
    if duplicate is not None:
        raise DuplicateStay(duplicate)
    _set(stay, extra)
    if "accompanying_stay_id" in values:
        stay.accompanying_stay_id = values["accompanying_stay_id"]
    changes = _apply(stay, values)
    if submit:
        _report(stay, now)
    if changes or submit:
        stay.version += 1
        _add_version(stay, "submitted" if submit else "edited", actor, changes=changes, actor_label=actor_label)
    commit()
    return stay


def submit(stay: Stay, actor=None, now: datetime | None = None, actor_label: str = "") -> Stay:
    """Submit a saved draft as it is."""
    return update_draft(stay, {name: getattr(stay, name) for name in REPORT_FIELDS}, actor, submit=True, now=now, actor_label=actor_label)


def correct(stay: Stay, values: dict, reason: str, actor=None, now: datetime | None = None, actor_label: str = "",
            extra: dict | None = None) -> bool:
    """Correct a submitted report with a new version; False when nothing changed. ``extra``:
    other columns to write with it, once every rule has passed (written even without a change)."""
    now = now or utcnow()
    if stay.status not in (StayStatus.REPORTED, StayStatus.CHECKED_OUT):
        raise StayError({"": str(_l("Only a submitted report can be corrected."))})
    values = complete_values(values)
    if errors := correction_problems(stay, values, now):
        raise StayError(errors)
    if stay.status == StayStatus.REPORTED:
        duplicate = find_open_duplicate(stay.lodging, values["document_number"], values["issuing_state"], exclude_id=stay.id)
        if duplicate is not None:
            raise DuplicateStay(duplicate)
    _set(stay, extra)
    changes = _apply(stay, values)
    if "accompanying_stay_id" in values and values["accompanying_stay_id"] != stay.accompanying_stay_id:
        changes["accompanying_stay_id"] = [stay.accompanying_stay_id, values["accompanying_stay_id"]]
        stay.accompanying_stay_id = values["accompanying_stay_id"]
    if not changes:
        if extra:
            commit()
        return False
    stay.late = stay.reported_at > stay.deadline_at  # judged by when it was first reported
    stay.version += 1
    _add_version(stay, "corrected", actor, reason=reason, changes=changes, actor_label=actor_label)
    commit()
    return True


def void(stay: Stay, reason: str, actor=None, now: datetime | None = None, actor_label: str = "") -> None:
    """Void a report made by mistake; the record and its history stay."""
    if stay.status == StayStatus.VOIDED:
        return
    from ..capture.storage import discard_photos

    discard_photos(stay)
    stay.status = StayStatus.VOIDED
    stay.void_reason = reason
    stay.voided_at = now or utcnow()
    stay.version += 1
    _add_version(stay, "voided", actor, reason=reason, actor_label=actor_label)
    commit()


def linked_minors(stay: Stay) -> list[Stay]:
    """The open reports (draft, in the house) of minors who travel with ``stay``'s guest."""
    return db.session.execute(select(Stay).where(Stay.accompanying_stay_id == stay.id, Stay.status.in_(OPEN_STATUSES))
                              .order_by(Stay.surname, Stay.given_names)).scalars().all()


def void_with_minors(stay: Stay, reason: str, actor=None, *, minors: str | None = None, new_adult: Stay | None = None,
                     now: datetime | None = None, actor_label: str = "") -> list[Stay]:
    """Void ``stay`` and decide for the minors linked to it, all or nothing: ``minors="void"``
    voids their reports with the same reason; ``"move"`` makes ``new_adult`` their accompanying
    adult (a correction of each, with the reason). A minor is never left attached to a voided
    report: with linked minors and no decision, StayError on ``minors``. Returns the minors."""
    now = now or utcnow()
    found = linked_minors(stay)
    if found and minors not in ("void", "move"):
        raise StayError({"minors": str(_l("Choose what happens to the minors travelling with this guest."))})
    if found and minors == "move" and (new_adult is None or new_adult.id == stay.id or new_adult.lodging_id != stay.lodging_id
                                       or new_adult.status not in OPEN_STATUSES or is_minor(new_adult)):
        raise StayError({"new_adult_id": str(_l("Choose an adult from the list."))})
    with one_transaction():
        for minor in found:
            if minors == "void":
                void(minor, reason, actor, now=now, actor_label=actor_label)
                continue
            note = str(_l("The accompanying adult's report was voided: %(reason)s", reason=reason))
            values = {name: getattr(minor, name) for name in REPORT_FIELDS} | {"accompanying_stay_id": new_adult.id}
            if minor.status == StayStatus.DRAFT:
                update_draft(minor, values, actor, submit=False, now=now, actor_label=actor_label)
            else:
                correct(minor, values, note, actor, now=now, actor_label=actor_label)
        void(stay, reason, actor, now=now, actor_label=actor_label)
    return found


def check_out(stays: list[Stay], checked_out_at: datetime, actor=None, now: datetime | None = None, actor_label: str = "") -> list[Stay]:
    """Check out reported guests at ``checked_out_at`` (UTC). Raises StayError naming the first problem."""
    return check_out_each([(stay, checked_out_at) for stay in stays], actor, now, actor_label)


def check_out_each(departures: list[tuple[Stay, datetime]], actor=None, now: datetime | None = None, actor_label: str = "") -> list[Stay]:
    """Check out reported guests, each at its own time (UTC), all or none: raises StayError
    naming the first problem, with nothing written."""
    now = now or utcnow()
    for stay, checked_out_at in departures:
        if checked_out_at > now + FUTURE_TOLERANCE:
            raise StayError({"checked_out_at": str(_l("The check-out cannot be in the future."))})
        if stay.status == StayStatus.DRAFT:
            raise StayError({"checked_out_at": str(_l("%(name)s is still a draft: submit the report first.", name=stay.full_name))})
        if stay.status != StayStatus.REPORTED:
            raise StayError({"checked_out_at": str(_l("%(name)s is not in the house.", name=stay.full_name))})
        if checked_out_at < stay.check_in_at:
            raise StayError({"checked_out_at": str(_l("The check-out of %(name)s cannot be before the check-in.", name=stay.full_name))})
    for stay, checked_out_at in departures:
        stay.status = StayStatus.CHECKED_OUT
        stay.checked_out_at = checked_out_at
        stay.check_out_reported_at = now
        stay.check_out_late = now - checked_out_at > CHECK_OUT_WINDOW
        stay.version += 1
        _add_version(stay, "checked_out", actor, actor_label=actor_label)
    commit()
    return [stay for stay, _ in departures]


# ---- Groups ---------------------------------------------------------------------------------

def create_group(lodging: Lodging, values: dict, actor=None, now: datetime | None = None) -> StayGroup:
    errors = check_dates(values, lodging, now)  # the stay's part of the rules: check-in, planned check-out
    if errors:
        raise StayError(errors)
    group = StayGroup(lodging_id=lodging.id, created_by_id=getattr(actor, "id", None), name=values.get("name") or "",
                      check_in_at=values["check_in_at"], planned_check_out=values.get("planned_check_out"),
                      room=values.get("room") or "", notes=values.get("notes") or "", purpose=values["purpose"])
    db.session.add(group)
    commit()
    return group


def group_stay_values(group: StayGroup) -> dict:
    return {"check_in_at": group.check_in_at, "planned_check_out": group.planned_check_out,
            "room": group.room, "purpose": group.purpose, "notes": group.notes}


def submit_group(group: StayGroup, actor=None, now: datetime | None = None) -> list[Stay]:
    """Submit every draft of the group; all or none (a member breaking a rule stops it)."""
    now = now or utcnow()
    refuse_unless_may_report(group.lodging)
    drafts = [m for m in group.members if m.status == StayStatus.DRAFT]
    problems = account_problems(group.lodging, submit=True)
    if problems:
        raise StayError(problems)
    for member in drafts:
        if not member.stay_permit:
            problems[member.full_name] = str(_l("Choose the stay permit."))
        elif is_minor(member) and not member.accompanying_stay_id:
            problems[member.full_name] = str(_l("A guest under 18 needs an accompanying adult."))
    if problems:
        raise StayError(problems)
    for member in drafts:
        _report(member, now)
        member.version += 1
        _add_version(member, "submitted", actor)
    commit()
    return drafts
