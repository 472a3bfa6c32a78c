"""The columns of an import file: the report fields, their template headers in English and
Indonesian, header matching, and turning a cell into the text the report form accepts.

Headers here are data, not interface text: a file's header must be recognised whatever
language the operator's browser uses, so they are never passed through gettext.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from serasi_web.reference import countries
from serasi_web.reference.permits import DOCUMENT_TYPES, PURPOSES, SEXES, STAY_PERMITS
from serasi_web.stays import services
from serasi_web.stays.forms import StayForm

EXTERNAL_ID = "external_id"

# (target, English header, Indonesian header), in the order of the downloadable template.
TEMPLATE_COLUMNS = (
    (EXTERNAL_ID, "External ID", "ID eksternal"),
    ("surname", "Surname", "Nama keluarga"),
    ("given_names", "Given names", "Nama depan"),
    ("sex", "Sex", "Jenis kelamin"),
    ("date_of_birth", "Date of birth", "Tanggal lahir"),
    ("place_of_birth", "Place of birth", "Tempat lahir"),
    ("nationality", "Nationality", "Kewarganegaraan"),
    ("document_type", "Document type", "Jenis dokumen"),
    ("document_number", "Document number", "Nomor paspor"),
    ("issuing_state", "Issuing state", "Negara penerbit"),
    ("document_expiry", "Document expiry date", "Berlaku sampai"),
    ("entry_date", "Date of entry", "Tanggal masuk Indonesia"),
    ("port_of_entry", "Port of entry", "TPI"),
    ("stay_permit", "Stay permit", "Izin tinggal"),
    ("visa_index", "Visa index", "Indeks visa"),
    ("permit_number", "Permit number", "Nomor izin tinggal"),
    ("permit_valid_until", "Permit valid until", "Izin berlaku sampai"),
    ("entry_stamp_qr", "Entry-stamp QR", "QR cap izin masuk"),
    ("check_in_at", "Check-in", "Tanggal check-in"),
    ("planned_check_out", "Planned check-out", "Rencana check-out"),
    ("room", "Room", "Kamar"),
    ("purpose", "Purpose", "Tujuan"),
    ("notes", "Notes", "Keterangan"),
)
TARGETS = tuple(target for target, _en, _id in TEMPLATE_COLUMNS)
HEADERS = {"en": {t: en for t, en, _id in TEMPLATE_COLUMNS}, "id": {t: id_ for t, _en, id_ in TEMPLATE_COLUMNS}}

# Other headers seen in property-system exports, recognised for the pre-filled mapping.
EXTRA_ALIASES = {
    EXTERNAL_ID: ("Reservation ID", "Booking ID", "Reservation number", "Booking number", "No. reservasi"),
    "surname": ("Last name", "Family name", "Nama belakang"),
    "given_names": ("First name", "First names", "Given name"),
    "sex": ("Gender",),
    "date_of_birth": ("Birth date", "DOB"),
    "document_number": ("Passport number", "Passport no", "Nomor dokumen"),
    "document_expiry": ("Passport expiry", "Expiry date", "Tanggal habis berlaku"),
    "nationality": ("Citizenship", "Warga negara"),
    "room": ("Room number", "Nomor kamar"),
}

# Required by the report form. The stay permit is required too, but it may come from the visa index.
REQUIRED = ("surname", "sex", "date_of_birth", "nationality", "document_number", "issuing_state",
            "document_expiry", "entry_date", "check_in_at", "purpose")
DATE_FIELDS = ("date_of_birth", "document_expiry", "entry_date", "permit_valid_until", "planned_check_out")
COUNTRY_FIELDS = ("nationality", "issuing_state")
CODE_TABLES = {"sex": SEXES, "document_type": DOCUMENT_TYPES, "stay_permit": STAY_PERMITS, "purpose": PURPOSES}
# Indonesian shorthand on registration cards (L = laki-laki, P = perempuan).
EXTRA_CODES = {"sex": {"L": "M", "P": "F", "Pria": "M", "Wanita": "F", "Laki laki": "M", "Male": "M", "Female": "F"}}

DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d")
DATETIME_FORMATS = tuple(f"{day}{sep}{clock}" for day in DATE_FORMATS for sep in (" ", "T") for clock in ("%H:%M", "%H:%M:%S"))
MAX_EXTERNAL_ID = 100
# Spreadsheet serial numbers of dates from 1900 to 9999 (a date cell formatted as a number).
_SERIAL_RANGE = (1, 2958465)
_EXCEL_EPOCH = datetime(1899, 12, 30)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalise_header(text: str) -> str:
    """Header key for matching: case, accents, spaces and punctuation ignored ("Check-in" = "check in")."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    return "".join(ch for ch in decomposed if ch.isalnum()).casefold()


@lru_cache(maxsize=1)
def _header_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for target, english, indonesian in TEMPLATE_COLUMNS:
        for name in (english, indonesian, target, *EXTRA_ALIASES.get(target, ())):
            index.setdefault(normalise_header(name), target)
    return index


