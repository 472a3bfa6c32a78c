"""Scheduled pulls from stay sources (plugins' pull adapters, ``serasi_register_stay_sources``).

A lodging is connected to a source with the fields the source asks for; the secret ones are
stored as one Fernet token (``SOURCE_CREDENTIALS_KEY``, or in development a key derived from
``SECRET_KEY``) and only decrypted for the pull. The worker's periodic job claims each due
connection with a conditional UPDATE (two workers never run the same one) and queues one task per
claimed connection (``enqueue_due``), so a slow system holds one worker thread, not the others'
pulls; the task pulls, upserts every item through ``stays.sync.upsert`` (a booking the system
says was cancelled voids the report made of it) and records a ``SourceRun``. A failing pull waits
``interval * 2**failures`` (at most a day); a pull the source says retrying cannot fix
(``SourceError(retry=False)``, e.g. credentials refused) stops the connection until the
operator saves its settings again; the operator is mailed once per failing spell, at the
``NOTIFY_AFTER_FAILURES``-th failure in a row or at the stop, whichever comes first.

``run_pull`` is the one code path: the worker, "pull now" and ``flask serasi sources sync``.
"""
from __future__ import annotations

import base64
import json
import logging
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..database import utcnow
from ..extensions import db
from ..jobs.limited import message_parts
from ..lodgings.models import Lodging
from ..plugin_types import SourceError
from ..plugins import registry
from ..stays import services, sync
from ..stays.models import Stay, StayStatus, StayVersion
from .models import SourceConnection, SourceRun

log = logging.getLogger(__name__)

INTERVAL_CHOICES = (15, 30, 60, 180, 1440)  # minutes
DEFAULT_INTERVAL = 60
MAX_BACKOFF = timedelta(hours=24)
NOTIFY_AFTER_FAILURES = 3
RUNS_KEPT = 50
PROBLEMS_KEPT = 50  # per run: enough to see what is wrong; the rest are counted
CLAIM_LEASE = timedelta(minutes=30)  # a worker that died mid-pull frees the connection after this
KEPT_KEY = "_kept"  # in the secrets' JSON: what a source keeps between pulls (never a field of its form)
# Text a draft may leave blank (the operator fills it in on the form) though its column is NOT
# NULL: what property systems cannot supply (``cannot_supply``: Beds24 keeps no passport,
# Cloudbeds no stay permit). The dates of ``stays.models.DRAFT_OPTIONAL_DATES`` are left NULL.
# A draft still needs the guest's surname and the check-in (its list and deadline).
DRAFT_BLANK_TEXT = ("sex", "nationality", "document_type", "document_number", "issuing_state", "stay_permit", "purpose")
LOOKUP_CHUNK = 500  # external ids per query when looking up cancelled bookings

_kept: ContextVar[dict | None] = ContextVar("serasi_source_kept", default=None)


# ---- credentials -------------------------------------------------------------------------------

def _fernet() -> Fernet:
    key = current_app.config.get("SOURCE_CREDENTIALS_KEY")
    if not key:
        # Development and tests: a key derived from SECRET_KEY (docs/plugins.md). Changing
        # SECRET_KEY then makes stored secrets unreadable: the operator enters them again.
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                       info=b"serasi source credentials").derive(current_app.config["SECRET_KEY"].encode())
        key = base64.urlsafe_b64encode(derived)
    return Fernet(key)


def encrypt_secrets(values: dict[str, str]) -> str | None:
    if not values:
        return None
    return _fernet().encrypt(json.dumps(values).encode()).decode()


def _decrypt_all(token: str | None) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except (InvalidToken, ValueError):
        raise SourceError(_l("The stored credentials cannot be read (the encryption key changed): "
                             "enter them again."), retry=False) from None


def decrypt_secrets(token: str | None) -> dict[str, str]:
    """The connection's secret fields; raises SourceError when they cannot be read (another key)."""
    secrets = _decrypt_all(token)
    secrets.pop(KEPT_KEY, None)
    return secrets


def kept_between_pulls() -> dict:
    """What a source keeps between the pulls of one connection (say, an access token and its
    expiry, so that it is not asked for at every pull): a dict the source reads and changes in
    ``pull``. It is stored encrypted with the connection's secrets after the pull, whether the
    pull worked or not, and dropped when someone saves the connection's settings (new
    credentials). Outside a stored connection's pull (``sources sync``) it starts empty and is
    forgotten."""
    kept = _kept.get()
    return kept if kept is not None else {}


