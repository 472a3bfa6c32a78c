"""Roster sync: the HR system's full list of residents against the stays we have."""
from __future__ import annotations

import logging
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from serasi_web.database import private_instance_folder, utcnow
from serasi_web.extensions import db
from serasi_web.jobs.limited import LimitedRunError, message_parts, preload, run_limited
from serasi_web.stays import services, sync
from serasi_web.stays.models import Stay, StayStatus

from .models import RosterSync
from .roster_csv import MAX_RESIDENTS, MAX_ROSTER_BYTES, RosterError, read_roster

preload(read_roster.__module__)  # the fork server reads rosters with it loaded once

log = logging.getLogger(__name__)

SOURCE = "roster"


def apply_roster(lodging, residents: list[tuple[str, dict]], received_from: str, record: RosterSync | None = None) -> RosterSync:
    """Report every listed resident (idempotently) and propose check-out for those not listed.

    ``residents`` is [(external id, raw report values)]. The departures are not checked out
    here: a person confirms them (a missing row may be an HR mistake). Each keeps the time a
    roster first left it out (this one, or the one still waiting that this one supersedes): the
    resident left by then, however late the confirmation comes.
    ``record`` is the roster an upload made (status "reading"), filled in here; without it a new
    one is made.
    """
    now = utcnow()
    arrived, problems, unchanged = [], [], 0
    listed = {external_id for external_id, _ in residents}
    for (external_id, _), result in zip(residents, sync.upsert_many(lodging, SOURCE, residents, received_from)):
        if result.outcome == "created":
            arrived.append(result.stay.id)
        elif result.outcome in ("unchanged", "updated"):
            unchanged += 1
        else:
            for field, message in (result.errors or {"": "conflict"}).items():
                problems.append({"external_id": external_id, "field": field, "message": message})
    housed = db.session.execute(
        select(Stay.id, Stay.external_id).where(Stay.lodging_id == lodging.id, Stay.source == SOURCE, Stay.status == StayStatus.REPORTED)
    ).all()
    departing = [stay_id for stay_id, external_id in housed if external_id not in listed]
    since = {str(stay_id): now.isoformat() for stay_id in departing}
    # An older roster still waiting is superseded by this one; a resident it already left out
    # has been gone since then. (A dismissed roster's residents were there after all: they start
    # again.)
    for older in db.session.execute(select(RosterSync).where(RosterSync.lodging_id == lodging.id, RosterSync.status == "pending")
                                    .order_by(RosterSync.id)).scalars():
        older.status = "superseded"
        for stay_id in older.departing:
            if str(stay_id) in since:
                since[str(stay_id)] = min(since[str(stay_id)], older.departed_at(stay_id).isoformat(), key=datetime.fromisoformat)
    if record is None:
        record = RosterSync(lodging_id=lodging.id, received_from=received_from[:120], created_at=now)
        db.session.add(record)
    record.arrived, record.departing, record.departing_since = arrived, departing, since
    record.unchanged, record.problems = unchanged, problems[:500]
    record.status = "pending" if departing else "applied"
    db.session.commit()
    return record


def confirm_departures(record: RosterSync, checked_out_at: datetime | None = None, actor=None) -> int:
    """Check out the residents the roster no longer lists (those still in the house), each at the
    time a roster first left them out, or all at ``checked_out_at`` when the administrator gives
    one. Raises ``services.StayError`` (nothing written, the roster still pending) when a time is
    in the future or before a resident's check-in."""
    stays = db.session.execute(select(Stay).where(Stay.id.in_(record.departing), Stay.lodging_id == record.lodging_id,
                                                  Stay.status == StayStatus.REPORTED)).scalars().all()
    if stays:
        services.check_out_each([(stay, checked_out_at or record.departed_at(stay.id)) for stay in stays], actor, actor_label="roster")
    record.status, record.decided_at = "confirmed", utcnow()
    db.session.commit()
    return len(stays)


def dismiss(record: RosterSync) -> None:
    record.status, record.decided_at = "dismissed", utcnow()
    db.session.commit()


# ---- a roster uploaded as CSV: stored by the request, read by the worker ------------------------

READ_TASK = "serasi.roster_read"
READING, FAILED = "reading", "failed"


def rosters_folder() -> Path:
    return private_instance_folder("rosters")


def roster_path(record: RosterSync) -> Path:
    return rosters_folder() / f"{record.id}.csv"


def failure(message) -> dict:
    """A lazy message as stored in ``RosterSync.failure``: translated when a page shows it."""
    msgid, values = message_parts(message)
    return {"message": msgid, "values": values}


FILE_KEEP_SECONDS = 24 * 3600


