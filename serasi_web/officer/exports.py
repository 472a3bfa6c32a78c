"""Tables as CSV or XLSX downloads, safe to open in a spreadsheet program.

CSV: a text cell starting with = + - @ (or a tab or carriage return) gets a leading apostrophe so
a spreadsheet shows it instead of running it as a formula. XLSX: every text cell is written as a
string cell, never as a formula; numbers stay numbers in both.
"""
from __future__ import annotations

import csv
import io
import re
from typing import Iterable, Sequence

from flask import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_MIMETYPE = "text/csv"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(value):
    """A cell value safe for a spreadsheet: text that looks like a formula gets a leading '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(header: Sequence[str] | None, rows: Iterable[Sequence], delimiter: str = ",") -> str:
    """CSV lines (a header line first unless ``header`` is None), cells neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    if header is not None:
        writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        writer.writerow(["" if cell is None else neutralise(cell) for cell in row])
    return out.getvalue()


def xlsx_bytes(sheet_title: str, header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_sheet_title(sheet_title))

    def cells(values: Sequence) -> list:
        written = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # openpyxl would store "=..." as a formula
            written.append(cell)
        return written

    sheet.append(cells(list(header)))
    for row in rows:
        sheet.append(cells(list(row)))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _sheet_title(title: str) -> str:
    """Excel refuses sheet names over 31 characters or with []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "Sheet"


def download(file_format: str, filename: str, sheet_title: str, header: Sequence[str], rows: Iterable[Sequence]) -> Response:
    """A CSV (UTF-8 with BOM, so Excel reads accents) or XLSX attachment."""
    if file_format == "xlsx":
        body, mimetype = xlsx_bytes(sheet_title, header, rows), XLSX_MIMETYPE
    else:
        body, mimetype = "\ufeff" + csv_text(header, rows), CSV_MIMETYPE
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename={filename}.{file_format}"
    response.headers["Cache-Control"] = "no-store"
    return response


def streamed_csv(header: Sequence[str], rows: Iterable[Sequence], filename: str) -> Response:
    """A long log as a CSV download written while its rows are read (1,000 a chunk), with a BOM
    so spreadsheet programs read UTF-8; never cached (it holds personal data)."""
    from flask import stream_with_context

    def generate():
        yield "\ufeff" + csv_text(header, [])
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) == 1000:
                yield csv_text(None, batch)
                batch = []
        if batch:
            yield csv_text(None, batch)

    return Response(stream_with_context(generate()), mimetype=CSV_MIMETYPE,
                    headers={"Content-Disposition": f"attachment; filename={filename}", "Cache-Control": "no-store"})
