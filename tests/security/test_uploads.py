"""Uploads checked before parsing: a ZIP bomb workbook and too many archive parts are refused in
the request, inflating nothing; the file is then parsed by the worker in a child process under
a memory limit, where XXE and billion-laughs XML, over-long column names and cells, and a
workbook needing more memory than allowed end the job with a message; nothing is kept."""
from __future__ import annotations

import io
import random
import tracemalloc
import zipfile

import pytest
from sqlalchemy import func, select

from plugins.spreadsheet_import.models import ImportJob
from plugins.spreadsheet_import.reader import MAX_CELL_LENGTH, MAX_HEADER_LENGTH, ReadError, inspect
from serasi_web.extensions import db

from ..helpers import make_lodging, make_unreadable_for_ever
from ..test_spreadsheet_import import guest, csv_file, imports_folder, latest_job, messages, speaks, upload, wait_for, xlsx_file

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


@pytest.fixture
def app_config(app_config):
    """The worker's read runs inside the request here (the worker path has its own test below)."""
    return {**app_config, "IMPORT_RUN_INLINE": True}


def read_failure(app, response) -> str:
    """The failure of the job an upload made: the worker could not read the file. Nothing of it is
    kept: no header, no file."""
    job = latest_job()
    assert response.status_code == 303 and job.status == "failed", (response.status_code, job and job.status)
    assert job.headers == [] and not list(imports_folder(app).glob("*"))
    return job.failure


def one_huge_cell(megabytes: int) -> bytes:
    """A workbook whose first cell holds ``megabytes`` MB of text, mostly one letter with another
    every 200 characters: it compresses about 80 times, under the archive check's ratio of 100,
    so only parsing it shows how much memory it takes."""
    rng = random.Random(13)

    def write(sheet):
        sheet.write(SHEET_START)
        for _ in range(megabytes * 5):
            sheet.write(b"".join(b"A" * 199 + bytes([rng.randrange(66, 91)]) for _ in range(1000)))
        sheet.write(SHEET_END)
    return with_sheet(write)


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
    failure = read_failure(app, response)
    assert "rusak" in failure  # "damaged": it is not a workbook Excel writes
    assert "root:" not in failure and "lollol" not in failure


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
        assert expected in read_failure(app, response)


def test_a_workbook_needing_more_memory_than_allowed_fails_in_the_worker_with_a_message(app, operator_client, operator, huey_worker):
    """40 MB of text in one cell passes the archive checks (0.5 MB, compressed 80 times); the
    worker's reader process runs out of its 16 MB and the job fails saying so, through the real
    queue and worker. With the default limit the same file is read far enough to be refused for
    its cell's length: the limit, not the file, stopped the first."""
    speaks(operator, "en")
    lodging = make_lodging(operator)
    content = one_huge_cell(40)
    assert len(content) < 1024 * 1024
    app.config.update(IMPORT_RUN_INLINE=False, IMPORT_PARSE_MEMORY_MB=16)
    response = upload(operator_client, lodging, content, "tamu.xlsx")
    assert response.status_code == 303
    job = wait_for("failed")
    assert "needs more than 16 MB of memory" in job.failure and "nothing was imported" in job.failure
    assert job.headers == [] and not list(imports_folder(app).glob("*"))
    page = operator_client.get(f"/lodgings/{lodging.id}/import/{job.id}", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "needs more than 16 MB of memory" in page.get_data(as_text=True)

    app.config["IMPORT_PARSE_MEMORY_MB"] = 512
    upload(operator_client, lodging, content, "tamu.xlsx")
    assert "longer than 2000 characters" in wait_for("failed").failure


def test_a_reader_that_runs_too_long_is_stopped_with_a_message(app, operator_client, operator):
    from plugins.spreadsheet_import.service import job_path, run_job

    speaks(operator, "en")
    app.config.update(IMPORT_RUN_INLINE=False, IMPORT_PARSE_TIMEOUT_SECONDS=2)  # queued: no worker runs it
    response = upload(operator_client, make_lodging(operator), csv_file([guest(1)]))
    make_unreadable_for_ever(job_path(latest_job()))
    run_job(app, latest_job().id, "read")  # what the worker does
    assert "took longer than 2 seconds" in read_failure(app, response)


def test_the_memory_limit_message_is_in_indonesian_by_default(app, operator_client, operator):
    app.config["IMPORT_PARSE_MEMORY_MB"] = 16
    failure = read_failure(app, upload(operator_client, make_lodging(operator), one_huge_cell(40), "tamu.xlsx"))
    assert "memori" in failure and "16 MB" in failure
