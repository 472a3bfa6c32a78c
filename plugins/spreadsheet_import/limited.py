"""Parse an uploaded spreadsheet in a child process whose address space is capped.

The checks before parsing (``reader.precheck``) bound what a ZIP can inflate, but a workbook
within them can still make openpyxl build hundreds of megabytes (its shared strings are all
loaded when the workbook opens; one cell may hold megabytes of text). So the first full read of
every upload (``reader.scan``) runs in a child process with ``RLIMIT_AS`` set to what the child
already uses plus ``IMPORT_PARSE_MEMORY_MB``: past it, allocation fails with MemoryError in the
child alone, and the worker and the web process never see the memory. A child that dies any
other way, or runs past ``IMPORT_PARSE_TIMEOUT_SECONDS``, is a failure with a message too.

Children are forked from multiprocessing's fork server (a small single-threaded process started
on first use, with this module and openpyxl already imported): forking the worker itself would
copy its threads' locks, and a fresh interpreter per upload would cost seconds of imports.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import resource
from pathlib import Path

from flask_babel import lazy_gettext as _l

from .reader import ReadError, ScannedFile, scan

log = logging.getLogger(__name__)

MEMORY_EXIT_CODE = 75  # the child ran out of its allowed memory
READER_STOPPED = _l("The file could not be read: its reader stopped unexpectedly (this was logged). Nothing was imported; "
                    "save the file again as \"CSV UTF-8\" and upload it.")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _context():
    context = multiprocessing.get_context("forkserver")
    # Only this module (openpyxl with it): never "__main__", which would be gunicorn's, flask's
    # or pytest's script run a second time.
    context.set_forkserver_preload([__name__, "openpyxl"])
    return context


def _address_space() -> int:
    """This process's virtual size in bytes (what RLIMIT_AS counts), 0 when unknown."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0


def _message_parts(message) -> tuple[str, dict]:
    """A lazy message as (msgid, its variables), so the worker can translate it: the child has
    no app and no locale."""
    args = getattr(message, "_args", None)
    if args:
        return str(args[0]), dict(getattr(message, "_kwargs", {}))
    return str(message), {}


def _child(connection, path: str, max_rows: int, memory_bytes: int) -> None:
    """Runs in the child: cap the address space, scan the file, send one answer."""
    try:
        try:
            resource.setrlimit(resource.RLIMIT_AS, (_address_space() + memory_bytes,) * 2)
            scanned = scan(Path(path), max_rows)
        except ReadError as error:
            connection.send(("refused", *_message_parts(error.message)))
            return
        except MemoryError:
            os._exit(MEMORY_EXIT_CODE)  # nothing more is allocated: the exit code says it
        except Exception as error:  # noqa: BLE001 - reported by its kind only: a message may quote the file's data
            connection.send(("crashed", type(error).__name__, {}))
            return
        connection.send(("ok", scanned.file_format, scanned.encoding, scanned.headers, scanned.rows))
    finally:
        connection.close()


def parse_limited(path: Path, max_rows: int, memory_mb: int, timeout_seconds: float) -> ScannedFile:
    """``reader.scan(path, max_rows)`` in a child process under a memory limit; ReadError with a
    message for a file refused by the reader, over the memory limit, too slow, or crashing it."""
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, str(path), max_rows, memory_mb * 1024 * 1024),
                              name="import-parse", daemon=True)
    process.start()
    sender.close()
    answer = None
    try:
        if receiver.poll(timeout_seconds):
            try:
                answer = receiver.recv()
            except EOFError:  # the child died without answering
                answer = None
        else:
            process.kill()
            raise ReadError(_l("Reading the file took longer than %(seconds)d seconds; split it into smaller files.",
                               seconds=int(timeout_seconds)))
    finally:
        receiver.close()
        process.join(10)
        if process.is_alive():  # pragma: no cover - it answered, then hung
            process.kill()
            process.join(10)
    if answer is None:
        if process.exitcode == MEMORY_EXIT_CODE:
            raise ReadError(_l("Reading the file needs more than %(mb)d MB of memory, so it was stopped and nothing was imported. "
                               "Split it into smaller files, or save it again as \"CSV UTF-8\".", mb=memory_mb))
        log.error("the import's parse process ended with exit code %s", process.exitcode)
        raise ReadError(READER_STOPPED)
    if answer[0] == "ok":
        _kind, file_format, encoding, headers, rows = answer
        return ScannedFile(file_format, encoding, headers, rows)
    if answer[0] == "refused":
        _kind, msgid, variables = answer
        raise ReadError(_l(msgid, **variables))
    log.error("the import's parse process failed with %s", answer[1])
    raise ReadError(READER_STOPPED)
