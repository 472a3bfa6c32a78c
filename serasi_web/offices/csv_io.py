"""Office import and export as CSV: one row per office and region code.

Columns: office_code, office_name, office_class, address, phone, email, region_code, level, peer.
An office without an area has one row with an empty region_code. The file is authoritative for
the offices it names: their details are updated and their areas replaced. Offices not in the file
are left alone. The whole file is checked first; any bad row stops the import and nothing is
written.

``level`` and ``peer`` are what *Administration › Offices* asks on a regional or national
instance (docs/officer.md, "A national or regional console"); the export always writes them.
- ``level``: ``office``, ``regional`` or ``national`` (empty: ``office``); only a level this
  instance offers (``services.levels_offered``) or the one the office already has. A regional
  office's area may hold province codes (``51``).
- ``peer``: the federation peer (another instance) the office stands for, by its name under
  *Administration › Federation* (empty: none). A name several peers share picks the one the
  office already stands for. A peer goes to one office: never to two offices of the file, nor
  away from an office the file does not name. On an office's instance no peer can be newly
  given (the office form does not offer them there).
A file without either column (an older export) leaves each named office's level, or the peer it
stands for, as it is; a new office is then an office standing for no instance. An office's later
rows may leave every detail empty or repeat it, never differ.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..federation.models import FederationPeer
from .models import ImmigrationOffice, OfficeArea, OfficeLevel
from .routing import reroute_all_lodgings
from .services import (OFFICE_CODE_PATTERN, OfficeRow, check_area_code, levels_offered, link_peers, peer_names_by_office,
                       replace_areas, upsert_office)

# An upload's caps, checked before the CSV is parsed (an office list is some hundred kilobytes:
# about 125 offices, one row per region code).
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 20
MAX_LINE_LENGTH = 2000  # characters: a row's fields together are under 900

COLUMNS = ["office_code", "office_name", "office_class", "address", "phone", "email", "region_code", "level", "peer"]
REQUIRED_COLUMNS = ("office_code", "office_name", "region_code")  # level and peer came later: optional
_MAX_LENGTHS = {"office_code": 40, "office_name": 160, "office_class": 80, "address": 300, "phone": 40, "email": 254,
                "peer": 120}
LEVELS = tuple(level.value for level in OfficeLevel)


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
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        result.errors.append((1, _("Missing columns: %(columns)s. Expected: %(expected)s.",
                                   columns=", ".join(missing), expected=", ".join(COLUMNS))))
        return {}, result
    reader.fieldnames = header
    has_level, has_peer = "level" in header, "peer" in header
    known = _Known.load(peers=has_peer)

    offices: dict[str, OfficeRow] = {}
    first_seen: dict[str, int] = {}
    first_cells: dict[str, dict[str, str]] = {}  # an office's level and peer cells as its first row gave them
    code_owner: dict[str, tuple[str, int]] = {}
    peer_owner: dict[int, tuple[str, int]] = {}  # peer id -> (office code, line) in this file
    named: set[str] = set()  # every office code of the file, also of rows refused
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
        named.add(office_code)
        too_long = [key for key, limit in _MAX_LENGTHS.items() if len(values.get(key, "")) > limit]
        if too_long:
            result.errors.append((line, _("Too long: %(columns)s.", columns=", ".join(too_long))))
            continue
        details = OfficeRow(
            code=office_code, name=values.get("office_name", ""), office_class=values.get("office_class", ""),
            address=values.get("address", ""), phone=values.get("phone", ""), email=values.get("email", ""),
        )
        cells = {"level": values.get("level", "").lower(), "peer": values.get("peer", "")}
        if office_code not in offices:
            if not details.name:
                result.errors.append((line, _("office_name is empty.")))
                continue
            problem = None
            if has_level:
                details.level, problem = known.check_level(office_code, cells["level"] or OfficeLevel.OFFICE.value)
            if has_peer and problem is None:
                details.sets_peer = True
                details.peer_id, problem = known.check_peer(office_code, cells["peer"])
                if problem is None and details.peer_id is not None and details.peer_id in peer_owner:
                    owner, owner_line = peer_owner[details.peer_id]
                    problem = _("The instance %(peer)s is already given to %(office)s on line %(first)d.",
                                peer=cells["peer"], office=owner, first=owner_line)
            if problem is not None:
                result.errors.append((line, problem))
                continue
            if details.peer_id is not None:
                peer_owner[details.peer_id] = (office_code, line)
            offices[office_code] = details
            first_seen[office_code] = line
            first_cells[office_code] = cells
        else:
            known_row, known_cells = offices[office_code], first_cells[office_code]
            differs = [attribute for attribute in ("name", "office_class", "address", "phone", "email")
                       if getattr(details, attribute) and getattr(details, attribute) != getattr(known_row, attribute)]
            differs += [column for column in ("level", "peer") if cells[column] and cells[column] != known_cells[column]]
            if differs:
                result.errors.append((line, _("Office %(code)s has different details on line %(first)d.",
                                              code=office_code, first=first_seen[office_code])))
        raw_code = values.get("region_code", "")
        if raw_code:
            level = offices[office_code].level or known.level_of(office_code)
            code, problem = check_area_code(raw_code, provinces=level == OfficeLevel.REGIONAL)
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
    _check_peers_against_database(named, peer_owner, known, result)  # no query: told with the file's other errors
    if not result.errors:
        _check_against_database(offices, code_owner, result)
    return offices, result


class _Known:
    """The offices (and peers) already in the database, read once per file: an office's current
    level and peer are what an old file leaves, and what an export may repeat on any instance."""

    def __init__(self, offices: dict[str, tuple[int, str]], peers: list[tuple[int, str, int | None]], instance_level: str):
        self.offices = offices  # code -> (id, level)
        self.peers = peers  # (id, name, id of the office standing for it)
        self.instance_level = instance_level

    @classmethod
    def load(cls, peers: bool) -> _Known:
        offices = {code: (office_id, level) for office_id, code, level in
                   db.session.execute(select(ImmigrationOffice.id, ImmigrationOffice.code, ImmigrationOffice.level))}
        peer_rows = db.session.execute(select(FederationPeer.id, FederationPeer.name, FederationPeer.office_id)).all() if peers else []
        return cls(offices, [tuple(row) for row in peer_rows], current_app.config["INSTANCE_LEVEL"])

    def level_of(self, office_code: str) -> str:
        return self.offices[office_code][1] if office_code in self.offices else OfficeLevel.OFFICE.value

    def _office_id(self, office_code: str) -> int | None:
        return self.offices[office_code][0] if office_code in self.offices else None

    def check_level(self, office_code: str, level: str):
        """(the level, None) or (None, why it is refused)."""
        if level not in LEVELS:
            return None, _("Unknown level %(level)s: use office, regional or national (empty is office).", level=level[:40])
        if level not in levels_offered(self.instance_level) and level != self.level_of(office_code):
            return None, _("The level %(level)s is not available on this instance (SERASI_INSTANCE_LEVEL=%(instance)s).",
                           level=level, instance=self.instance_level)
        return level, None

    def check_peer(self, office_code: str, name: str):
        """(the peer's id or None for none, None) or (None, why it is refused)."""
        if not name:
            return None, None
        office_id = self._office_id(office_code)
        matches = [peer for peer in self.peers if peer[1].strip().casefold() == name.casefold()]
        # Admin › Federation refuses a name in use, but a database from before may hold twins
        # (federation/models.py): the one this office stands for wins.
        if len(matches) > 1:
            matches = [peer for peer in matches if office_id is not None and peer[2] == office_id] or matches
        if not matches:
            return None, _("No instance sending here is called %(peer)s (Administration › Federation).", peer=name)
        if len(matches) > 1:
            return None, _("Several instances sending here are called %(peer)s: choose this office's in Administration › Immigration offices and areas.", peer=name)
        peer_id, _name, standing_office_id = matches[0]
        if self.instance_level == "office" and (office_id is None or standing_office_id != office_id):
            return None, _("An office stands for another instance on a regional or national instance only (SERASI_INSTANCE_LEVEL).")
        return peer_id, None


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


def _check_peers_against_database(named: set[str], peer_owner, known: _Known, result: ImportResult) -> None:
    """A peer may not be given to one office while an office the file does not name stands for it."""
    office_codes = {office_id: code for code, (office_id, _level) in known.offices.items()}
    for peer_id, name, standing_office_id in known.peers:
        if peer_id in peer_owner and standing_office_id is not None:
            standing_code = office_codes.get(standing_office_id)
            if standing_code is not None and standing_code not in named:
                result.errors.append((peer_owner[peer_id][1], _(
                    "%(office)s already stands for the instance %(peer)s, and this file does not include that office.",
                    office=standing_code, peer=name)))
    result.errors.sort()


def import_offices(text: str) -> ImportResult:
    """Check the whole file, then write it in one transaction (or write nothing)."""
    offices, result = parse_offices_csv(text)
    if not result.ok:
        db.session.rollback()
        return result
    try:
        saved = [(upsert_office(row), row) for row in offices.values()]
        # Release every named office's codes first, so codes can move between them in one file.
        for office, _row in saved:
            replace_areas(office, [], reroute=False)
        for office, row in saved:
            replace_areas(office, row.region_codes, reroute=False)
        link_peers([(office, row.peer_id) for office, row in saved if row.sets_peer])
        reroute_all_lodgings()  # also moves the lodgings of the instances offices stand for
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
    offices = db.session.execute(select(ImmigrationOffice).options(selectinload(ImmigrationOffice.areas))
                                 .order_by(ImmigrationOffice.code)).scalars()
    peer_names = peer_names_by_office()
    for office in offices:
        base = [office.code, office.name, office.office_class, office.address, office.phone, office.email]
        codes = [area.region_code for area in office.areas] or [""]
        for code in codes:
            writer.writerow([_neutralise(value) for value in base] + [code, office.level, _neutralise(peer_names.get(office.id, ""))])
    return out.getvalue()


def _neutralise(value: str) -> str:
    """Keep spreadsheet programs from running a cell as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _restore(value) -> str:
    """Undo ``_neutralise`` so an exported file imports back unchanged."""
    value = (value or "").strip() if isinstance(value, str) else ""
    return value[1:] if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@") else value
