"""Reading an uploaded spreadsheet without loading it: what kind of file it is, its text
encoding, its header row, then its rows one at a time.

CSV goes through the ``csv`` module over a text stream; XLSX through openpyxl in read-only
mode (``iter_rows(values_only=True)``), which parses the sheet's XML as it goes. Nothing here
builds a list of all rows, so a 50,000-row file takes no more memory than a 50-row one.

An XLSX is a ZIP of XML, so a small upload can declare a huge content (a "zip bomb": 154 KB
holding one 150 MB cell). Before openpyxl opens it, the archive's directory is checked: the
number of members, the total uncompressed size and each large member's compression ratio
(``check_archive``; the declared sizes bound what ``zipfile`` will ever inflate). The XML is
parsed by openpyxl through defusedxml (installed with SERASI Web), so a DTD, external entity
(XXE) or entity expansion (billion laughs) is refused. Column names and cells have length caps.

``precheck`` is all the web request does with an upload (magic bytes and the ZIP directory,
nothing parsed); ``scan`` parses the whole file once, in a child process of the worker under a
memory limit (``limited.py``), before anything else reads it.
"""
from __future__ import annotations

import codecs
import csv
import io
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from flask_babel import lazy_gettext as _l

from .columns import cell_text

MAX_COLUMNS = 200
MAX_HEADER_LENGTH = 100  # characters of a column name
MAX_CELL_LENGTH = 2000  # characters of a cell (the longest field of a report is far shorter)
# The archive of an XLSX: members, their total uncompressed size, and the ratio allowed for a
# member over 1 MB (real sheets compress 5-30 times; a bomb thousands of times).
MAX_ARCHIVE_MEMBERS = 1000
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
_RATIO_CHECKED_FROM = 1024 * 1024
SAMPLE_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t")  # comma, semicolon (Excel in Indonesian and most of Europe), tab (Excel "Unicode text")
_CHUNK = 1024 * 1024


class ReadError(Exception):
    """The file cannot be read; ``message`` says why in the user's words."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass
class FileInfo:
    file_format: str  # "csv" or "xlsx"
    encoding: str  # for CSV: the Python codec; "" for XLSX
    headers: list[str]


# ---- what kind of file --------------------------------------------------------------------

def _is_xlsx(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def check_archive(path: Path) -> None:
    """Refuse an XLSX whose ZIP directory declares too many members, too much content, or a
    member compressed suspiciously well, without inflating anything."""
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    if len(members) > MAX_ARCHIVE_MEMBERS:
        raise ReadError(_l("The workbook holds too many parts to be a normal spreadsheet; save it again as \".xlsx\" or \"CSV UTF-8\"."))
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > _RATIO_CHECKED_FROM and member.file_size > MAX_COMPRESSION_RATIO * max(member.compress_size, 1):
            raise ReadError(_l("The workbook unpacks to far more than its size (a \"zip bomb\"); it is not read. "
                               "Save the guests again as a new \".xlsx\" or \"CSV UTF-8\" file."))
    if total > MAX_UNCOMPRESSED_BYTES:
        raise ReadError(_l("The workbook unpacks to more than %(mb)d MB; split it into smaller files.", mb=MAX_UNCOMPRESSED_BYTES // (1024 * 1024)))


def _check_cells(number: int, cells) -> None:
    for cell in cells:
        if isinstance(cell, str) and len(cell) > MAX_CELL_LENGTH:
            raise ReadError(_l("A cell in row %(row)d is longer than %(max)d characters; no guest's data is that long.",
                               row=number, max=MAX_CELL_LENGTH))


def _utf16_without_bom(sample: bytes) -> str:
    """Excel's "Unicode text" without a BOM: ASCII text has every other byte zero."""
    if len(sample) < 4:
        return ""
    even_zeros = sample[0::2].count(0) / len(sample[0::2])
    odd_zeros = sample[1::2].count(0) / len(sample[1::2])
    if odd_zeros > 0.4 and even_zeros < 0.05:
        return "utf-16-le"
    if even_zeros > 0.4 and odd_zeros < 0.05:
        return "utf-16-be"
    return ""