def stored_secret_names(connection: SourceConnection) -> set[str]:
    """Which secret fields have a value stored (the form says so without showing them)."""
    try:
        return set(decrypt_secrets(connection.secrets_encrypted))
    except SourceError:
        return set()


# ---- connections -------------------------------------------------------------------------------

def failure(message) -> dict:
    """A lazy message as stored in ``failure`` columns: translated when a page shows it."""
    msgid, values = message_parts(message)
    return {"message": msgid, "values": values}


def connections_of(lodging: Lodging) -> list[SourceConnection]:
    return list(db.session.execute(select(SourceConnection).where(SourceConnection.lodging_id == lodging.id)
                                   .order_by(SourceConnection.source)).scalars())


def save_connection(connection: SourceConnection, source, values: dict[str, str], interval: int, enabled: bool) -> None:
    """Store the fields of ``source`` from ``values``: the secret ones encrypted, an empty
    secret keeping the stored one. Saving runs the connection at once and clears a stop."""
    secrets = {}
    try:
        secrets = decrypt_secrets(connection.secrets_encrypted)
    except SourceError:
        pass  # unreadable: the new values replace them
    settings = {}
    for source_field in source.fields:
        value = (values.get(source_field.name) or "").strip()
        if source_field.secret:
            if value:
                secrets[source_field.name] = value
        else:
            settings[source_field.name] = value
    connection.source = source.name
    connection.settings = settings
    connection.secrets_encrypted = encrypt_secrets(secrets)
    connection.interval_minutes = interval  # (what the source kept, say a token of the old credentials, is dropped)
    connection.enabled = enabled
    connection.next_run_at = utcnow() if enabled else None
    if connection.last_status == "stopped":
        connection.last_status = "failing"


def request_pull(connection: SourceConnection) -> None:
    """The "Pull now" button: due at once; the caller enqueues the task."""
    connection.next_run_at = utcnow()


# ---- running -----------------------------------------------------------------------------------

@dataclass
class PullCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    drafts: int = 0
    refused: int = 0
    voided: int = 0
    problems: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (external id, errors)
    outcomes: dict[str, int] = field(default_factory=dict)  # sync's outcome (or "draft") -> items


def pull_into(lodging: Lodging, source, settings: dict[str, str], kept: dict | None = None) -> PullCounts:
    """Pull from ``source`` and upsert every item into ``lodging``; raises SourceError when the
    pull itself fails. An incomplete item (say, a field the source cannot supply) is kept as a
    draft for the operator to finish; a draft stays a draft until the source sends it whole. A
    cancelled booking voids the report made of it (``_void_cancelled``). ``kept``: what the
    source keeps between pulls (``kept_between_pulls``), changed in place."""
    context = _kept.set(kept if kept is not None else {})
    try:
        items = list(source.pull(lodging, settings))
    finally:
        _kept.reset(context)
    counts = PullCounts()
    actor_label = f"source:{source.name}"
    _void_cancelled(lodging, source, [item.external_id for item in items if item.cancelled], counts, actor_label)
    for item in items:
        if item.cancelled:
            continue
        try:
            result = sync.upsert(lodging, source.name, item.external_id, item.values, actor_label)
            if result.outcome == "invalid":
                result = _keep_as_draft(lodging, source.name, item, result)
            if result.outcome in ("created", "updated", "unchanged") and item.checked_out_at and result.stay.status == "reported":
                services.check_out([result.stay], item.checked_out_at, None, actor_label=actor_label)
        except Exception as error:  # noqa: BLE001 - one bad item must not stop the others
            db.session.rollback()
            log.warning("%s: item could not be saved (%s)", source.name, type(error).__name__)
            result = sync.UpsertResult("invalid", errors={"": str(_l("This stay could not be saved (the error was logged)."))})
        if result.outcome in ("unchanged", "conflict") and result.stay is not None and _voided_by_cancellation(result.stay, actor_label):
            result = sync.UpsertResult("reinstated", errors={"": str(_l(
                "This booking was cancelled earlier and its report voided; it is a booking again: if the guest is "
                "staying, report them with a new form."))})
        counts.outcomes[result.outcome] = counts.outcomes.get(result.outcome, 0) + 1
        if result.outcome == "draft":
            counts.drafts += 1
        elif result.outcome in ("created", "updated", "unchanged"):
            setattr(counts, result.outcome, getattr(counts, result.outcome) + 1)
        else:
            counts.refused += 1
            counts.problems.append((item.external_id, result.errors))
    return counts


