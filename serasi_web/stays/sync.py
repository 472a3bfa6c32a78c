"""Stays that come from other systems (a PMS through the API, a spreadsheet, an HR roster, a
pull adapter): one idempotent upsert keyed by (lodging, source, external id).

Same content again: nothing changes and the same answer comes back. Changed content: a
correction with the reason "updated by <system>". A voided stay is not brought back.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.datastructures import MultiDict

from ..extensions import db
from ..lodgings.models import Lodging
from . import services
from .forms import StayForm, upper_compact
from .models import Stay, StayStatus

log = logging.getLogger(__name__)


@dataclass
class ExternalStay:
    """One stay as another system describes it, in the report form's field names."""

    external_id: str
    values: dict[str, Any]
    checked_out_at: datetime | None = None
    # The other system says this booking was cancelled (no guest stayed): a pull voids the report
    # it made of it, if any (``integrations.sources.pull_into``); ``values`` may then be empty.
    cancelled: bool = False


@dataclass
class UpsertResult:
    outcome: str  # "created", "updated", "unchanged", "invalid", "conflict", "refused" (services.receipt_refusal)
    stay: Stay | None = None
    errors: dict[str, str] = field(default_factory=dict)  # form field -> message
    existing: Stay | None = None  # for a conflict: the open stay of the same document
    warnings: dict[str, str] = field(default_factory=dict)  # ``check`` only: what may be reported but should be known


