"""The retention policy and the daily job that applies it (docs/privacy.md).

Each kind of record has a period in days (0: kept for ever): the default below, or the row of
``retention_setting`` that overrides it. The job works through each kind in batches of
``BATCH_SIZE`` rows, one short transaction each, so neither SQLite's write lock nor PostgreSQL's
row locks are held for long while reports keep coming in. Every statement repeats the conditions
it was selected by, so a row that changed between the read and the write (a correction, a
check-out, a new legal hold) is left alone. Running it twice does nothing the second time.

A stay past its period is pseudonymised, not deleted: it keeps its lodging, dates, nationality,
sex, birth year, permit kind and status for the statistics, and loses the name, the document
number, the exact birth date, the permit number, the entry-stamp text, the notes and the other
system's id; its versions and its audit entries lose their snapshots and differences. A draft
never submitted is no report: it is deleted. A stay under a legal hold, and every stay of the
same travel document, is kept as it is.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Date, and_, case, cast, delete, exists, func, literal, null, or_, select, update
from sqlalchemy.orm import aliased

from ..audit.models import AuditEvent
from ..database import utcnow
from ..extensions import db
from ..stays.models import Stay, StayStatus, StayVersion
from .models import LegalHold, RetentionRun, RetentionSetting

log = logging.getLogger(__name__)

BATCH_SIZE = 250  # measured: bench/retention.py (docs/privacy.md)


@dataclass(frozen=True)
class RetentionKind:
    key: str
    default_days: int


# The defaults and why: docs/privacy.md, "Retention".
KINDS = (
    RetentionKind("stays", 5 * 365),  # stays and their versions, counted from the last change
    RetentionKind("audit_events", 5 * 365),
    # Plugins' records of uploads and imports (the spreadsheet import's jobs with their error rows,
    # the company mess's rosters): each plugin deletes its own (``serasi_purge_expired``).
    RetentionKind("import_jobs", 90),
    RetentionKind("capture_photos", 30),
    RetentionKind("outbox", 90),  # events every forwarder received, counted from delivery
    RetentionKind("sessions", 30),  # counted from the last request
    RetentionKind("login_failures", 30),
    RetentionKind("notices_sent", 5 * 365),  # never shorter than stays: a draft's reminder would go again
)
DEFAULT_DAYS = {kind.key: kind.default_days for kind in KINDS}
MAX_DAYS = 100 * 365


class UnknownKind(ValueError):
    pass


def policy() -> dict[str, int]:
    """Days per kind: the defaults with the stored settings over them."""
    from flask import current_app

    days = dict(DEFAULT_DAYS, outbox=current_app.config["OUTBOX_KEEP_DAYS"])  # the older setting is the default
    for setting in db.session.execute(select(RetentionSetting)).scalars():
        if setting.kind in days:
            days[setting.kind] = setting.days
    return days


def set_period(kind: str, days: int, by: str = "") -> None:
    """Store ``days`` for ``kind`` (0: for ever) and audit the change; commits."""
    if kind not in DEFAULT_DAYS:
        raise UnknownKind(kind)
    if not 0 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 0 and {MAX_DAYS}")
    before = policy()[kind]
    setting = db.session.get(RetentionSetting, kind)
    if setting is None:
        setting = RetentionSetting(kind=kind, days=days, updated_by=by)
        db.session.add(setting)
    else:
        setting.days, setting.updated_by = days, by
    db.session.add(AuditEvent(action="retention.policy_changed", object_type="RetentionSetting", object_id=0,
                              actor_label=by or "cli", changes={"kind": kind, "days": [before, days]}))
    db.session.commit()


# ---- legal holds --------------------------------------------------------------------------------

def held_document(stay=Stay):
    """A condition on ``stay`` (``Stay`` or an alias of it): some stay of the same travel
    document is under a legal hold."""
    held = aliased(Stay)
    return exists().where(LegalHold.released_at.is_(None), LegalHold.stay_id == held.id,
                          held.document_number == stay.document_number, held.issuing_state == stay.issuing_state)


def active_hold(stay: Stay) -> LegalHold | None:
    return db.session.execute(select(LegalHold).where(LegalHold.stay_id == stay.id, LegalHold.released_at.is_(None))
                              .order_by(LegalHold.id.desc()).limit(1)).scalar_one_or_none()


def is_held(stay: Stay) -> bool:
    """This stay or another stay of its travel document is under a legal hold."""
    return bool(db.session.scalar(select(held_document()).select_from(Stay).where(Stay.id == stay.id)))


class HoldRefused(ValueError):
    pass


def set_hold(stay: Stay, reason: str, officer) -> LegalHold:
    """Put ``stay`` (and so its document's timeline) under a legal hold; audited, commits."""
    from ..audit.services import record

    if stay.pseudonymised_at is not None:
        raise HoldRefused("pseudonymised")
    if active_hold(stay) is not None:
        raise HoldRefused("already_held")
    hold = LegalHold(stay_id=stay.id, reason=reason, set_by_id=officer.id, set_at=utcnow())
    db.session.add(hold)
    db.session.flush()
    record("stay.legal_hold_set", stay, officer, lodging_id=stay.lodging_id, changes={"hold": hold.id, "reason": reason})
    db.session.commit()
    return hold


def release_hold(stay: Stay, officer) -> LegalHold:
    """End the stay's legal hold; the retention period applies again from the next run."""
    from ..audit.services import record

    hold = active_hold(stay)
    if hold is None:
        raise HoldRefused("not_held")
    hold.released_at, hold.released_by_id = utcnow(), officer.id
    record("stay.legal_hold_released", stay, officer, lodging_id=stay.lodging_id, changes={"hold": hold.id})
    db.session.commit()
    return hold


# ---- the job ------------------------------------------------------------------------------------

def run_retention(now: datetime | None = None, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Apply the policy as of ``now`` (a test clock, or the real time): returns the counts, which
    are also kept in ``retention_run`` and in the audit log (the job's own entry)."""
    from ..audit.services import record

    now = now or utcnow()
    days = policy()
    run = RetentionRun(clock=now, started_at=utcnow(), counts={})
    db.session.add(run)
    db.session.commit()

    def cutoff(kind: str) -> datetime | None:
        return now - timedelta(days=days[kind]) if days[kind] > 0 else None

    counts: dict[str, int] = {}
    if (moment := cutoff("stays")) is not None:
        counts["stays_pseudonymised"] = _pseudonymise_stays(moment, batch_size)
        counts["drafts_deleted"] = _delete_drafts(moment, batch_size)
    if (moment := cutoff("audit_events")) is not None:
        counts["audit_events_deleted"] = delete_in_batches(AuditEvent, AuditEvent.at < moment, batch_size)
    if (moment := cutoff("capture_photos")) is not None:
        from ..capture.models import CapturePhoto

        counts["capture_photos_deleted"] = delete_in_batches(CapturePhoto, CapturePhoto.created_at < moment, batch_size)
    if days["outbox"] > 0:
        from ..delivery.retention import purge_delivered

        counts["outbox_events_deleted"] = purge_delivered(now, days=days["outbox"])
    if (moment := cutoff("sessions")) is not None:
        from ..accounts.models import UserSession

        counts["sessions_deleted"] = delete_in_batches(UserSession, UserSession.last_seen_at < moment, batch_size)
    if (moment := cutoff("login_failures")) is not None:
        from ..accounts.models import LoginFailure

        counts["login_failures_deleted"] = delete_in_batches(LoginFailure, LoginFailure.created_at < moment, batch_size)
    if (moment := cutoff("notices_sent")) is not None:
        from ..notifications.models import NotificationSent

        counts["notices_deleted"] = delete_in_batches(NotificationSent, NotificationSent.sent_at < moment, batch_size)
    if (moment := cutoff("import_jobs")) is not None:  # last: a failing plugin cannot hold back the core's kinds
        _add_counts(counts, _purge_plugins(moment, batch_size))

    run.finished_at, run.counts = utcnow(), counts
    record("retention.run", run, actor_label="retention", changes=counts)
    db.session.commit()
    log.info("retention run %s: %s", run.id, counts)
    return counts


def _purge_plugins(moment: datetime, batch_size: int) -> list[dict[str, int]]:
    from ..plugins import plugin_manager

    return plugin_manager().hook.serasi_purge_expired(moment=moment, batch_size=batch_size)


def _add_counts(counts: dict[str, int], reports: list[dict[str, int]]) -> None:
    for report in reports:
        for key, number in (report or {}).items():
            counts[key] = counts.get(key, 0) + int(number)


def delete_in_batches(model, condition, batch_size: int) -> int:
    """Delete the rows of ``model`` (a model with an ``id``) that meet ``condition``, at most
    ``batch_size`` per transaction, repeating the condition in each DELETE; returns how many.
    For plugins' ``serasi_purge_expired`` as for the core's kinds."""
    removed = 0
    while True:
        ids = db.session.execute(select(model.id).where(condition).order_by(model.id).limit(batch_size)).scalars().all()
        if not ids:
            return removed
        result = db.session.execute(delete(model).where(model.id.in_(ids), condition).execution_options(synchronize_session=False))
        db.session.commit()
        removed += result.rowcount
        if len(ids) < batch_size:
            return removed


def _stay_past(moment: datetime, stay=Stay):
    """A stay whose last change is older than ``moment``, not pseudonymised, not under a hold; a
    guest still in the house by a planned check-out after ``moment`` is kept."""
    return and_(stay.pseudonymised_at.is_(None), stay.updated_at < moment, ~held_document(stay),
                or_(stay.status != StayStatus.REPORTED, stay.planned_check_out.is_(None), stay.planned_check_out < moment.date()))


def _birth_year_only(born):
    """1 January of the birth date's year, computed by the database."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-01-01", born)  # how SQLAlchemy stores a date on SQLite
    return cast(func.date_trunc("year", born), Date)


def _batch_of(stay_condition, after: int, batch_size: int):
    """The ids of the next ``batch_size`` stays after ``after`` (by id) that meet the condition
    (a function of the stay entity), locked for the statement; on PostgreSQL a stay another
    transaction holds (an operator correcting it) is skipped, and the next run sees it again."""
    chosen = aliased(Stay, name="chosen")
    return (select(chosen.id).where(chosen.id > after, stay_condition(chosen)).order_by(chosen.id).limit(batch_size)
            .with_for_update(of=chosen, skip_locked=True))


def _pseudonymise_stays(moment: datetime, batch_size: int) -> int:
    """One statement per batch: the selection (a keyset walk by id) is the UPDATE's subquery,
    and the UPDATE repeats it, so a stay corrected or put under a hold since the batch began is
    not touched; RETURNING gives exactly the stays it changed."""
    def past(stay):
        return and_(stay.status != StayStatus.DRAFT, _stay_past(moment, stay))

    done = 0
    after = 0
    while True:
        statement = update(Stay).where(Stay.id.in_(_batch_of(past, after, batch_size)), past(Stay)).values(
            surname="", given_names="", name_folded="", place_of_birth="", document_number="", permit_number="",
            entry_stamp_qr="", notes="", external_id=None, external_hash=None,
            date_of_birth=_birth_year_only(Stay.date_of_birth),
            void_reason=case((Stay.void_reason.is_(None), null()), else_=literal("")), pseudonymised_at=utcnow(),
        ).returning(Stay.id).execution_options(synchronize_session=False)
        changed = db.session.execute(statement).scalars().all()
        if not changed:
            db.session.commit()
            return done
        _forget_history(changed)
        db.session.commit()
        done += len(changed)
        after = max(changed)


def _forget_history(stay_ids: list[int]) -> None:
    """The versions and audit entries of these stays lose the values they recorded."""
    plain = {"synchronize_session": False}
    db.session.execute(update(StayVersion).where(StayVersion.stay_id.in_(stay_ids))
                       .values(snapshot={}, changes={}, reason="", changed_by_label="").execution_options(**plain))
    db.session.execute(update(AuditEvent).where(AuditEvent.object_type == "Stay", AuditEvent.object_id.in_(stay_ids),
                                                AuditEvent.action.like("stay.%"))
                       .values(changes={}).execution_options(**plain))


def _delete_drafts(moment: datetime, batch_size: int) -> int:
    def past(stay):
        return and_(stay.status == StayStatus.DRAFT, _stay_past(moment, stay))

    removed = 0
    after = 0
    while True:
        # Delete what still qualifies (the versions go with it, by the foreign key), then clear
        # the audit entries of exactly those: one transaction, so both or neither.
        deleted = db.session.execute(delete(Stay).where(Stay.id.in_(_batch_of(past, after, batch_size)), past(Stay))
                                     .returning(Stay.id).execution_options(synchronize_session=False)).scalars().all()
        if not deleted:
            db.session.commit()
            return removed
        _forget_history(deleted)
        db.session.commit()
        removed += len(deleted)
        after = max(deleted)