def _decodes_as(path: Path, encoding: str) -> bool:
    """True when the whole file decodes in ``encoding`` (read in chunks: memory stays flat)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path, sample: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 (with BOM, or plain ASCII-range text without one),
    else Windows-1252 (what Excel writes for "CSV" on Western systems), else Latin-1."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        utf16 = _utf16_without_bom(sample)
        if utf16:
            return utf16
        raise ReadError(_l("This file is not a CSV file or an Excel workbook (.xlsx). Save it from your spreadsheet as \"CSV UTF-8\" or \".xlsx\"."))
    if _decodes_as(path, "utf-8"):
        return "utf-8"
    if _decodes_as(path, "cp1252"):
        return "cp1252"
    return "latin-1"


def sniff_delimiter(first_line: str) -> str:
    """The delimiter used in the header line: the most frequent of , ; and tab (outside quotes)."""
    counts = {delimiter: 0 for delimiter in DELIMITERS}
    quoted = False
    for ch in first_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def precheck(path: Path) -> str:
    """What can be known without parsing: "csv" or "xlsx", or ReadError for an empty file, a
    PDF, image or other binary file, an old .xls, a ZIP that is no workbook, or a workbook whose
    ZIP directory is refused (``check_archive``). Reads the first 64 KB and the ZIP directory only."""
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if not sample:
        raise ReadError(_l("The file is empty."))
    if sample.startswith(b"PK\x03\x04"):
        if not _is_xlsx(path):
            raise ReadError(_l("This is a ZIP file but not an Excel workbook (.xlsx)."))
        check_archive(path)
        return "xlsx"
    if sample.startswith(b"\xd0\xcf\x11\xe0"):
        raise ReadError(_l("This is an old Excel file (.xls) or a password-protected workbook. Save it as \".xlsx\" or \"CSV UTF-8\" without a password."))
    if sample.startswith((b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")) or (b"\x00" in sample and not _utf16_without_bom(sample)
                                                                           and not sample.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))):
        raise ReadError(_l("This file is not a CSV file or an Excel workbook (.xlsx). Save it from your spreadsheet as \"CSV UTF-8\" or \".xlsx\"."))
    return "csv"


def inspect(path: Path) -> FileInfo:
    """Detect the format and encoding and read the header row. Raises ReadError with a message
    for an empty file, a file that is not CSV or XLSX, an old .xls, or an unusable header row."""
    file_format = precheck(path)
    encoding = ""
    if file_format == "csv":
        with path.open("rb") as handle:
            encoding = detect_encoding(path, handle.read(SAMPLE_BYTES))
    with open_rows(path, file_format, encoding) as source:
        rows = source.rows()
        first = next(rows, None)
        if first is None:
            raise ReadError(_l("The file is empty."))
        _row_number, header_cells = first
        headers = [cell_text(cell) for cell in header_cells[:MAX_COLUMNS + 1]]
        while headers and not headers[-1]:
            headers.pop()
        if not headers:
            raise ReadError(_l("The first row is empty: it must hold the column names (download the template to see how)."))
        if len(headers) > MAX_COLUMNS:
            raise ReadError(_l("The file has more than %(max)d columns; remove the columns that are not needed.", max=MAX_COLUMNS))
        if any(len(header) > MAX_HEADER_LENGTH for header in headers):
            raise ReadError(_l("A column name is longer than %(max)d characters; the first row must hold short column names.",
                               max=MAX_HEADER_LENGTH))
        _check_unique(headers)
        if not any(any(cell_text(cell) for cell in cells) for _number, cells in _first_rows(rows, 50)):
            raise ReadError(_l("The file has column names but no rows of guests under them."))
    return FileInfo(file_format, encoding, headers)


@dataclass
class ScannedFile(FileInfo):
    rows: int  # rows of guests: not blank, header excluded


def is_blank(cells) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def too_many_rows(limit: int) -> ReadError:
    return ReadError(_l("The file has more than %(max)d rows of guests; split it into smaller files.", max=limit))


def scan(path: Path, max_rows: int) -> ScannedFile:
    """``inspect``, then every row read once (cell lengths, well-formed CSV or XML, at most
    ``max_rows`` rows of guests): a file that passes can be read again by the check and the
    import with the same, bounded, memory."""
    info = inspect(path)
    count = 0
    with open_rows(path, info.file_format, info.encoding, len(info.headers)) as source:
        for number, cells in source.rows():
            if number == 1 or is_blank(cells):
                continue
            count += 1
            if count > max_rows:
                raise too_many_rows(max_rows)
    return ScannedFile(info.file_format, info.encoding, info.headers, count)


def _first_rows(rows, count):
    for index, row in enumerate(rows):
        if index >= count:
            return
        yield row


def _check_unique(headers: list[str]) -> None:
    seen: dict[str, int] = {}
    for position, header in enumerate(headers):
        if not header:
            continue
        key = header.casefold()
        if key in seen:
            raise ReadError(_l("The column name \"%(name)s\" appears twice (columns %(first)s and %(second)s); rename one of them.",
                               name=header, first=column_letter(seen[key]), second=column_letter(position)))
        seen[key] = position


def column_letter(position: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (as spreadsheets name columns)."""
    letters = ""
    position += 1
    while position:
        position, remainder = divmod(position - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


# ---- rows -----------------------------------------------------------------------------------

class RowSource:
    """The rows of an open file: ``rows()`` yields (spreadsheet row number, cells) with the
    header as row 1; ``fraction_read()`` says how far into the file the reading is (0..1)."""

    def rows(self) -> Iterator[tuple[int, tuple]]:  # pragma: no cover - interface
        raise NotImplementedError

    def fraction_read(self) -> float:  # pragma: no cover - interface
        raise NotImplementedError


class CsvRows(RowSource):
    def __init__(self, binary, encoding: str, size: int):
        self.binary, self.size = binary, max(size, 1)
        self.text = io.TextIOWrapper(binary, encoding=encoding, newline="")
        first_line = self.text.readline()
        self.text.seek(0)
        self.delimiter = sniff_delimiter(first_line)

    def rows(self):
        reader = csv.reader(self.text, delimiter=self.delimiter)
        try:
            for number, cells in enumerate(reader, start=1):
                _check_cells(number, cells)
                yield number, tuple(cells)
        except csv.Error as error:
            raise ReadError(_l("Row %(row)d is not well-formed CSV (%(detail)s).", row=reader.line_num, detail=str(error))) from error
        except UnicodeDecodeError as error:
            raise ReadError(_l("The file is not readable as %(encoding)s text near row %(row)d; save it as \"CSV UTF-8\".",
                               encoding=self.text.encoding, row=reader.line_num)) from error

    def fraction_read(self) -> float:
        return min(self.binary.tell() / self.size, 1.0)


class XlsxRows(RowSource):
    def __init__(self, workbook, width: int | None):
        self.workbook = workbook
        self.sheet = workbook.worksheets[0]
        self.width = width
        self.total = self.sheet.max_row or 0  # from the sheet's declared size: an estimate
        self.current = 0

    def rows(self):
        try:
            for number, cells in enumerate(self.sheet.iter_rows(values_only=True, max_col=self.width or MAX_COLUMNS + 1), start=1):
                self.current = number
                _check_cells(number, cells)
                yield number, cells
        except (ReadError, MemoryError):
            raise  # a parse over the memory limit is not a damaged file (limited.py says so)
        except Exception as error:  # noqa: BLE001 - damaged XML or ZIP data surfaces as many exception kinds
            raise ReadError(_l("The workbook is damaged near row %(row)d and cannot be read further.", row=self.current + 1)) from error

    def fraction_read(self) -> float:
        return min(self.current / self.total, 1.0) if self.total else 0.0


@contextmanager
def open_rows(path: Path, file_format: str, encoding: str, width: int | None = None) -> Iterator[RowSource]:
    """Open the stored file for reading its rows; closes it afterwards."""
    if file_format == "xlsx":
        from openpyxl import load_workbook

        check_archive(path)
        # A file object, not the path: openpyxl refuses paths without an .xlsx extension.
        with path.open("rb") as binary:
            try:
                workbook = load_workbook(binary, read_only=True, data_only=True)
            except MemoryError:
                raise
            except Exception as error:  # noqa: BLE001 - openpyxl raises many kinds for damaged files
                raise ReadError(_l("The workbook cannot be opened: it is damaged or not a real .xlsx file.")) from error
            try:
                if not workbook.worksheets:
                    raise ReadError(_l("The workbook has no sheet."))
                yield XlsxRows(workbook, width)
            finally:
                workbook.close()
    else:
        with path.open("rb") as binary:
            try:
                source = CsvRows(binary, encoding, path.stat().st_size)
            except UnicodeDecodeError as error:
                raise ReadError(_l("The file is not readable as %(encoding)s text near row %(row)d; save it as \"CSV UTF-8\".",
                                   encoding=encoding, row=1)) from error
            yield source