def _forget_old_files(folder: Path) -> None:
    """Delete roster files a day old: the worker deletes each file it read, so such a file is
    one whose reading never ran (a worker down for a day); it holds residents' passport data."""
    cutoff = time.time() - FILE_KEEP_SECONDS
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:  # pragma: no cover - a file we cannot delete must not break the upload
            log.warning("could not delete the old roster file %s", path.name)


def store_upload(lodging, upload, received_from: str) -> RosterSync:
    """Stream an uploaded roster (a werkzeug FileStorage) to ``instance/rosters/<id>.csv`` and
    make its record in status "reading"; nothing of it is parsed here. Raises RosterError for a
    file over MAX_ROSTER_BYTES (read in chunks: never the whole body in memory) or empty."""
    folder = rosters_folder()
    _forget_old_files(folder)
    handle = tempfile.NamedTemporaryFile(dir=folder, prefix=".upload-", delete=False)
    temporary = Path(handle.name)
    try:
        size = 0
        with handle:
            while chunk := upload.stream.read(256 * 1024):
                size += len(chunk)
                if size > MAX_ROSTER_BYTES:
                    raise RosterError(_l("The file is larger than %(mb)d MB.", mb=MAX_ROSTER_BYTES // (1024 * 1024)))
                handle.write(chunk)
        if size == 0:
            raise RosterError(_l("The file is empty."))
        record = RosterSync(lodging_id=lodging.id, received_from=received_from[:120], status=READING)
        db.session.add(record)
        db.session.flush()
        os.replace(temporary, roster_path(record))
        db.session.commit()
        return record
    finally:
        temporary.unlink(missing_ok=True)


def start_reading(record: RosterSync) -> None:
    """Read the stored roster in the worker (in the request when ROSTER_RUN_INLINE is set)."""
    app = current_app._get_current_object()
    if app.config["ROSTER_RUN_INLINE"]:
        read_uploaded_roster(record.id)
        return
    from serasi_web.jobs import get_huey

    try:
        get_huey(app).serasi_tasks[READ_TASK](record.id)
    except Exception:  # noqa: BLE001 - the queue (Redis, the huey file) is unreachable: the roster says so, the page is no 500
        log.exception("could not queue the reading of roster %s", record.id)
        db.session.rollback()
        _fail(record.id, _l("The background worker could not be reached, so the roster was not read. Send it again in a few minutes."))


def _fail(record_id: int, message) -> None:
    db.session.execute(update(RosterSync).where(RosterSync.id == record_id, RosterSync.status == READING)
                       .values(status=FAILED, failure=failure(message), decided_at=utcnow()))
    db.session.commit()


def read_uploaded_roster(record_id: int) -> None:
    """The worker's task: parse the stored CSV in a child process under ROSTER_PARSE_MEMORY_MB
    and ROSTER_PARSE_TIMEOUT_SECONDS, then apply it; any refusal is kept on the record. The file
    is deleted either way."""
    from serasi_web.api.mapping import check_in_as_local_text
    from serasi_web.lodgings.models import Lodging

    record = db.session.get(RosterSync, record_id)
    if record is None or record.status != READING:
        return
    path = roster_path(record)
    config = current_app.config
    try:
        lodging = db.session.get(Lodging, record.lodging_id)
        if refusal := services.receipt_refusal(lodging):  # suspended since the upload
            _fail(record.id, refusal)
            return
        memory_mb, timeout = config["ROSTER_PARSE_MEMORY_MB"], config["ROSTER_PARSE_TIMEOUT_SECONDS"]
        try:
            residents = run_limited(read_roster, (str(path), tuple(services.REPORT_FIELDS)), memory_mb, timeout)
        except LimitedRunError as error:
            _fail(record.id, _refusal_message(error, memory_mb, timeout))
            return
        for _external_id, values in residents:
            if values.get("check_in_at"):
                values["check_in_at"] = check_in_as_local_text(values["check_in_at"], lodging)
        apply_roster(lodging, residents, record.received_from, record=record)
    except Exception:
        log.exception("reading roster %s failed", record_id)
        db.session.rollback()
        _fail(record_id, ROSTER_READER_STOPPED)
    finally:
        path.unlink(missing_ok=True)


ROSTER_READER_STOPPED = _l("The roster could not be read: its reader stopped unexpectedly (this was logged). Nothing was applied; "
                           "save the file again as \"CSV UTF-8\" and send it again.")


def _refusal_message(error: LimitedRunError, memory_mb: int, timeout: float):
    if error.reason == "refused":
        return error.message
    if error.reason == "memory":
        return _l("Reading the roster needs more than %(mb)d MB of memory, so it was stopped and nothing was applied. "
                  "Check the file: a roster of %(n)d residents needs far less.", mb=memory_mb, n=MAX_RESIDENTS)
    if error.reason == "timeout":
        return _l("Reading the roster took longer than %(seconds)d seconds, so it was stopped and nothing was applied.",
                  seconds=int(timeout))
    return ROSTER_READER_STOPPED
