"""Import jobs: store an upload, check every row (dry run), then import all or only the valid
rows through the idempotent upsert of ``serasi_web.stays.sync``.

The request only stores the upload after the checks that parse nothing (``reader.precheck``).
A job's state and progress live in its ``ImportJob`` row; ``run_job(app, job_id, phase)`` does
the work of one phase ("read", "check", "import") and needs nothing else, so it runs in the
background worker (the huey task ``serasi.import_job``). The "read" phase parses the whole file
once in a child process under a memory limit (``limited.py``) and takes its header row; only a
file that passed it is read by the check and the import. The file stays in
``instance/imports/<job id>.<ext>`` until the import ends, is discarded, fails to read, or is
older than ``IMPORT_KEEP_DAYS``.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path, PureWindowsPath
from typing import Callable

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select, update

from serasi_web.audit.services import record
from serasi_web.database import private_instance_folder, utcnow
from serasi_web.extensions import db
from serasi_web.lodgings.models import Lodging
from serasi_web.reference.permits import suggested_permit
from serasi_web.stays import sync
from serasi_web.stays.models import OPEN_STATUSES, Stay

from . import columns
from .columns import EXTERNAL_ID, MAX_EXTERNAL_ID, derived_external_id, field_label, form_text
from .export import EXAMPLE_IDS
from .limited import parse_limited
from .models import ImportJob
from .reader import ReadError, is_blank, open_rows, precheck, too_many_rows

log = logging.getLogger(__name__)

SOURCE = "spreadsheet"
DEFAULTS = {
    "IMPORT_MAX_BYTES": 20 * 1024 * 1024,  # the largest file accepted
    "IMPORT_REQUEST_LIMIT": 64 * 1024 * 1024,  # larger bodies are still read, to answer with a message
    "IMPORT_MAX_ROWS": 100_000,
    "IMPORT_MAX_ERRORS": 1000,  # problems kept per job (all are counted)
    "IMPORT_PROGRESS_EVERY": 100,  # rows between progress updates of the check
    "IMPORT_BATCH_ROWS": 100,  # rows per transaction of the import (SQLite's write lock is held that long: ~0.3 s)
    "IMPORT_KEEP_DAYS": 7,  # files of unfinished jobs are deleted after this
    "IMPORT_RUN_INLINE": False,  # True: run in the request (tests); False: in the background worker (huey)
    "IMPORT_PARSE_MEMORY_MB": 512,  # memory the first full read of a file may use, beyond the reader process's own
    "IMPORT_PARSE_TIMEOUT_SECONDS": 600,  # the first full read of a file is stopped after this
}
TASK_NAME = "serasi.import_job"

# Job statuses: reading -> uploaded (choose the columns) -> checking -> checked -> importing ->
# done; failed or cancelled on the way.
READING, UPLOADED, CHECKING, CHECKED, IMPORTING, DONE, FAILED, CANCELLED = (
    "reading", "uploaded", "checking", "checked", "importing", "done", "failed", "cancelled")
RUNNING = (READING, CHECKING, IMPORTING)
PHASES = {"read": READING, "check": CHECKING, "import": IMPORTING}


def setting(name: str):
    return current_app.config.get(name, DEFAULTS[name])


class UploadError(Exception):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


# ---- storing an upload -----------------------------------------------------------------------

def imports_folder() -> Path:
    return private_instance_folder("imports")


def job_path(job: ImportJob) -> Path:
    return imports_folder() / f"{job.id}.{job.file_format}"


def _display_name(filename: str) -> str:
    """The upload's name as the pages show it: no folders, no control characters (a NUL is no
    text, and PostgreSQL refuses it), at most 200 characters."""
    name = PureWindowsPath(filename or "").name  # also strips a POSIX path: "/" is a separator there too
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:200] or "upload"


def create_job(lodging: Lodging, user, upload) -> ImportJob:
    """Store an uploaded file (a werkzeug FileStorage) as a job in status "reading"; nothing
    of it is parsed here (``start(job, "read")`` does that in the worker).

    Raises UploadError with a message for a file too large, empty, or not a CSV/XLSX by its
    first bytes or its ZIP directory; nothing is kept then.
    """
    limit = setting("IMPORT_MAX_BYTES")
    folder = imports_folder()
    purge_old_files()
    handle = tempfile.NamedTemporaryFile(dir=folder, prefix=".upload-", delete=False)
    temporary = Path(handle.name)
    try:
        size = 0
        with handle:
            while chunk := upload.stream.read(1024 * 1024):
                size += len(chunk)
                if size > limit:
                    raise UploadError(_l("The file is larger than %(mb)d MB. Split it into smaller files and import them one after the other.",
                                         mb=limit // (1024 * 1024)))
                handle.write(chunk)
        try:
            file_format = precheck(temporary)
        except ReadError as error:
            raise UploadError(error.message) from error
        job = ImportJob(lodging_id=lodging.id, created_by_id=getattr(user, "id", None), filename=_display_name(upload.filename),
                        file_format=file_format, encoding="", headers=[], mapping={}, status=READING, errors=[])
        db.session.add(job)
        db.session.flush()
        os.replace(temporary, job_path(job))
        try:
            db.session.commit()
        except Exception:
            job_path(job).unlink(missing_ok=True)
            raise
        return job
    finally:
        temporary.unlink(missing_ok=True)


def delete_file(job: ImportJob) -> None:
    try:
        job_path(job).unlink(missing_ok=True)
    except OSError:  # pragma: no cover - a file we cannot delete must not break the page
        log.warning("could not delete the import file of job %s", job.id)


def file_exists(job: ImportJob) -> bool:
    return job_path(job).exists()


ORPHAN_GRACE_SECONDS = 3600


def _modified_before(path: Path, moment: float) -> bool:
    try:
        return path.stat().st_mtime < moment
    except OSError:
        return False


def purge_old_files() -> None:
    """Delete the files of jobs older than IMPORT_KEEP_DAYS that are not running, and files whose
    job is gone (guests' passport data is not kept longer than needed). Runs before each upload:
    it looks only at the files still in the folder, so its cost does not grow with the jobs."""
    folder = imports_folder()
    files = {int(path.stem): path for path in folder.iterdir() if path.stem.isascii() and path.stem.isdigit()}
    if not files:
        return
    cutoff = utcnow() - timedelta(days=setting("IMPORT_KEEP_DAYS"))
    jobs = dict(db.session.execute(select(ImportJob.id, or_(ImportJob.created_at >= cutoff, ImportJob.status.in_(RUNNING)))
                                   .where(ImportJob.id.in_(files))).all())  # job id -> its file is still needed
    # A file without a job may belong to an upload being saved right now (its job is not
    # committed yet): such files go only when they are an hour old.
    orphans_before = time.time() - ORPHAN_GRACE_SECONDS
    for job_id, path in files.items():
        if job_id in jobs and not jobs[job_id] or job_id not in jobs and _modified_before(path, orphans_before):
            try:
                path.unlink(missing_ok=True)
            except OSError:  # pragma: no cover - a file we cannot delete must not break the upload
                log.warning("could not delete the old import file %s", path.name)


def discard(job: ImportJob) -> None:
    delete_file(job)
    db.session.execute(delete(ImportJob).where(ImportJob.id == job.id))
    db.session.commit()


# ---- starting and stopping ---------------------------------------------------------------

def start(job: ImportJob, phase: str, only_valid: bool = False) -> bool:
    """Move the job into ``phase`` ("read", "check" or "import") and run it in the worker. False
    when the job is not in a state that allows it (a double click, another tab): nothing is
    started then. "read" is the first phase of every job, made in status "reading"."""
    allowed = {"read": (READING,), "check": (UPLOADED, CHECKED, FAILED, CANCELLED), "import": (CHECKED,)}[phase]
    values = dict(status=PHASES[phase], processed_rows=0, failure="", finished_at=None)
    if phase == "read":
        values = dict(status=READING)
    elif phase == "check":
        values.update(total_rows=0, valid_rows=0, error_rows=0, errors=[], only_valid=False)
    else:
        values.update(only_valid=only_valid, created_count=0, updated_count=0, unchanged_count=0)
    moved = db.session.execute(update(ImportJob).where(ImportJob.id == job.id, ImportJob.status.in_(allowed)).values(**values))
    db.session.commit()
    if moved.rowcount != 1:
        return False
    app = current_app._get_current_object()
    if setting("IMPORT_RUN_INLINE"):
        run_job(app, job.id, phase)
        return True
    from serasi_web.jobs import get_huey

    try:
        get_huey(app).serasi_tasks[TASK_NAME](job.id, phase)
    except Exception:  # noqa: BLE001 - the queue (Redis, the huey file) is unreachable: the job says so, the page is no 500
        log.exception("could not queue import job %s (%s)", job.id, phase)
        db.session.rollback()
        db.session.execute(update(ImportJob).where(ImportJob.id == job.id, ImportJob.status == PHASES[phase]).values(
            status=FAILED, finished_at=utcnow(),
            failure=str(_l("The background worker could not be reached, so the file was not read. Try again in a few minutes."))))
        db.session.commit()
    return True


def cancel(job: ImportJob) -> None:
    """Stop a running job (the runner stops at its next progress update). Rows already
    imported stay; a job whose runner died (a restarted server) is released this way too."""
    db.session.execute(update(ImportJob).where(ImportJob.id == job.id, ImportJob.status.in_(RUNNING))
                       .values(status=CANCELLED, finished_at=utcnow(), failure=str(_l("Stopped by the operator."))))
    db.session.commit()


# ---- one row ---------------------------------------------------------------------------------

@dataclass
class Problem:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


class SeenKeys:
    """Keys met earlier in the file (external ids, documents), kept in a temporary on-disk
    SQLite database so memory stays flat however long the file is."""

    def __init__(self):
        self.connection = sqlite3.connect("", isolation_level=None)  # "" = a private temporary file
        self.connection.execute("CREATE TABLE seen (kind INTEGER, key TEXT, row INTEGER, PRIMARY KEY (kind, key)) WITHOUT ROWID")
        self.connection.execute("BEGIN")

    def first_row(self, kind: int, key: str, row: int) -> int | None:
        """The row where ``key`` was seen before, or None (and remember it for ``row``)."""
        found = self.connection.execute("SELECT row FROM seen WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        if found:
            return found[0] if found[0] != row else None  # a row tried again is not its own repeat
        self.connection.execute("INSERT INTO seen VALUES (?, ?, ?)", (kind, key, row))
        return None

    def close(self):
        self.connection.close()


EXTERNAL_KEY, DOCUMENT_KEY = 1, 2


class RowReader:
    """Turns the file's rows into report values by the job's mapping, with the checks that do
    not need the database (external id, example row, repeats within the file)."""

    def __init__(self, job: ImportJob, lodging: Lodging):
        self.lodging = lodging
        self.headers = list(job.headers)
        position = {header: index for index, header in enumerate(self.headers) if header}
        self.positions = {target: position[header] for target, header in (job.mapping or {}).items() if header in position}
        self.seen = SeenKeys()
        self._permits: dict[str, str] = {}

    def column_of(self, target: str) -> str:
        """The file's header for a report field; for a field not in the file, its label."""
        if target in self.positions:
            return self.headers[self.positions[target]]
        if target == "stay_permit" and "visa_index" in self.positions:
            return self.headers[self.positions["visa_index"]]
        if target in columns.TARGETS:
            return str(field_label(target))
        return ""

    def raw_values(self, cells: tuple) -> dict[str, str]:
        raw = {}
        for target, index in self.positions.items():
            if target == EXTERNAL_ID:
                continue
            raw[target] = form_text(target, cells[index] if index < len(cells) else None, self.lodging)
        raw.setdefault("document_type", "passport")
        if not raw.get("stay_permit") and raw.get("visa_index"):
            # What complete_values() derives too; looked up once per visa index, not once per row.
            index = raw["visa_index"].strip().upper()
            if index not in self._permits:
                self._permits[index] = suggested_permit(index)
            raw["stay_permit"] = self._permits[index]
        return raw

    def external_id(self, cells: tuple, raw: dict) -> str:
        index = self.positions.get(EXTERNAL_ID)
        given = columns.cell_text(cells[index]) if index is not None and index < len(cells) else ""
        return given or derived_external_id(raw)

    def local_problems(self, number: int, external_id: str, raw: dict) -> list[Problem]:
        problems = []
        id_column = self.column_of(EXTERNAL_ID) or str(field_label(EXTERNAL_ID))
        if len(external_id) > MAX_EXTERNAL_ID:
            problems.append(Problem(number, id_column, str(_l("Use at most %(max)d characters.", max=MAX_EXTERNAL_ID))))
        elif external_id in EXAMPLE_IDS.values():
            problems.append(Problem(number, id_column, str(_l("This is the example row of the template: delete it before importing."))))
        elif external_id:
            earlier = self.seen.first_row(EXTERNAL_KEY, external_id, number)
            if earlier is not None:
                problems.append(Problem(number, id_column, str(_l("The same external id is already on row %(row)d.", row=earlier))))
        document = (raw.get("issuing_state", ""), "".join(raw.get("document_number", "").split()).upper())
        if document[1]:
            earlier = self.seen.first_row(DOCUMENT_KEY, "|".join(document), number)
            if earlier is not None:
                problems.append(Problem(number, self.column_of("document_number"),
                                        str(_l("The same document is already on row %(row)d: a guest has one open stay at a time.", row=earlier))))
        return problems

    def close(self):
        self.seen.close()


# ---- the runner --------------------------------------------------------------------------

@dataclass
class Progress:
    """Counters kept in Python and written to the job row every few rows (a rollback inside the
    upsert can then never lose them)."""

    processed: int = 0
    total: int = 0
    valid: int = 0
    invalid: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[dict] = field(default_factory=list)
    problem_limit: int = 1000

    def add(self, problems: list[Problem]) -> None:
        room = self.problem_limit - len(self.problems)
        self.problems.extend(problem.as_dict() for problem in problems[:max(room, 0)])

    def merge(self, other: "Progress") -> None:
        """Add a finished batch's counts and problems."""
        self.processed += other.processed
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.problems.extend(other.problems[:max(self.problem_limit - len(self.problems), 0)])


class Cancelled(Exception):
    """The job's status changed under us (stopped or discarded)."""


def run_job(app: Flask, job_id: int, phase: str) -> None:
    """Run one phase of a job: "check" (validate every row, write nothing) or "import".

    Everything it needs is in the job row, so this can run in a thread of the web process or in
    a background worker. Errors end the job as "failed" with a message; they never escape.
    """
    with app.app_context():
        session = db.session()
        # The upsert commits once per row; without this every commit would expire the lodging
        # and make the next row reload it.
        session.expire_on_commit = False
        try:
            job = db.session.get(ImportJob, job_id)
            if job is None or job.status != PHASES[phase]:
                return
            with force_locale(_job_locale(job)):
                if phase == "read":
                    _read(job)
                elif phase == "check":
                    _check(job)
                else:
                    _import(job)
        except Cancelled:
            db.session.rollback()
        except Exception as error:  # noqa: BLE001 - the job records the failure; a thread must not die silently
            db.session.rollback()
            if isinstance(error, ReadError):
                with force_locale(_job_locale(db.session.get(ImportJob, job_id))):
                    message = str(error.message)
            else:
                log.exception("import job %s failed in %s", job_id, phase)
                message = str(_l("The import stopped because of an unexpected error (it was logged). Rows imported so far are kept; you can upload the file again."))
            db.session.execute(update(ImportJob).where(ImportJob.id == job_id, ImportJob.status == PHASES[phase])
                               .values(status=FAILED, failure=message[:500], finished_at=utcnow()))
            db.session.commit()
            if phase in ("read", "import"):  # a file that cannot be read is not kept either
                job = db.session.get(ImportJob, job_id)
                if job is not None:
                    delete_file(job)
        finally:
            db.session.remove()


def _job_locale(job: ImportJob | None) -> str:
    """Problems are written in the language of the operator who uploaded the file."""
    from serasi_web.accounts.models import User

    languages = current_app.config["LANGUAGES"]
    user = db.session.get(User, job.created_by_id) if job is not None and job.created_by_id else None
    locale = getattr(user, "locale", None)
    return locale if locale in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def _save_progress(job: ImportJob, running_status: str, progress: Progress, **extra) -> None:
    """Write the counters (and ``extra`` columns); raises Cancelled when the job is no longer in
    ``running_status`` (stopped or deleted meanwhile)."""
    if running_status == IMPORTING:
        values = dict(processed_rows=progress.processed, created_count=progress.created, updated_count=progress.updated,
                      unchanged_count=progress.unchanged)
    else:
        values = dict(processed_rows=progress.processed, total_rows=max(progress.total, progress.processed),
                      valid_rows=progress.valid, error_rows=progress.invalid)
    values.update(extra)
    result = db.session.execute(update(ImportJob).where(ImportJob.id == job.id, ImportJob.status == running_status).values(**values))
    db.session.commit()
    if result.rowcount != 1:
        raise Cancelled()


def _read(job: ImportJob) -> None:
    """The whole file parsed once, under the memory limit, in a child process: its header row,
    encoding and number of rows, or the job fails with the reader's message."""
    scanned = parse_limited(job_path(job), setting("IMPORT_MAX_ROWS"), setting("IMPORT_PARSE_MEMORY_MB"),
                            setting("IMPORT_PARSE_TIMEOUT_SECONDS"))
    result = db.session.execute(update(ImportJob).where(ImportJob.id == job.id, ImportJob.status == READING).values(
        status=UPLOADED, file_format=scanned.file_format, encoding=scanned.encoding or "", headers=scanned.headers,
        mapping=columns.preset_mapping(scanned.headers), total_rows=scanned.rows))
    db.session.commit()
    if result.rowcount != 1:
        raise Cancelled()


def _rows(job: ImportJob, source):
    """The data rows (header skipped, blank rows skipped), bounded by IMPORT_MAX_ROWS."""
    limit = setting("IMPORT_MAX_ROWS")
    count = 0
    for number, cells in source.rows():
        if number == 1 or is_blank(cells):
            continue
        count += 1
        if count > limit:
            raise too_many_rows(limit)
        yield number, cells


def _check(job: ImportJob) -> None:
    lodging = db.session.get(Lodging, job.lodging_id)
    progress = Progress(problem_limit=setting("IMPORT_MAX_ERRORS"))
    every = max(setting("IMPORT_PROGRESS_EVERY"), 1)
    reader = RowReader(job, lodging)
    batch: list[RowCheck] = []

    def finish_batch(source) -> None:
        for checked in check_in_database(lodging, batch):
            progress.processed += 1
            if checked.problems:
                progress.invalid += 1
                progress.add(checked.problems)
            else:
                progress.valid += 1
        batch.clear()
        fraction = source.fraction_read()
        progress.total = int(progress.processed / fraction) if fraction > 0 else progress.processed
        _save_progress(job, CHECKING, progress)

    try:
        with open_rows(job_path(job), job.file_format, job.encoding, len(job.headers)) as source:
            for number, cells in _rows(job, source):
                batch.append(check_row(reader, lodging, number, cells))
                if len(batch) >= every:
                    finish_batch(source)
            if batch:
                finish_batch(source)
    finally:
        reader.close()
    progress.total = progress.processed
    _save_progress(job, CHECKING, progress, errors=progress.problems, status=CHECKED, finished_at=utcnow())


@dataclass
class RowCheck:
    number: int
    external_id: str
    values: dict | None  # the clean values when the row passed the form's rules
    problems: list[Problem]
    column_of: Callable[[str], str]  # report field -> the file's header


def check_row(reader: RowReader, lodging: Lodging, number: int, cells: tuple) -> RowCheck:
    """One row by the report form's own rules and every rule of a report, the plugins' included
    (``sync.validate_values``)."""
    raw = reader.raw_values(cells)
    external_id = reader.external_id(cells, raw)
    problems = reader.local_problems(number, external_id, raw)
    values, errors = sync.validate_values(lodging, raw)
    problems.extend(Problem(number, reader.column_of(name), message) for name, message in errors.items())
    return RowCheck(number, external_id, None if errors else values, problems, reader.column_of)


def check_in_database(lodging: Lodging, batch: list[RowCheck]) -> list[RowCheck]:
    """What the import would meet in the database, for a batch of rows in two queries: a stay of
    the same external id that was voided, or another open stay of the same document (the rules
    of ``sync.upsert`` and ``services.create_stay``)."""
    valid = [row for row in batch if row.values is not None and row.external_id]
    if not valid:
        return batch
    existing = {external_id: (stay_id, status) for stay_id, external_id, status in db.session.execute(
        select(Stay.id, Stay.external_id, Stay.status).where(Stay.lodging_id == lodging.id, Stay.source == SOURCE,
                                                             Stay.external_id.in_({row.external_id for row in valid})))}
    open_stays: dict[tuple[str, str], list[int]] = {}
    for stay_id, number, state in db.session.execute(
            select(Stay.id, Stay.document_number, Stay.issuing_state).where(
                Stay.lodging_id == lodging.id, Stay.status.in_(OPEN_STATUSES),
                Stay.document_number.in_({row.values["document_number"] for row in valid}))):
        open_stays.setdefault((number, state), []).append(stay_id)
    for row in valid:
        own_id, status = existing.get(row.external_id, (None, None))
        document = (row.values["document_number"], row.values["issuing_state"])
        if status == "voided":
            row.problems.append(Problem(row.number, row.column_of(EXTERNAL_ID) or str(field_label(EXTERNAL_ID)),
                                        str(_l("This stay was voided; use a new external id."))))
        elif any(stay_id != own_id for stay_id in open_stays.get(document, ())):
            row.problems.append(Problem(row.number, row.column_of("document_number"),
                                        str(_l("This guest already has an open stay at this lodging."))))
    return batch


def _import(job: ImportJob) -> None:
    from serasi_web.accounts.models import User

    lodging = db.session.get(Lodging, job.lodging_id)
    user = db.session.get(User, job.created_by_id) if job.created_by_id else None
    writer = RowWriter(RowReader(job, lodging), lodging, user, f"{SOURCE}:{job.filename}"[:120],
                       {problem["row"] for problem in job.errors or []})
    progress = Progress(problem_limit=setting("IMPORT_MAX_ERRORS"))
    # The check's problems stay listed; problems met only now are added after them.
    progress.problems = list(job.errors or [])
    batch_size = max(setting("IMPORT_BATCH_ROWS"), 1)
    batch: list[tuple[int, tuple]] = []
    try:
        with open_rows(job_path(job), job.file_format, job.encoding, len(job.headers)) as source:
            for row in _rows(job, source):
                batch.append(row)
                if len(batch) >= batch_size:
                    writer.write_batch(batch, progress)
                    batch = []
                    _save_progress(job, IMPORTING, progress)
            if batch:
                writer.write_batch(batch, progress)
    finally:
        writer.reader.close()
    record("import.completed", job, user, lodging_id=lodging.id, actor_label=writer.actor_label,
           changes={"created": progress.created, "updated": progress.updated, "unchanged": progress.unchanged,
                    "skipped": progress.processed - progress.created - progress.updated - progress.unchanged})
    _save_progress(job, IMPORTING, progress, errors=progress.problems, status=DONE, finished_at=utcnow())
    delete_file(job)


class RowWriter:
    """Imports rows through ``sync.upsert_many``, a batch of rows per transaction."""

    def __init__(self, reader: RowReader, lodging: Lodging, user, actor_label: str, known_problem_rows: set[int]):
        self.reader, self.lodging, self.user, self.actor_label = reader, lodging, user, actor_label
        self.known_problem_rows = known_problem_rows  # rows the check listed already (at most IMPORT_MAX_ERRORS)

    def write_batch(self, batch: list[tuple[int, tuple]], progress: Progress) -> None:
        """The batch's writable rows in one transaction (``sync.upsert_many``: refused rows write
        nothing; if the database refuses the batch, each row is tried again on its own, so one
        bad row costs only itself)."""
        outcome = Progress(problem_limit=progress.problem_limit - len(progress.problems))
        writable = []
        for number, cells in batch:
            outcome.processed += 1
            raw = self.reader.raw_values(cells)
            external_id = self.reader.external_id(cells, raw)
            problems = self.local_problems(number, raw, external_id)
            if problems:
                self.add_problems(outcome, number, problems)
            else:
                writable.append((number, external_id, raw))
        results = sync.upsert_many(self.lodging, SOURCE, [(external_id, raw) for _, external_id, raw in writable],
                                   self.actor_label, self.user)
        for (number, _, _), result in zip(writable, results):
            if result.outcome == "created":
                outcome.created += 1
            elif result.outcome == "updated":
                outcome.updated += 1
            elif result.outcome == "unchanged":
                outcome.unchanged += 1
            else:
                self.add_problems(outcome, number, [Problem(number, self.reader.column_of(name) if name else "", message)
                                                    for name, message in result.errors.items()])
        progress.merge(outcome)

    def local_problems(self, number: int, raw: dict, external_id: str) -> list[Problem]:
        """What is wrong with the row before the database is asked."""
        reader = self.reader
        problems = reader.local_problems(number, external_id, raw)
        if not problems and not external_id:
            # No id and none can be derived: the document number or check-in is missing or unreadable.
            _values, errors = sync.validate_values(self.lodging, raw)
            problems = [Problem(number, reader.column_of(name), message) for name, message in errors.items()] or [
                Problem(number, reader.column_of("check_in_at"), str(_l("Enter the check-in date and time.")))]
        return problems

    def add_problems(self, outcome: Progress, number: int, problems: list[Problem]) -> None:
        if number not in self.known_problem_rows:  # the check listed it already
            outcome.add(problems)
