"""The admin's office-list CSV upload: a file over 2 MB, with a line longer than any row of
offices, too many columns or rows, or characters that do not decode is refused with a message at
the field or by line, before anything is written; never a 500."""
from __future__ import annotations

import codecs
import io
import tracemalloc

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from serasi_web.extensions import db
from serasi_web.offices.csv_io import MAX_COLUMNS, MAX_LINE_LENGTH, MAX_ROWS, MAX_UPLOAD_BYTES
from serasi_web.offices.models import ImmigrationOffice

EN = {"Accept-Language": "en"}
HEADER = "office_code,office_name,office_class,address,phone,email,region_code\n"


def upload(client, content: bytes):
    boundary, body = encode_multipart(MultiDict({"file": FileStorage(io.BytesIO(content), "offices.csv")}))
    return client.post("/admin/offices/import", data=body, content_type=f"multipart/form-data; boundary={boundary}", headers=EN)


def offices() -> int:
    return db.session.execute(select(func.count()).select_from(ImmigrationOffice)).scalar_one()


@pytest.mark.parametrize("content, message", [
    (HEADER.encode() + b"KANIM-A,Office A,,,,,51.71\n" * (MAX_UPLOAD_BYTES // 20), "The file is larger than 2 MB."),
    (HEADER.encode() + b'KANIM-A,"' + b"x" * (MAX_LINE_LENGTH + 1) + b'",,,,,51.71\n', f"Line 2 is longer than {MAX_LINE_LENGTH} characters"),
    (codecs.BOM_UTF16_LE + HEADER.encode("utf-16-le") + b"\x00\xd8\x41", "characters could not be read"),
], ids=["over 2 MB", "a 2,001-character line", "broken UTF-16"])
def test_an_office_file_refused_before_parsing_says_why_at_the_field(app, admin_client, content, message):
    before = offices()
    tracemalloc.start()
    try:
        response = upload(admin_client, content)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert offices() == before
    assert peak < 3 * MAX_UPLOAD_BYTES + 1024 * 1024  # at most the cap read, however large the file


@pytest.mark.parametrize("content, message", [
    (("," * (MAX_COLUMNS + 1) + HEADER).encode(), f"more than {MAX_COLUMNS} columns"),
    ((HEADER + "".join(f"K-{n},Office {n},,,,,\n" for n in range(MAX_ROWS + 1))).encode(), f"more than {MAX_ROWS:,} rows".replace(",", "")),
], ids=["too many columns", "too many rows"])
def test_an_office_file_over_the_column_or_row_cap_imports_nothing(app, admin_client, content, message):
    before = offices()
    response = upload(admin_client, content)
    assert response.status_code == 200 and message in response.get_data(as_text=True) and "Nothing was imported" in response.get_data(as_text=True)
    assert offices() == before