def preset_mapping(headers: list[str]) -> dict[str, str]:
    """{target: header} for the headers that match a template header (English or Indonesian)."""
    mapping: dict[str, str] = {}
    index = _header_index()
    for header in headers:
        target = index.get(normalise_header(header)) if header else None
        if target and target not in mapping:
            mapping[target] = header
    return mapping


def field_label(target: str):
    """The report form's own label of a field (already translated), or "External ID"."""
    if target == EXTERNAL_ID:
        return _l("External ID")
    return getattr(StayForm, target).args[0]


# ---- codes --------------------------------------------------------------------------------

def _code_key(text: str) -> str:
    return " ".join(normalise_header(part) for part in str(text).replace("-", " ").split() if normalise_header(part))


@lru_cache(maxsize=1)
def _code_aliases() -> dict[str, dict[str, str]]:
    """For each coded field: {normalised spelling: code} from the codes, their English and
    Indonesian labels, and the abbreviations in the labels' brackets ("ITAS / KITAS")."""
    aliases: dict[str, dict[str, str]] = {}
    for name, table in CODE_TABLES.items():
        spellings: dict[str, str] = {}
        for locale in ("en", "id"):
            with force_locale(locale):
                labels = {code: str(label) for code, label in table.items()}
            for code, label in labels.items():
                spellings.setdefault(_code_key(code), code)
                spellings.setdefault(_code_key(label), code)
                bare = re.sub(r"\s*\(.*?\)", "", label)
                spellings.setdefault(_code_key(bare), code)
                for inside in re.findall(r"\((.*?)\)", label):
                    for abbreviation in inside.split("/"):
                        spellings.setdefault(_code_key(abbreviation), code)
        for spelling, code in EXTRA_CODES.get(name, {}).items():
            spellings.setdefault(_code_key(spelling), code)
        aliases[name] = spellings
    return aliases


@lru_cache(maxsize=1)
def _country_aliases() -> dict[str, str]:
    """{normalised name or code: ICAO code} from the English and Indonesian country names."""
    names: dict[str, str] = {}
    for locale in ("en", "id"):
        for code, label in countries.choices(locale):
            names.setdefault(normalise_header(code), code)
            names.setdefault(normalise_header(label.rsplit(" (", 1)[0]), code)
    return names


# ---- cells to form text -------------------------------------------------------------------

def cell_text(value) -> str:
    """Any cell (text, number, date, datetime from a spreadsheet) as plain text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") if value.time() != time() else value.date().isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    return _CONTROL.sub("", str(value)).strip()


def _from_serial(value) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and _SERIAL_RANGE[0] <= value <= _SERIAL_RANGE[1]:
        return _EXCEL_EPOCH + timedelta(days=float(value))
    return None


def date_text(value) -> str:
    """A date as YYYY-MM-DD when it can be read (ISO, DD/MM/YYYY, a date cell); else as it was,
    so that the report form names the problem at the field."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    serial = _from_serial(value)
    if serial is not None:
        return serial.date().isoformat()
    text = cell_text(value)
    for pattern in DATE_FORMATS + DATETIME_FORMATS:
        try:
            return datetime.strptime(text, pattern).date().isoformat()
        except ValueError:
            continue
    return text


def check_in_text(value, lodging) -> str:
    """The check-in as the lodging's local time YYYY-MM-DDTHH:MM:SS. A time with a UTC offset
    (ISO 8601) is converted to the lodging's zone; text that cannot be read is returned as it is."""
    if isinstance(value, datetime):
        moment = value
    elif (serial := _from_serial(value)) is not None:
        moment = serial.replace(microsecond=0)
    else:
        text = cell_text(value)
        moment = None
        for pattern in DATETIME_FORMATS:
            try:
                moment = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
        if moment is None:
            moment = services.parse_moment(text)
            if moment is None:
                return text
            if moment.tzinfo is None and len(text) <= 10:
                return text  # a date alone: the form asks for the time
    if moment.tzinfo is not None:
        moment = services.to_local(moment, lodging).replace(tzinfo=None)
    return moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S")


def code_text(name: str, value) -> str:
    text = cell_text(value)
    return _code_aliases()[name].get(_code_key(text), text) if text else ""


def country_text(value) -> str:
    text = cell_text(value)
    return _country_aliases().get(normalise_header(text), text.upper()) if text else ""


def form_text(target: str, value, lodging) -> str:
    """One cell as the text the report form expects for ``target``."""
    if target in DATE_FIELDS:
        return date_text(value) if value not in (None, "") else ""
    if target == "check_in_at":
        return check_in_text(value, lodging) if value not in (None, "") else ""
    if target in CODE_TABLES:
        return code_text(target, value)
    if target in COUNTRY_FIELDS:
        return country_text(value)
    return cell_text(value)


def derived_external_id(raw: dict[str, str]) -> str:
    """A stable id for a row without one: issuing state, document number and check-in minute,
    so importing the same file again finds the same stays ("" when the row lacks them)."""
    number = re.sub(r"\s+", "", raw.get("document_number", "")).upper()
    check_in = raw.get("check_in_at", "")
    if not number or not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?", check_in):
        return ""
    return f"{raw.get('issuing_state', '').upper()}-{number}-{check_in[:16]}"[:MAX_EXTERNAL_ID]
