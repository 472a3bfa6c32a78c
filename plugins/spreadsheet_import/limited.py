"""Parse an uploaded spreadsheet in a child process whose address space is capped.

The checks before parsing (``reader.precheck``) bound what a ZIP can inflate, but a workbook
within them can still make openpyxl build hundreds of megabytes (its shared strings are all
loaded when the workbook opens; one cell may hold megabytes of text). So the first full read of
every upload (``reader.scan``) runs through ``serasi_web.jobs.limited.run_limited``: a child
process allowed ``IMPORT_PARSE_MEMORY_MB`` beyond its own size and ``IMPORT_PARSE_TIMEOUT_SECONDS``;
each way it can fail is a ReadError with a message.
"""
from __future__ import annotations

from pathlib import Path

from flask_babel import lazy_gettext as _l

from serasi_web.jobs.limited import LimitedRunError, preload, run_limited

from . import reader
from .reader import ReadError, ScannedFile, scan

preload("openpyxl", reader.__name__)

READER_STOPPED = _l("The file could not be read: its reader stopped unexpectedly (this was logged). Nothing was imported; "
                    "save the file again as \"CSV UTF-8\" and upload it.")


def parse_limited(path: Path, max_rows: int, memory_mb: int, timeout_seconds: float) -> ScannedFile:
    """``reader.scan(path, max_rows)`` in a child process under a memory limit; ReadError with a
    message for a file refused by the reader, over the memory limit, too slow, or crashing it."""
    try:
        return run_limited(scan, (Path(path), max_rows), memory_mb, timeout_seconds)
    except LimitedRunError as error:
        if error.reason == "refused":
            raise ReadError(error.message) from None
        if error.reason == "timeout":
            raise ReadError(_l("Reading the file took longer than %(seconds)d seconds; split it into smaller files.",
                               seconds=int(timeout_seconds))) from None
        if error.reason == "memory":
            raise ReadError(_l("Reading the file needs more than %(mb)d MB of memory, so it was stopped and nothing was imported. "
                               "Split it into smaller files, or save it again as \"CSV UTF-8\".", mb=memory_mb)) from None
        raise ReadError(READER_STOPPED) from None
