"""The import template we hand out: CSV and XLSX, English or Indonesian headers.

Every text cell we write goes through ``neutralise`` of the console's exports: a cell starting
with = + - or @ would run as a formula when the file is opened in a spreadsheet (CSV injection),
so it gets a leading '.
"""
from __future__ import annotations

import codecs
import io
from datetime import date, datetime, timedelta

from serasi_web.officer.exports import csv_text, neutralise

from .columns import HEADERS, TARGETS

EXAMPLE_IDS = {"en": "EXAMPLE-1", "id": "CONTOH-1"}  # an example row left in a file is refused by name


def example_row(lang: str) -> dict:
    """One guest as the template shows it (dates relative to today, so it reads naturally)."""
    today = date.today()
    return {
        "external_id": EXAMPLE_IDS[lang], "surname": "Eriksson", "given_names": "Anna María", "sex": "F",
        "date_of_birth": date(1974, 8, 12), "place_of_birth": "Stockholm", "nationality": "SWE", "document_type": "passport",
        "document_number": "L898902C3", "issuing_state": "SWE", "document_expiry": date(today.year + 5, 6, 30),
        "entry_date": today - timedelta(days=3), "port_of_entry": "Ngurah Rai", "stay_permit": "bvk", "visa_index": "",
        "permit_number": "", "permit_valid_until": None, "entry_stamp_qr": "",
        "check_in_at": datetime.combine(today - timedelta(days=1), datetime.min.time()).replace(hour=14),
        "planned_check_out": today + timedelta(days=6), "room": "7", "purpose": "tourism", "notes": "",
    }


def _cell_text(value) -> str:
    """An example value as CSV text: dates as YYYY-MM-DD, check-in times as YYYY-MM-DD HH:MM."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def template_csv(lang: str) -> bytes:
    """The template as CSV in UTF-8 with a BOM (so Excel shows accents right). Indonesian Excel
    separates CSV columns with ";" (the comma is its decimal sign), so the Indonesian template
    uses ";"; the import reads either."""
    example = example_row(lang)
    header = [HEADERS[lang][t] for t in TARGETS]
    text = csv_text(header, [[_cell_text(example[t]) for t in TARGETS]], delimiter=";" if lang == "id" else ",")
    return codecs.BOM_UTF8 + text.encode("utf-8")


def template_xlsx(lang: str) -> bytes:
    """The template as a workbook: bold header row, frozen; dates as real date cells."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "SERASI"
    sheet.append([neutralise(HEADERS[lang][t]) for t in TARGETS])
    example = example_row(lang)
    sheet.append([neutralise(example[t]) if example[t] != "" else None for t in TARGETS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        sheet.column_dimensions[cell.column_letter].width = max(12, len(str(cell.value)) + 2)
    for cell in sheet[2]:
        if isinstance(cell.value, datetime):
            cell.number_format = "yyyy-mm-dd hh:mm"
        elif isinstance(cell.value, date):
            cell.number_format = "yyyy-mm-dd"
        elif isinstance(cell.value, str):
            cell.data_type = "s"  # never a formula, whatever the text
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