def _void_cancelled(lodging: Lodging, source, external_ids: list[str], counts: PullCounts, actor_label: str) -> None:
    """Bookings the system says were cancelled (or no-shows): no guest stayed, so the report made
    of one is voided, whatever its status (the guest may have been reported, even checked out,
    from a booking whose arrival day came), with the reason and its history kept; a later pull
    never brings it back (``sync.upsert``). A cancelled booking never reported stays unreported.
    A report with minors linked to it is left to the operator, who decides for them."""
    reason = str(_l("The booking was cancelled in %(system)s.", system=source.label))
    for start in range(0, len(external_ids), LOOKUP_CHUNK):
        stays = db.session.execute(select(Stay).where(
            Stay.lodging_id == lodging.id, Stay.source == source.name,
            Stay.external_id.in_(external_ids[start:start + LOOKUP_CHUNK]), Stay.status != StayStatus.VOIDED)
            .order_by(Stay.id)).scalars().all()
        for stay in stays:
            external_id = stay.external_id
            try:
                if services.linked_minors(stay):
                    raise services.StayError({"": str(_l(
                        "The booking was cancelled in %(system)s, but minors travel with this guest: void the report "
                        "on its page and decide for them.", system=source.label))})
                services.void(stay, reason, None, actor_label=actor_label)
            except services.StayError as error:
                counts.refused += 1
                counts.problems.append((external_id, error.field_errors))
                counts.outcomes["refused"] = counts.outcomes.get("refused", 0) + 1
            except Exception as error:  # noqa: BLE001 - one bad item must not stop the others
                db.session.rollback()
                log.warning("%s: a cancelled booking's report could not be voided (%s)", source.name, type(error).__name__)
                counts.refused += 1
                counts.problems.append((external_id, {"": str(_l("This stay could not be saved (the error was logged)."))}))
                counts.outcomes["refused"] = counts.outcomes.get("refused", 0) + 1
            else:
                counts.voided += 1
                counts.outcomes["voided"] = counts.outcomes.get("voided", 0) + 1


def _voided_by_cancellation(stay: Stay, actor_label: str) -> bool:
    """Whether ``stay`` was voided by this source because its booking was cancelled: the system
    listing it as a booking again must be said, not silently left voided (the operator voiding a
    report on purpose is not asked again)."""
    if stay.status != StayStatus.VOIDED:
        return False
    last = db.session.execute(select(StayVersion).where(StayVersion.stay_id == stay.id)
                              .order_by(StayVersion.id.desc()).limit(1)).scalar_one_or_none()
    return last is not None and last.action == "voided" and last.changed_by_label == actor_label


def _keep_as_draft(lodging: Lodging, source_name: str, item, result: sync.UpsertResult) -> sync.UpsertResult:
    """An incomplete item (every problem at a field the source left empty, say one it cannot
    supply): a draft of what it has, once, the missing dates left empty; a later pull with the
    same gaps leaves the draft alone, one that is whole submits it through ``sync.upsert``. Once
    the operator has completed and submitted the draft, the gaps are filled from the report, so
    that the system's own changes (a check-out) still come through. A wrong value is refused."""
    if any(not name or str(item.values.get(name) or "").strip() for name in result.errors):
        return result
    existing = sync.find_external(lodging, source_name, item.external_id)
    if existing is not None:
        if existing.status == StayStatus.DRAFT:
            return sync.UpsertResult("draft", stay=existing)
        if existing.status == StayStatus.VOIDED:
            return result
        return _with_gaps_from_report(lodging, source_name, item, existing)
    values, _errors = sync.read_values(lodging, item.values)
    for name in DRAFT_BLANK_TEXT:
        values[name] = values.get(name) or ""
    try:
        created = services.create_stay(lodging, values, None, submit=False, actor_label=f"source:{source_name}",
                                       extra={"source": source_name, "external_id": item.external_id})
    except services.StayError:
        return result  # not even a draft: refused with the form's messages
    except (IntegrityError, KeyError):  # a field even a draft needs (the surname, the check-in)
        db.session.rollback()
        return result
    return sync.UpsertResult("draft", stay=created.stay)