def content_hash(values: dict[str, Any]) -> str:
    def plain(value):
        return value.isoformat() if isinstance(value, (date, datetime)) else value

    canonical = json.dumps({k: plain(v) for k, v in sorted(values.items())}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def read_values(lodging: Lodging, raw: dict[str, Any], locale: str = "en") -> tuple[dict, dict[str, str]]:
    """Read raw text values with the report form's own fields and validators; (clean values,
    errors by field).

    ``raw`` uses the form's field names with text values (dates as YYYY-MM-DD, check-in as the
    lodging's local time YYYY-MM-DDTHH:MM[:SS]). The same validators as the web form apply, so the
    API, imports and the form can never disagree on what a well-formed report is.
    """
    form = _validation_form(locale)
    form.process(MultiDict({k: "" if v is None else str(v) for k, v in raw.items()}))
    form.validate()
    errors = {name: str(messages[0]) for name, messages in form.errors.items() if messages and name in services.REPORT_FIELDS}
    values = {name: getattr(form, name).data for name in services.REPORT_FIELDS if name not in errors}
    if values.get("check_in_at"):
        values["check_in_at"] = services.to_utc(values["check_in_at"], lodging)
    if errors:
        # The report's own rules (dates, stay permit) on what did parse, so that a system
        # sending a bad body hears every problem in one answer, as the form does.
        for name, message in services.rule_problems(lodging, services.complete_values(values), submit=True).items():
            errors.setdefault(name, message)
    return values, errors


def validate_values(lodging: Lodging, raw: dict[str, Any], locale: str = "en") -> tuple[dict, dict[str, str]]:
    """``read_values`` and then every rule a submitted report must meet (``services.report_problems``,
    plugins' rules included): for checking rows without writing them. An upsert does not need it:
    the services check the same rules when they write."""
    values, errors = read_values(lodging, raw, locale)
    if not errors:
        values = services.complete_values(values)
        errors = services.report_problems(lodging, values, submit=True)
    return values, errors


def _validation_form(locale: str) -> StayForm:
    """One form per request and language, re-filled for each row: binding its 24 fields anew
    for every row of a batch or a spreadsheet cost more than validating them."""
    from flask import g

    cache = g.setdefault("_stay_validation_forms", {})
    if locale not in cache:
        cache[locale] = StayForm(formdata=None, locale=locale, meta={"csrf": False})
    return cache[locale]


def find_external(lodging: Lodging, source: str, external_id: str) -> Stay | None:
    key = services.external_key(lodging.id, source, external_id)
    services.write_waiting_if(key)
    known, stay = services.known_in_advance(key)
    if known:
        return stay
    return db.session.execute(
        select(Stay).where(Stay.lodging_id == lodging.id, Stay.source == source, Stay.external_id == external_id)
    ).scalar_one_or_none()


def look_up_batch(lodging: Lodging, source: str, items: list[tuple[str, Any]]) -> None:
    """Inside ``services.one_transaction()``, before upserting many stays: two queries tell which
    of the (external id, raw document number) pairs are new, so that their upserts need none."""
    services.look_up_in_advance(lodging, source=source, external_ids=[external_id for external_id, _ in items],
                            document_numbers=[upper_compact(number) for _, number in items if isinstance(number, str)])


def upsert(lodging: Lodging, source: str, external_id: str, raw: dict[str, Any], actor_label: str, actor=None) -> UpsertResult:
    """Create, correct or leave alone the stay ``external_id`` of ``source`` at ``lodging``."""
    values, errors = read_values(lodging, raw)
    if errors:
        return UpsertResult("invalid", errors=errors)
    values = services.complete_values(values)
    digest = content_hash(values)
    existing = find_external(lodging, source, external_id)
    if existing is not None:
        return _update(existing, values, digest, actor_label, actor)
    try:
        result = services.create_stay(lodging, values, actor, submit=True, actor_label=actor_label,
                                      extra={"source": source, "external_id": external_id, "external_hash": digest})
    except services.DuplicateStay as duplicate:
        return UpsertResult("conflict", errors=duplicate.field_errors, existing=duplicate.existing)
    except services.LodgingRefused as refused:
        return UpsertResult("refused", errors=refused.field_errors)
    except services.StayError as error:
        return UpsertResult("invalid", errors=error.field_errors)
    except IntegrityError:
        # The same external id arrived twice at the same moment: the other request created it.
        if services.in_one_transaction():
            raise  # the batch retries item by item
        db.session.rollback()
        existing = find_external(lodging, source, external_id)
        if existing is None:
            raise
        return _update(existing, values, digest, actor_label, actor)
    return UpsertResult("created", stay=result.stay)


def check(lodging: Lodging, source: str, external_id: str | None, raw: dict[str, Any]) -> UpsertResult:
    """What ``upsert`` would answer for these values, with nothing written: the same reading, the
    same rules through the same service functions, in the same order. The outcome is
    "created", "updated" or "unchanged" for values that would be accepted (``stay``: the stay
    the external id names, if any); otherwise as ``upsert``. Without an external id the values
    are checked as a new stay."""
    values, errors = read_values(lodging, raw)
    if errors:
        return UpsertResult("invalid", errors=errors)
    values = services.complete_values(values)
    warnings = services.date_warnings(values, lodging)
    existing = find_external(lodging, source, external_id) if external_id else None
    if existing is None:  # as services.create_stay
        if refusal := services.receipt_refusal(lodging):
            return UpsertResult("refused", errors={"": refusal})
        if problems := services.report_problems(lodging, values, submit=True):
            return UpsertResult("invalid", errors=problems)
        if (duplicate := services.find_open_duplicate(lodging, values["document_number"], values["issuing_state"])) is not None:
            return UpsertResult("conflict", errors=services.DuplicateStay(duplicate).field_errors, existing=duplicate)
        return UpsertResult("created", warnings=warnings)
    if existing.external_hash == content_hash(values):
        return UpsertResult("unchanged", stay=existing, warnings=warnings)
    if existing.status == StayStatus.VOIDED:
        return UpsertResult("conflict", stay=existing, errors={"": str(_l("This stay was voided; use a new external id."))})
    if existing.status == StayStatus.DRAFT:  # as services.update_draft, submitting
        if refusal := services.receipt_refusal(lodging):
            return UpsertResult("refused", errors={"": refusal})
        problems = services.report_problems(lodging, values, submit=True)
    else:  # as services.correct
        problems = services.correction_problems(existing, values)
    if problems:
        return UpsertResult("invalid", errors=problems)
    if existing.status in (StayStatus.DRAFT, StayStatus.REPORTED):
        duplicate = services.find_open_duplicate(lodging, values["document_number"], values["issuing_state"], exclude_id=existing.id)
        if duplicate is not None:
            return UpsertResult("conflict", errors=services.DuplicateStay(duplicate).field_errors, existing=duplicate)
    return UpsertResult("updated", stay=existing, warnings=warnings)


def _update(stay: Stay, values: dict, digest: str, actor_label: str, actor) -> UpsertResult:
    if stay.external_hash == digest:
        return UpsertResult("unchanged", stay=stay)
    if stay.status == StayStatus.VOIDED:
        return UpsertResult("conflict", stay=stay, errors={"": str(_l("This stay was voided; use a new external id."))})
    hash_column = {"external_hash": digest}  # written in the change's own transaction, once the rules pass
    try:
        if stay.status == StayStatus.DRAFT:
            services.update_draft(stay, values, actor, submit=True, actor_label=actor_label, extra=hash_column)
        else:
            services.correct(stay, values, str(_l("updated by %(system)s", system=actor_label)), actor, actor_label=actor_label,
                             extra=hash_column)
    except services.DuplicateStay as duplicate:  # raised before anything was written
        return UpsertResult("conflict", errors=duplicate.field_errors, existing=duplicate.existing)
    except services.LodgingRefused as refused:
        return UpsertResult("refused", errors=refused.field_errors)
    except services.StayError as error:
        return UpsertResult("invalid", errors=error.field_errors)
    return UpsertResult("updated", stay=stay)


def upsert_many(lodging: Lodging, source: str, items: list[tuple[str, dict[str, Any]]], actor_label: str,
                actor=None) -> list[UpsertResult]:
    """``upsert`` each (external id, raw values) of ``items``, in order, in one transaction.

    The batch's external ids and documents are looked up in two queries first, and its new stays
    written together before the one commit (``services.one_transaction``). If the database
    refuses the transaction (say, another request created one of the external ids at the same
    moment), it is rolled back whole and each item is tried again on its own, so a bad item
    costs only itself. A database that is gone (``OperationalError``) is raised.
    """
    if not items:
        return []
    try:
        with services.one_transaction():
            look_up_batch(lodging, source, [(external_id, raw.get("document_number")) for external_id, raw in items])
            results = [upsert(lodging, source, external_id, raw, actor_label, actor) for external_id, raw in items]
        _reload([stay for result in results for stay in (result.stay, result.existing) if stay is not None])
        return results
    except OperationalError:
        raise
    except Exception:  # noqa: BLE001 - retried item by item below
        log.warning("%s: one transaction for %d stays failed; retrying item by item", source, len(items), exc_info=True)
        db.session.rollback()
    return [_upsert_alone(lodging, source, external_id, raw, actor_label, actor) for external_id, raw in items]


def _reload(stays: list[Stay]) -> None:
    """Read the stays the commit expired in one query: the answers show them, one SELECT each
    otherwise (new stays keep the values written, see ``services.keep_loaded``)."""
    states = [inspect(stay) for stay in stays]
    expired = {state.identity[0] for state in states if state.expired_attributes and state.identity}  # stay.id would load it
    if expired:
        db.session.execute(select(Stay).where(Stay.id.in_(expired)).execution_options(populate_existing=True)).scalars().all()


def _upsert_alone(lodging: Lodging, source: str, external_id: str, raw: dict, actor_label: str, actor) -> UpsertResult:
    try:
        return upsert(lodging, source, external_id, raw, actor_label, actor)
    except OperationalError:
        raise
    except Exception:  # noqa: BLE001 - one bad item must not stop the others
        db.session.rollback()
        log.exception("%s: stay %r could not be saved", source, external_id)
        return UpsertResult("invalid", errors={"": str(_l("This stay could not be saved (the error was logged)."))})
