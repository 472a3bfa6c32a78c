"""Office import and export as CSV: one row per office and region code.

Columns: office_code, office_name, office_class, address, phone, email, region_code.
An office without an area has one row with an empty region_code. The file is authoritative for
the offices it names: their details are updated and their areas replaced. Offices not in the file
are left alone. The whole file is checked first; any bad row stops the import and nothing is
written.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from .models import ImmigrationOffice, OfficeArea
from .routing import reroute_all_lodgings
from .services import OFFICE_CODE_PATTERN, OfficeRow, check_area_code, replace_areas, upsert_office

# An upload's caps, checked before the CSV is parsed (an office list is some hundred kilobytes:
# about 125 offices, one row per region code).
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 20
MAX_LINE_LENGTH = 2000  # characters: a row's fields together are under 900

COLUMNS = ["office_code", "office_name", "office_class", "address", "phone", "email", "region_code"]
_MAX_LENGTHS = {"office_code": 40, "office_name": 160, "office_class": 80, "address": 300, "phone": 40, "email": 254}


@dataclass
class ImportResult:
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, message)
    offices: int = 0
    region_codes: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


class OfficeUploadError(Exception):
    """The uploaded file is refused before parsing; ``message`` says why."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def read_office_upload(stream) -> str:
    """The text of an uploaded office CSV, read from ``stream`` (at most MAX_UPLOAD_BYTES + 1
    bytes: a larger file is never read whole), or OfficeUploadError for a file too large, in an
    encoding that does not decode, or with a line longer than any row of offices."""
    data = stream.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise OfficeUploadError(_("The file is larger than %(mb)d MB.", mb=MAX_UPLOAD_BYTES // (1024 * 1024)))
    try:
        text = decode_upload(data)
    except UnicodeDecodeError:
        raise OfficeUploadError(_("The file's characters could not be read. Save it from your spreadsheet as \"CSV UTF-8\" and upload it again.")) from None
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > MAX_LINE_LENGTH:
            raise OfficeUploadError(_("Line %(line)d is longer than %(max)d characters; no row of offices is that long.",
                                      line=number, max=MAX_LINE_LENGTH))
    return text


def decode_upload(data: bytes) -> str:
    """Text of an uploaded CSV: UTF-8 (with or without BOM), UTF-16 from Excel, else Latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_offices_csv(text: str) -> tuple[dict[str, OfficeRow], ImportResult]:
    result = ImportResult()
    first_line = text.split("\n", 1)[0]
    # Excel in an Indonesian locale writes semicolons.
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        fieldnames = reader.fieldnames or []
    except csv.Error as error:
        result.errors.append((1, _("Row %(row)d is not well-formed CSV (%(detail)s).", row=1, detail=str(error))))
        return {}, result
    if len(fieldnames) > MAX_COLUMNS:
        result.errors.append((1, _("The file has more than %(max)d columns. Expected: %(expected)s.", max=MAX_COLUMNS, expected=", ".join(COLUMNS))))
        return {}, result
    header = [name.strip().lower() for name in fieldnames]
    missing = [column for column in ("office_code", "office_name", "region_code") if column not in header]
    if missing:
        result.errors.append((1, _("Missing columns: %(columns)s. Expected: %(expected)s.",
                                   columns=", ".join(missing), expected=", ".join(COLUMNS))))
        return {}, result
    reader.fieldnames = header

    offices: dict[str, OfficeRow] = {}
    first_seen: dict[str, int] = {}
    code_owner: dict[str, tuple[str, int]] = {}
    for row in _rows(reader, result):
        line = reader.line_num
        values = {key: _restore(value) for key, value in row.items() if key}
        if not any(values.values()):
            continue
        if None in row:  # more cells than header columns
            result.errors.append((line, _("This row has more cells than the header.")))
            continue
        office_code = values.get("office_code", "")
        if not OFFICE_CODE_PATTERN.match(office_code):
            result.errors.append((line, _("office_code must be 2-40 letters, digits, - or _.")))
            continue
        too_long = [key for key, limit in _MAX_LENGTHS.items() if len(values.get(key, "")) > limit]
        if too_long:
            result.errors.append((line, _("Too long: %(columns)s.", columns=", ".join(too_long))))
            continue
        details = OfficeRow(
            code=office_code, name=values.get("office_name", ""), office_class=values.get("office_class", ""),
            address=values.get("address", ""), phone=values.get("phone", ""), email=values.get("email", ""),
        )
        if office_code not in offices:
            if not details.name:
                result.errors.append((line, _("office_name is empty.")))
                continue
            offices[office_code] = details
            first_seen[office_code] = line
        else:
            known = offices[office_code]
            for attribute in ("name", "office_class", "address", "phone", "email"):
                value = getattr(details, attribute)
                if value and value != getattr(known, attribute):
                    result.errors.append((line, _("Office %(code)s has different details on line %(first)d.",
                                                  code=office_code, first=first_seen[office_code])))
                    break
        raw_code = values.get("region_code", "")
        if raw_code:
            code, problem = check_area_code(raw_code)
            if problem:
                result.errors.append((line, str(problem)))
                continue
            if code in code_owner:
                owner, owner_line = code_owner[code]
                result.errors.append((line, _("Region %(code)s is already given to %(office)s on line %(first)d.",
                                              code=code, office=owner, first=owner_line)))
                continue
            code_owner[code] = (office_code, line)
            offices[office_code].region_codes.append(code)

    if not result.errors and not offices:
        result.errors.append((1, _("The file holds no office.")))
    if not result.errors:
        _check_against_database(offices, code_owner, result)
    return offices, result


def _rows(reader: csv.DictReader, result: ImportResult):
    """The data rows, stopping with an error at MAX_ROWS or at a line the csv module refuses."""
    try:
        for count, row in enumerate(reader, start=1):
            if count > MAX_ROWS:
                result.errors.append((reader.line_num, _("The file has more than %(max)d rows; an office list is far shorter.", max=MAX_ROWS)))
                return
            yield row
    except csv.Error as error:
        result.errors.append((reader.line_num, _("Row %(row)d is not well-formed CSV (%(detail)s).", row=reader.line_num, detail=str(error))))


def _check_against_database(offices, code_owner, result: ImportResult) -> None:
    """A region code may not belong to an office that the file does not name."""
    if not code_owner:
        return
    rows = db.session.execute(
        select(OfficeArea.region_code, ImmigrationOffice.code)
        .join(ImmigrationOffice, OfficeArea.office_id == ImmigrationOffice.id)
        .where(OfficeArea.region_code.in_(list(code_owner)))
    ).all()
    for region_code, owner_code in rows:
        if owner_code not in offices:
            result.errors.append((code_owner[region_code][1], _(
                "Region %(code)s belongs to office %(office)s, which this file does not include.",
                code=region_code, office=owner_code)))
    result.errors.sort()


def import_offices(text: str) -> ImportResult:
    """Check the whole file, then write it in one transaction (or write nothing)."""
    offices, result = parse_offices_csv(text)
    if not result.ok:
        db.session.rollback()
        return result
    try:
        saved = [(upsert_office(row), row.region_codes) for row in offices.values()]
        # Release every named office's codes first, so codes can move between them in one file.
        for office, _codes in saved:
            replace_areas(office, [], reroute=False)
        for office, codes in saved:
            replace_areas(office, codes, reroute=False)
        reroute_all_lodgings()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    result.offices = len(offices)
    result.region_codes = sum(len(row.region_codes) for row in offices.values())
    return result


def export_offices() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    offices = db.session.execute(select(ImmigrationOffice).order_by(ImmigrationOffice.code)).scalars()
    for office in offices:
        base = [office.code, office.name, office.office_class, office.address, office.phone, office.email]
        codes = [area.region_code for area in office.areas] or [""]
        for code in codes:
            writer.writerow([_neutralise(value) for value in base] + [code])
    return out.getvalue()


def _neutralise(value: str) -> str:
    """Keep spreadsheet programs from running a cell as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _restore(value) -> str:
    """Undo ``_neutralise`` so an exported file imports back unchanged."""
    value = (value or "").strip() if isinstance(value, str) else ""
    return value[1:] if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@") else value