def _with_gaps_from_report(lodging: Lodging, source_name: str, item, stay: Stay) -> sync.UpsertResult:
    """Upsert ``item`` with the fields it left empty taken from ``stay``, the report the operator
    completed: what the system sends wins, what it has no place for (the passport, the permit,
    the port of entry ...) is the operator's."""
    raw = dict(item.values)
    for name in services.REPORT_FIELDS:
        if str(raw.get(name) or "").strip():
            continue
        value = getattr(stay, name)
        if not isinstance(value, datetime):  # the check-in is never a gap (a draft needs it)
            raw[name] = value.isoformat() if isinstance(value, date) else value
    version = stay.version
    filled = sync.upsert(lodging, source_name, item.external_id, raw, f"source:{source_name}")
    if filled.outcome == "updated" and filled.stay is not None and filled.stay.version == version:
        return sync.UpsertResult("unchanged", stay=filled.stay)  # only the content's hash was new
    return filled


def _owner_locale(lodging: Lodging) -> str:
    languages = current_app.config["LANGUAGES"]
    locale = getattr(lodging.owner, "locale", None)
    return locale if locale in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def run_pull(connection: SourceConnection, source=None) -> SourceRun:
    """Pull one connection now, record the run and schedule the next (with backoff on failure)."""
    source = source or registry().stay_source(connection.source)
    run = SourceRun(connection_id=connection.id, started_at=utcnow())
    lodging = connection.lodging
    secrets: dict[str, Any] = {}
    kept: dict = {}
    kept_before = "{}"
    try:
        if source is None:
            raise SourceError(_l("The plugin offering this source is not installed or is disabled."))
        secrets = _decrypt_all(connection.secrets_encrypted)
        kept = secrets.pop(KEPT_KEY, None) or {}
        kept_before = json.dumps(kept, sort_keys=True)
        settings = {**(connection.settings or {}), **secrets}
        with force_locale(_owner_locale(lodging)):  # the refusals' messages are kept as the owner will read them
            counts = pull_into(lodging, source, settings, kept)
            problems = [{"external_id": external_id, "field": name, "message": str(message)}
                        for external_id, errors in counts.problems for name, message in errors.items()][:PROBLEMS_KEPT]
    except SourceError as error:
        db.session.rollback()
        _record_failure(connection, run, error)
    except Exception as error:  # noqa: BLE001 - a broken adapter is a failing source, not a dead worker
        db.session.rollback()
        log.warning("stay source %s failed for connection %s (%s)", connection.source, connection.id, type(error).__name__)
        _record_failure(connection, run, SourceError(_l("The source failed unexpectedly (the error was logged).")))
    else:
        run.created_count, run.updated_count, run.unchanged_count = counts.created, counts.updated, counts.unchanged
        run.draft_count, run.refused_count, run.voided_count = counts.drafts, counts.refused, counts.voided
        run.problems = problems
        connection.last_status = "ok"
        connection.consecutive_failures = 0
        connection.failing_since = None
        connection.failure = None
        connection.next_run_at = run.started_at + timedelta(minutes=connection.interval_minutes) if connection.enabled else None
    if json.dumps(kept, sort_keys=True) != kept_before:
        _store_kept(connection, secrets, kept)
    run.finished_at = utcnow()
    connection.last_run_at = run.started_at
    connection.claimed_until = None
    db.session.add(run)
    db.session.commit()
    _forget_old_runs(connection)
    if connection.last_status == "stopped" or (connection.last_status == "failing"
                                               and connection.consecutive_failures == NOTIFY_AFTER_FAILURES):
        _notify_failing(connection)  # once per failing spell (the key), so a stop after three failures mails once
    return run


def _store_kept(connection: SourceConnection, secrets: dict[str, Any], kept: dict) -> None:
    """Store what the source kept with the secrets it was pulled with, unless someone saved new
    ones during the pull (what was kept then belongs to the old credentials)."""
    db.session.refresh(connection, ["secrets_encrypted"])
    try:
        if decrypt_secrets(connection.secrets_encrypted) != secrets:
            return
    except SourceError:
        return
    connection.secrets_encrypted = encrypt_secrets({**secrets, KEPT_KEY: kept})


def _record_failure(connection: SourceConnection, run: SourceRun, error: SourceError) -> None:
    run.failure = failure(error.message)
    connection.failure = run.failure
    connection.consecutive_failures = (connection.consecutive_failures or 0) + 1
    connection.failing_since = connection.failing_since or run.started_at
    if error.retry:
        connection.last_status = "failing"
        wait = min(timedelta(minutes=connection.interval_minutes) * 2 ** connection.consecutive_failures, MAX_BACKOFF)
        connection.next_run_at = run.started_at + wait if connection.enabled else None
    else:
        connection.last_status = "stopped"  # until the operator saves the settings again
        connection.next_run_at = None


