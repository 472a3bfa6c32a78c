"""Reading an uploaded roster CSV, in the worker's child process under a memory limit.

The web request only stores the file, refusing it past ``MAX_ROSTER_BYTES`` while it streams in;
``read_roster`` then runs through ``serasi_web.jobs.limited.run_limited`` (no app, no database):
it decodes the text, caps the columns, the length of every cell (the ``csv`` module's own field
limit, so a megabyte-long cell is never built) and the number of residents, and returns the
residents or raises ``RosterError`` with a message for the mess administrator.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from flask_babel import lazy_gettext as _l

from serasi_web.api.mapping import valid_external_id

MAX_ROSTER_BYTES = 5 * 1024 * 1024
MAX_RESIDENTS = 5000
MAX_COLUMNS = 100  # the report has about 20 fields
MAX_CELL_LENGTH = 2000  # characters: the longest field of a report is far shorter


class RosterError(Exception):
    """The roster cannot be used; ``message`` says why in the user's words (a lazy string: the
    child has no locale, the page translates it)."""

    def __init__(self, message):
        super().__init__("the roster was refused")  # str(message) needs an app; the message may quote the file
        self.message = message


def decode_roster(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with its BOM (Excel's "Unicode text"), else Latin-1;
    RosterError for UTF-16 that does not decode."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise RosterError(_l("The file's characters could not be read (it says UTF-16 but is not). "
                                 "Save it from your spreadsheet as \"CSV UTF-8\" and send it again.")) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_roster(path: str, report_fields: tuple[str, ...]) -> list[tuple[str, dict]]:
    """The roster's residents as (external id, raw report values); RosterError for a file that
    cannot be a roster. Runs in a child process: plain values in, plain values out."""
    data = Path(path).read_bytes()
    if len(data) > MAX_ROSTER_BYTES:  # the request refused it already; a file put there by hand is not read either
        raise RosterError(_l("The file is larger than %(mb)d MB.", mb=MAX_ROSTER_BYTES // (1024 * 1024)))
    text = decode_roster(data)
    del data
    first_line = text.split("\n", 1)[0]
    csv.field_size_limit(MAX_CELL_LENGTH)  # this process only: a longer cell stops the reader before it is built
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";" if first_line.count(";") > first_line.count(",") else ",")
    residents, seen = [], set()
    header: list[str] = []
    try:
        for cells in reader:
            if len(cells) > MAX_COLUMNS:
                raise RosterError(_l("Line %(line)d has more than %(max)d columns; a roster has one column per field of the report.",
                                     line=reader.line_num, max=MAX_COLUMNS))
            if not header:
                header = [name.strip().lower() for name in cells]
                if "external_id" not in header:
                    raise RosterError(_l("The roster needs an external_id column (the HR system's id of each resident)."))
                continue
            row = dict(zip(header, cells))
            external_id = (row.get("external_id") or "").strip()
            if not external_id:
                continue
            if not valid_external_id(external_id):
                raise RosterError(_l("Line %(line)d: the external_id must be 1 to 100 printable characters.", line=reader.line_num))
            if external_id in seen:
                raise RosterError(_l("Line %(line)d repeats external_id %(id)s.", line=reader.line_num, id=external_id))
            seen.add(external_id)
            if len(residents) >= MAX_RESIDENTS:
                raise RosterError(_l("A roster holds at most %(n)d residents.", n=MAX_RESIDENTS))
            residents.append((external_id, {k: (v or "").strip() for k, v in row.items() if k in report_fields}))
    except csv.Error as error:
        if "field limit" in str(error):
            raise RosterError(_l("A cell on line %(line)d is longer than %(max)d characters; no resident's data is that long.",
                                 line=reader.line_num, max=MAX_CELL_LENGTH)) from None
        # a stray quote, a NUL byte ...
        raise RosterError(_l("Row %(row)d is not well-formed CSV (%(detail)s).", row=reader.line_num, detail=str(error))) from None
    if not header:
        raise RosterError(_l("The roster needs an external_id column (the HR system's id of each resident)."))
    return residents
