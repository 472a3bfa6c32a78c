"""Uploads checked before parsing: a ZIP bomb workbook, XXE and billion-laughs XML, too many
archive parts, and over-long column names and cells are refused with a message; nothing is
stored and the check inflates nothing."""
from __future__ import annotations

import io
import tracemalloc
import zipfile

import pytest
from sqlalchemy import func, select

from plugins.spreadsheet_import.reader import MAX_CELL_LENGTH, MAX_HEADER_LENGTH, ReadError, inspect
from serasi_web.extensions import db
from serasi_web.integrations.models import ImportJob

from ..helpers import make_lodging
from ..test_spreadsheet_import import messages, upload, xlsx_file

SHEET = "xl/worksheets/sheet1.xml"
SHEET_START = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
               b'<row r="1"><c r="A1" t="inlineStr"><is><t>')
SHEET_END = b"</t></is></c></row></sheetData></worksheet>"


def with_sheet(write_sheet) -> bytes:
    """A real workbook (openpyxl's) whose first sheet is replaced by what ``write_sheet`` writes."""
    original = zipfile.ZipFile(io.BytesIO(xlsx_file(["surname", "document_number"], [["Tanaka", "TK1234567"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in original.infolist():
            if member.filename == SHEET:
                with archive.open(SHEET, "w", force_zip64=True) as sheet:
                    write_sheet(sheet)
            else:
                archive.writestr(member, original.read(member))
    return out.getvalue()


def bomb() -> bytes:
    """About 150 KB that declares one cell of 150 MB (as in the review)."""
    def write(sheet):
        sheet.write(SHEET_START)
        chunk = b"A" * (1024 * 1024)
        for _ in range(150):
            sheet.write(chunk)
        sheet.write(SHEET_END)
    return with_sheet(write)


def with_doctype(doctype: bytes, cell: bytes) -> bytes:
    def write(sheet):
        sheet.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + doctype + SHEET_START.split(b"\n", 1)[1] + cell + SHEET_END)
    return with_sheet(write)


BILLION_LAUGHS = (b'<!DOCTYPE worksheet [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (level, (b"&lol%d;" % (level - 1) if level > 1 else b"&lol;") * 10)
                             for level in range(1, 10)) + b"]>")
XXE = b'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def jobs() -> int:
    return db.session.execute(select(func.count()).select_from(ImportJob)).scalar_one()


def test_a_zip_bomb_workbook_is_refused_without_inflating_it(app, operator_client, operator, tmp_path):
    content = bomb()
    assert len(content) < 400 * 1024
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(content)
    tracemalloc.start()
    try:
        with pytest.raises(ReadError, match="zip bomb"):
            inspect(path)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024 * 1024  # flat: nothing was inflated

    response = upload(operator_client, make_lodging(operator), content, "tamu.xlsx")
    assert response.status_code == 200 and "zip bomb" in messages(response)
    assert jobs() == 0  # nothing stored, not even a header


@pytest.mark.parametrize("doctype, cell", [(BILLION_LAUGHS, b"&lol9;"), (XXE, b"&xxe;")], ids=["billion laughs", "XXE"])
def test_xml_with_entities_is_refused(app, operator_client, operator, doctype, cell):
    response = upload(operator_client, make_lodging(operator), with_doctype(doctype, cell), "tamu.xlsx")
    assert response.status_code == 200 and "rusak" in messages(response)  # "damaged": it is not a workbook Excel writes
    assert "root:" not in response.get_data(as_text=True) and "lollol" not in response.get_data(as_text=True)
    assert jobs() == 0


def test_a_workbook_of_too_many_parts_is_refused(app, tmp_path):
    original = zipfile.ZipFile(io.BytesIO(xlsx_file(["surname"], [["Tanaka"]])))
    path = tmp_path / "parts.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for member in original.infolist():
            archive.writestr(member, original.read(member))
        for number in range(1001):
            archive.writestr(f"xl/media/part{number}.bin", b"")
    with pytest.raises(ReadError, match="terlalu banyak bagian"):
        inspect(path)


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_over_long_column_names_and_cells_are_refused(app, operator_client, operator, kind):
    lodging = make_lodging(operator)
    long_header = "S" * (MAX_HEADER_LENGTH + 1)
    long_cell = "T" * (MAX_CELL_LENGTH + 1)
    for header, cell, expected in ((long_header, "Tanaka", "Nama kolom"), ("surname", long_cell, "Sel di baris 2")):
        if kind == "xlsx":
            content, name = xlsx_file([header, "document_number"], [[cell, "TK1234567"]]), "tamu.xlsx"
        else:
            content, name = f"{header},document_number\r\n{cell},TK1234567\r\n".encode(), "tamu.csv"
        response = upload(operator_client, lodging, content, name)
        assert response.status_code == 200 and expected in messages(response), messages(response)
    assert jobs() == 0