def _forget_old_runs(connection: SourceConnection) -> None:
    keep = select(SourceRun.id).where(SourceRun.connection_id == connection.id).order_by(SourceRun.id.desc()).limit(RUNS_KEPT)
    db.session.execute(delete(SourceRun).where(SourceRun.connection_id == connection.id, SourceRun.id.not_in(keep.scalar_subquery())))
    db.session.commit()


def _notify_failing(connection: SourceConnection) -> None:
    from ..notifications.services import notify

    owner = connection.lodging.owner
    if owner is None:
        return
    key = f"source:{connection.id}:{connection.failing_since.isoformat()}"  # once per failing spell
    try:
        notify(owner, "source_failing", key, "source_failing", connection=connection,
               source_label=source_label(connection.source), lodging=connection.lodging)
    except Exception:  # noqa: BLE001 - the run is recorded; the notice must not undo it
        log.warning("the failing-source notice for connection %s was not sent", connection.id, exc_info=True)


def source_label(name: str) -> str:
    source = registry().stay_source(name)
    return str(source.label) if source else name


def claim(connection_id: int, now: datetime | None = None) -> SourceConnection | None:
    """Take one due connection for this worker (None when it is not due or another worker has
    it): a conditional UPDATE, atomic on SQLite and PostgreSQL alike."""
    now = now or utcnow()
    claimed = db.session.execute(
        update(SourceConnection)
        .where(SourceConnection.id == connection_id, SourceConnection.enabled.is_(True),
               SourceConnection.next_run_at <= now,
               or_(SourceConnection.claimed_until.is_(None), SourceConnection.claimed_until < now))
        .values(claimed_until=now + CLAIM_LEASE)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return db.session.get(SourceConnection, connection_id) if claimed == 1 else None


def _due_ids(now: datetime) -> list[int]:
    return db.session.execute(select(SourceConnection.id).where(
        SourceConnection.enabled.is_(True), SourceConnection.next_run_at <= now,
        or_(SourceConnection.claimed_until.is_(None), SourceConnection.claimed_until < now))
        .order_by(SourceConnection.next_run_at)).scalars().all()


def enqueue_due(now: datetime | None = None) -> int:
    """The worker's periodic job: claim every due connection and queue one task per claimed
    connection (``run_claimed``), so that one slow system holds one worker thread while the
    others pull; how many were queued. A claim whose task cannot be queued is released: the
    next minute's job tries again."""
    from ..jobs import get_huey

    now = now or utcnow()
    queued = 0
    for connection_id in _due_ids(now):
        connection = claim(connection_id, now)
        if connection is None:
            continue
        try:
            get_huey(current_app).serasi_tasks["pull_claimed_source"](connection.id, connection.claimed_until.isoformat())
        except Exception:  # noqa: BLE001 - the queue is down: release, so the connection is not held for the lease
            log.warning("pull of connection %s not queued; released for the next run", connection.id)
            db.session.execute(update(SourceConnection).where(SourceConnection.id == connection.id)
                               .values(claimed_until=None).execution_options(synchronize_session=False))
            db.session.commit()
            continue
        queued += 1
    return queued


def run_claimed(connection_id: int, lease: str) -> bool:
    """The task ``enqueue_due`` queued: pull the connection if the claim it was queued with still
    holds (renewed here, atomically). A claim that ran out while the task waited, and was taken
    by another worker since, is not this task's any more."""
    now = utcnow()
    renewed = db.session.execute(
        update(SourceConnection)
        .where(SourceConnection.id == connection_id, SourceConnection.claimed_until == datetime.fromisoformat(lease))
        .values(claimed_until=now + CLAIM_LEASE)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if renewed != 1:
        return False
    run_pull(db.session.get(SourceConnection, connection_id))
    return True


def run_due(now: datetime | None = None) -> int:
    """Run every connection that is due, one after the other, in this process (the command line
    and tests; the worker queues them, ``enqueue_due``); how many ran."""
    now = now or utcnow()
    ran = 0
    for connection_id in _due_ids(now):
        connection = claim(connection_id, now)
        if connection is not None:
            run_pull(connection)
            ran += 1
    return ran


def run_one(connection_id: int) -> bool:
    """The worker's side of "Pull now": the connection, if it is still due and nobody runs it."""
    connection = claim(connection_id)
    if connection is None:
        return False
    run_pull(connection)
    return True


def describe_failure(stored: dict[str, Any] | None) -> str:
    """A stored failure in the reader's language."""
    if not stored:
        return ""
    from flask_babel import gettext

    return gettext(stored["message"], **stored.get("values", {}))
