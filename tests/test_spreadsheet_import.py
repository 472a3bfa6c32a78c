"""Spreadsheet import: an operator uploads a CSV or XLSX, maps its columns, checks every row,
then imports all rows or only the valid ones, idempotently."""
import codecs
import csv
import io
import os
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from plugins.spreadsheet_import import service
from plugins.spreadsheet_import.columns import HEADERS, TARGETS, check_in_text, date_text, preset_mapping
from plugins.spreadsheet_import.export import neutralise
from plugins.spreadsheet_import.models import ImportJob
from serasi_web.extensions import db
from serasi_web.stays.models import Stay
from serasi_web.stays.services import to_local

from .helpers import local_now, login, make_lodging, make_user, report_guest

ENGLISH = HEADERS["en"]
FORMULA = ("=", "+", "-", "@")
INDONESIAN = HEADERS["id"]


@pytest.fixture
def app_config(app_config):
    """Jobs run inside the request, so a test sees the finished job right away."""
    return {**app_config, "IMPORT_RUN_INLINE": True}


@pytest.fixture
def lodging(app, operator, offices):
    return make_lodging(operator)


def guest(number: int = 1, **overrides) -> dict:
    """One valid guest row by report field (what an operator's spreadsheet holds)."""
    today = date.today()
    row = {
        "external_id": f"RES-{number}", "surname": "Eriksson", "given_names": "Anna María", "sex": "F", "date_of_birth": "1974-08-12",
        "place_of_birth": "Stockholm", "nationality": "SWE", "document_type": "passport", "document_number": f"SE{number:07d}",
        "issuing_state": "SWE", "document_expiry": (today + timedelta(days=2000)).isoformat(),
        "entry_date": (today - timedelta(days=3)).isoformat(), "port_of_entry": "Ngurah Rai", "stay_permit": "bvk", "visa_index": "",
        "permit_number": "", "permit_valid_until": "", "entry_stamp_qr": "", "check_in_at": local_now(delta_hours=-2),
        "planned_check_out": "", "room": str(100 + number), "purpose": "tourism", "notes": "",
    }
    row.update(overrides)
    return row


def csv_file(rows: list[dict], headers: dict = ENGLISH, delimiter: str = ",", encoding: str = "utf-8", targets=TARGETS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([headers[t] for t in targets])
    for row in rows:
        writer.writerow([row.get(t, "") for t in targets])
    return out.getvalue().encode(encoding)


def xlsx_file(header: list, rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(client, lodging, content: bytes, filename: str = "guests.csv"):
    return client.post(f"/lodgings/{lodging.id}/import", data={"file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def latest_job() -> ImportJob:
    db.session.expire_all()
    return db.session.execute(select(ImportJob).order_by(ImportJob.id.desc())).scalars().first()


def check(client, lodging, content: bytes, filename: str = "guests.csv", mapping: dict | None = None) -> ImportJob:
    """Upload, keep the pre-filled mapping (or the given one), run the check; the job afterwards."""
    response = upload(client, lodging, content, filename)
    assert response.status_code == 303, messages(response)
    job = latest_job()
    chosen = {target: "" for target in TARGETS} | (job.mapping if mapping is None else mapping)
    response = client.post(f"/lodgings/{lodging.id}/import/{job.id}/columns", data=chosen)
    assert response.status_code == 303, messages(response)
    return latest_job()


def run_import(client, lodging, job: ImportJob, rows: str = "all") -> ImportJob:
    response = client.post(f"/lodgings/{lodging.id}/import/{job.id}/import", data={"rows": rows})
    assert response.status_code == 303
    return latest_job()


def messages(response) -> str:
    import re

    text = response.get_data(as_text=True)
    return " | ".join(re.findall(r'class="(?:error|flash[^"]*)"[^>]*>([^<]*)', text)) or text[:500]


def speaks(user, locale: str) -> None:
    """The operator's saved language: the problems of a job are written in it."""
    user.locale = locale
    db.session.commit()


def stay_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Stay))


def imports_folder(app) -> Path:
    return Path(app.instance_path) / "imports"


# ---- the operator's story ------------------------------------------------------------------

def test_operator_imports_a_csv_and_importing_it_again_changes_nothing(app, operator_client, operator, lodging):
    content = csv_file([guest(1), guest(2), guest(3)])
    job = check(operator_client, lodging, content)
    assert (job.status, job.total_rows, job.valid_rows, job.error_rows, job.errors) == ("checked", 3, 3, 0, [])
    assert stay_count() == 0  # the check writes nothing
    page = operator_client.get(f"/lodgings/{lodging.id}/import/{job.id}").get_data(as_text=True)
    assert 'name="rows" value="all"' in page and 'value="valid"' not in page

    job = run_import(operator_client, lodging, job)
    assert (job.status, job.created_count, job.updated_count, job.unchanged_count) == ("done", 3, 0, 0)
    stays = db.session.execute(select(Stay).order_by(Stay.external_id)).scalars().all()
    assert [s.external_id for s in stays] == ["RES-1", "RES-2", "RES-3"]
    assert {s.source for s in stays} == {"spreadsheet"} and {s.status for s in stays} == {"reported"}
    assert stays[0].given_names == "Anna María" and stays[0].receipt_number.startswith("STT-")
    assert stays[0].created_by_id == operator.id and stays[0].versions[0].changed_by_label == "spreadsheet:guests.csv"
    assert not service.job_path(job).exists()  # the guests' data is not kept after the import

    again = run_import(operator_client, lodging, check(operator_client, lodging, content))
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 3)
    assert stay_count() == 3


def test_a_changed_row_corrects_its_stay_with_a_reason(operator_client, operator, lodging):
    speaks(operator, "en")  # the reason is written in the uploader's language
    run_import(operator_client, lodging, check(operator_client, lodging, csv_file([guest(1), guest(2)])))
    job = run_import(operator_client, lodging, check(operator_client, lodging, csv_file([guest(1), guest(2, room="909")]), "guests-v2.csv"))
    assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 1, 1)
    stay = db.session.execute(select(Stay).where(Stay.external_id == "RES-2")).scalar_one()
    assert stay.room == "909" and stay.version == 2 and stay.versions[-1].reason == "updated by spreadsheet:guests-v2.csv"


def test_rows_without_an_external_id_get_a_stable_one_from_document_and_check_in(operator_client, lodging):
    targets = [t for t in TARGETS if t != "external_id"]
    content = csv_file([guest(1), guest(2)], targets=targets)
    first = run_import(operator_client, lodging, check(operator_client, lodging, content))
    assert first.created_count == 2
    ids = sorted(db.session.execute(select(Stay.external_id)).scalars())
    assert ids[0].startswith("SWE-SE0000001-") and len(ids[0]) == len("SWE-SE0000001-") + 16
    second = run_import(operator_client, lodging, check(operator_client, lodging, content))
    assert (second.created_count, second.unchanged_count) == (0, 2)


def test_the_check_lists_every_problem_by_row_and_column_and_writes_nothing(operator_client, lodging):
    rows = [
        guest(1),
        guest(2, surname="", nationality="ZZZ"),  # two problems on one row
        guest(3, date_of_birth="31/02/1980"),
        guest(4, check_in_at=local_now(delta_hours=+5)),  # in the future
        guest(5),
        guest(6, external_id="RES-5", document_number="SE7777777"),  # the same external id again
        guest(7, document_number="SE0000005"),  # the same document as row 6 (guest 5)
    ]
    job = check(operator_client, lodging, csv_file(rows))
    assert (job.total_rows, job.valid_rows, job.error_rows) == (7, 2, 5)
    problems = {(p["row"], p["column"]) for p in job.errors}
    assert {(3, "Surname"), (3, "Nationality"), (4, "Date of birth"), (5, "Check-in"), (7, "External ID"), (8, "Document number")} <= problems
    by_place = {(p["row"], p["column"]): p["message"] for p in job.errors}
    assert by_place[(3, "Surname")] == "Masukkan nama keluarga."  # in the operator's language (Indonesian by default)
    assert "6" in by_place[(7, "External ID")] and "6" in by_place[(8, "Document number")]
    assert stay_count() == 0

    page = operator_client.get(f"/lodgings/{lodging.id}/import/{job.id}").get_data(as_text=True)
    assert 'id="problems"' in page and "Masukkan nama keluarga." in page
    assert 'value="all"' not in page and 'name="rows" value="valid"' in page
    refused = run_import(operator_client, lodging, job, rows="all")
    assert refused.status == "checked" and stay_count() == 0  # no partial write unless chosen

    done = run_import(operator_client, lodging, job, rows="valid")
    assert (done.status, done.created_count) == ("done", 2)
    assert sorted(db.session.execute(select(Stay.external_id)).scalars()) == ["RES-1", "RES-5"]


def test_the_check_finds_what_the_import_would_meet_in_the_database(operator_client, lodging):
    report_guest(operator_client, lodging, document_number="SE0000001", issuing_state="SWE")
    job = check(operator_client, lodging, csv_file([guest(1), guest(2)]))
    assert job.error_rows == 1
    assert job.errors[0]["row"] == 2 and job.errors[0]["column"] == "Document number"
    assert stay_count() == 1


def test_the_template_downloads_in_both_languages_and_its_headers_are_recognised(operator_client, operator, lodging):
    speaks(operator, "en")
    indonesian = operator_client.get(f"/lodgings/{lodging.id}/import/template.csv?lang=id")
    assert indonesian.status_code == 200 and indonesian.mimetype == "text/csv"
    text = indonesian.data.decode("utf-8-sig")
    header, example = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert header[:4] == ["ID eksternal", "Nama keluarga", "Nama depan", "Jenis kelamin"] and "Tanggal masuk Indonesia" in header
    assert example[0] == "CONTOH-1"
    english = operator_client.get(f"/lodgings/{lodging.id}/import/template.xlsx?lang=en")
    sheet = load_workbook(io.BytesIO(english.data), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == [ENGLISH[t] for t in TARGETS] and isinstance(rows[1][TARGETS.index("check_in_at")], datetime)

    assert preset_mapping([INDONESIAN[t].upper() for t in TARGETS]) == {t: INDONESIAN[t].upper() for t in TARGETS}
    assert preset_mapping(["  check IN ", "Passport No.", "tanggal check in"])["check_in_at"] == "  check IN "

    for kind, lang in (("csv", "id"), ("xlsx", "en")):
        data = operator_client.get(f"/lodgings/{lodging.id}/import/template.{kind}?lang={lang}").data
        job = check(operator_client, lodging, data, f"template.{kind}")
        assert set(job.mapping) == set(TARGETS)
        assert job.error_rows == 1 and job.errors[0]["message"] == "This is the example row of the template: delete it before importing."


def test_an_xlsx_with_date_cells_and_labels_instead_of_codes(operator_client, lodging):
    today = date.today()
    check_in = datetime.now().replace(second=0, microsecond=0) - timedelta(hours=30)
    header = ["Nama keluarga", "Nama depan", "Jenis kelamin", "Tanggal lahir", "Kewarganegaraan", "Nomor paspor", "Negara penerbit",
              "Berlaku sampai", "Tanggal masuk Indonesia", "Izin tinggal", "Tanggal check-in", "Tujuan", "Kamar"]
    rows = [
        ["Tanaka", "Yui", "Perempuan", datetime(1992, 4, 5), "Jepang", "TZ1234567", "JPN", date(today.year + 4, 1, 1),
         today - timedelta(days=2), "Bebas Visa Kunjungan (BVK)", check_in, "Wisata", 12],
        ["Smith", "John", "male", "05/04/1980", "AUS", "PA1234567", "Australia", (today + timedelta(days=900)).strftime("%d/%m/%Y"),
         (today - timedelta(days=2)).isoformat(), "KITAS", check_in.strftime("%Y-%m-%d %H:%M"), "Business", None],
    ]
    job = run_import(operator_client, lodging, check(operator_client, lodging, xlsx_file(header, rows), "tamu.xlsx"))
    assert job.created_count == 2, job.errors
    tanaka, smith = db.session.execute(select(Stay).order_by(Stay.surname.desc())).scalars().all()
    assert (tanaka.sex, tanaka.nationality, tanaka.stay_permit, tanaka.purpose, tanaka.room) == ("F", "JPN", "bvk", "tourism", "12")
    assert tanaka.date_of_birth == date(1992, 4, 5) and to_local(tanaka.check_in_at, lodging).replace(tzinfo=None) == check_in
    assert (smith.sex, smith.issuing_state, smith.stay_permit, smith.purpose, smith.date_of_birth) == ("M", "AUS", "itas", "business", date(1980, 4, 5))


@pytest.mark.parametrize("encoding, delimiter", [
    ("utf-8", ","), ("utf-8-sig", ";"), ("utf-16", "\t"), ("cp1252", ";"), ("latin-1", ","),
])
def test_csv_in_the_encodings_excel_writes(operator_client, lodging, encoding, delimiter):
    content = csv_file([guest(1, surname="Müller-Lüdenscheidt", given_names="Zoë")], delimiter=delimiter, encoding=encoding)
    job = run_import(operator_client, lodging, check(operator_client, lodging, content))
    assert job.created_count == 1, job.errors
    stay = db.session.execute(select(Stay)).scalar_one()
    assert (stay.surname, stay.given_names) == ("Müller-Lüdenscheidt", "Zoë")


def test_utf16_without_a_bom_is_read_too(operator_client, lodging):
    content = csv_file([guest(1)], delimiter="\t", encoding="utf-16-le")
    assert not content.startswith(codecs.BOM_UTF16_LE)
    job = check(operator_client, lodging, content)
    assert job.valid_rows == 1 and job.encoding == "utf-16-le"


def _zip_without_workbook() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    return out.getvalue()


@pytest.mark.parametrize("content, filename, expected", [
    (b"", "empty.csv", "The file is empty"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "guests.pdf", "not a CSV file or an Excel workbook"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "guests.csv", "not a CSV file or an Excel workbook"),
    (b"\x00\x01\x02\x03\x00\xff\xfe\x00\x10binary", "guests.csv", "not a CSV file or an Excel workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "guests.xls", "old Excel file (.xls)"),
    (_zip_without_workbook(), "guests.xlsx", "ZIP file but not an Excel workbook"),
    (b"PK\x03\x04 truncated", "guests.xlsx", "ZIP file but not an Excel workbook"),
])
def test_files_refused_by_their_first_bytes_get_a_message_on_the_upload_page_and_nothing_is_kept(app, operator_client, lodging,
                                                                                                 content, filename, expected):
    """What needs no parsing is refused in the request itself."""
    response = operator_client.post(f"/lodgings/{lodging.id}/import", data={"file": (io.BytesIO(content), filename)},
                                    headers={"Accept-Language": "en"}, content_type="multipart/form-data")
    assert response.status_code == 200 and expected in messages(response)
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0
    assert not list(imports_folder(app).glob("*"))  # not even the temporary upload


@pytest.mark.parametrize("content, filename, expected", [
    (b"Surname,Given names,Sex\r\n", "header-only.csv", "no rows of guests"),
    (b",,,\r\nEriksson,Anna,F\r\n", "no-header.csv", "first row is empty"),
    (b"Surname,Room,surname\r\nA,1,B\r\n", "twice.csv", "appears twice (columns A and C)"),
])
def test_files_refused_when_read_fail_the_job_with_a_message_and_the_file_is_not_kept(app, operator_client, operator, lodging,
                                                                                      content, filename, expected):
    """What needs parsing is refused by the worker's read: the job page says why."""
    speaks(operator, "en")
    response = upload(operator_client, lodging, content, filename)
    job = latest_job()
    assert response.status_code == 303 and response.location.endswith(f"/import/{job.id}")
    assert job.status == "failed" and expected in job.failure and job.headers == []
    page = operator_client.get(f"/lodgings/{lodging.id}/import/{job.id}")
    assert page.status_code == 200 and expected in page.get_data(as_text=True)
    assert "/columns" not in page.get_data(as_text=True)  # nothing to map: upload a fixed file
    assert operator_client.get(f"/lodgings/{lodging.id}/import/{job.id}/columns").status_code == 303
    assert not list(imports_folder(app).glob("*")) and stay_count() == 0


def multipart(content: bytes, filename: str) -> dict:
    """A file upload encoded here: the test client would spool a large body to a temporary file
    it never closes when the app refuses to read it."""
    boundary, body = encode_multipart(MultiDict({"file": FileStorage(io.BytesIO(content), filename)}))
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def test_a_file_above_flasks_16_mb_request_limit_is_accepted_up_to_20_mb(app, operator_client, lodging):
    content = csv_file([guest(1)]) + b"\r\n" * (17 * 1024 * 1024 // 2)  # blank lines: 17 MB
    response = operator_client.post(f"/lodgings/{lodging.id}/import", **multipart(content, "big.csv"))
    assert response.status_code == 303, messages(response)
    assert service.job_path(latest_job()).stat().st_size == len(content)


def test_a_file_over_the_size_limit_gets_a_message_however_large_the_request(app, operator_client, lodging):
    app.config.update(IMPORT_MAX_BYTES=2 * 1024 * 1024, IMPORT_REQUEST_LIMIT=3 * 1024 * 1024)
    for size in (2 * 1024 * 1024 + 10, 4 * 1024 * 1024):  # over the file limit; over the request limit too
        content = csv_file([guest(1)]) + b"x" * size
        response = operator_client.post(f"/lodgings/{lodging.id}/import", headers={"Accept-Language": "en"}, **multipart(content, "big.csv"))
        assert response.status_code == 200 and "larger than 2 MB" in messages(response)
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0
    assert not list(imports_folder(app).glob("*"))


def test_missing_columns_each_get_a_message_naming_the_template_headers(operator_client, lodging):
    targets = [t for t in TARGETS if t not in ("surname", "check_in_at", "stay_permit", "visa_index")]
    upload(operator_client, lodging, csv_file([guest(1)], targets=targets))
    job = latest_job()
    page = operator_client.get(f"/lodgings/{lodging.id}/import/{job.id}/columns", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<option selected value="Given names">Given names</option>' in page
    chosen = {target: "" for target in TARGETS} | job.mapping
    response = operator_client.post(f"/lodgings/{lodging.id}/import/{job.id}/columns", data=chosen, headers={"Accept-Language": "en"})
    text = messages(response)
    assert response.status_code == 200
    assert 'Add a column "Surname" (or "Nama keluarga")' in text.replace("&#34;", '"').replace("&quot;", '"')
    assert 'Add a column "Check-in" (or "Tanggal check-in")' in text.replace("&#34;", '"').replace("&quot;", '"')
    assert "stay permit, or the one with the visa index" in text
    assert latest_job().status == "uploaded"


def test_a_mapping_can_use_any_column_names(operator_client, lodging):
    headers = {t: f"Kolom {n}" for n, t in enumerate(TARGETS)}
    upload(operator_client, lodging, csv_file([guest(1)], headers=headers))
    job = latest_job()
    assert job.mapping == {}
    job = check(operator_client, lodging, csv_file([guest(1)], headers=headers), mapping=headers)
    assert job.valid_rows == 1


def test_formula_cells_are_kept_as_text_and_neutralised_in_every_file_we_write(operator_client, lodging):
    assert [neutralise(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "Bali", 7)] == ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "Bali", 7]
    attack = "=cmd|' /C calc'!A0"
    rows = [guest(1, notes=attack), guest(2, surname=attack, room="9" * 41)]
    headers = dict(ENGLISH, room=attack)
    job = check(operator_client, lodging, csv_file(rows, headers=headers), mapping={**preset_mapping(list(headers.values())), "room": attack})
    assert job.valid_rows == 1 and job.errors[0]["column"] == "Surname"
    problems = operator_client.get(f"/lodgings/{lodging.id}/import/{job.id}/problems.csv").data.decode("utf-8-sig")
    assert "'=cmd" in problems and not [cell for row in csv.reader(io.StringIO(problems)) for cell in row if cell.startswith(FORMULA)]
    run_import(operator_client, lodging, job, rows="valid")
    assert db.session.execute(select(Stay.notes)).scalar_one() == attack  # stored as plain text, shown escaped
    for kind in ("csv", "xlsx"):
        data = operator_client.get(f"/lodgings/{lodging.id}/import/template.{kind}").data
        cells = ([c for row in csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";") for c in row] if kind == "csv" else
                 [c for row in load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(values_only=True) for c in row])
        assert not [c for c in cells if isinstance(c, str) and c.startswith(FORMULA)]


def test_a_row_the_database_refuses_costs_only_itself(app, operator_client, operator, lodging, monkeypatch):
    """A batch is one transaction; when the database refuses it, its rows are tried one by one."""
    from .helpers import refuse_upserts_of

    speaks(operator, "en")
    app.config["IMPORT_BATCH_ROWS"] = 10
    job = check(operator_client, lodging, csv_file([guest(n) for n in range(1, 6)]))
    refuse_upserts_of(monkeypatch, "RES-3")
    job = run_import(operator_client, lodging, job)
    assert (job.status, job.created_count) == ("done", 4)
    assert job.errors == [{"row": 4, "column": "", "message": "This stay could not be saved (the error was logged)."}]
    assert sorted(db.session.execute(select(Stay.external_id)).scalars()) == ["RES-1", "RES-2", "RES-4", "RES-5"]


def test_too_many_rows_fail_the_reading_with_a_message(app, operator_client, operator, lodging):
    speaks(operator, "en")
    app.config["IMPORT_MAX_ROWS"] = 3
    job = check(operator_client, lodging, csv_file([guest(n) for n in range(1, 6)]))
    assert job.status == "failed" and "more than 3 rows" in job.failure


def test_a_csv_broken_further_down_fails_the_reading_with_the_row(operator_client, operator, lodging):
    speaks(operator, "en")
    content = csv_file([guest(n) for n in range(1, 56)]) + b'RES-99,"' + b"x" * 200_000 + b'"\r\n'
    job = check(operator_client, lodging, content)
    assert job.status == "failed" and job.failure.startswith("Row 57 is not well-formed CSV") and stay_count() == 0
    page = operator_client.get(f"/lodgings/{lodging.id}/import/{job.id}").get_data(as_text=True)
    assert "Row 57 is not well-formed CSV" in page and 'name="rows"' not in page


def test_blank_rows_are_skipped_and_row_numbers_match_the_spreadsheet(operator_client, lodging):
    content = csv_file([guest(1)]) + b",,,\r\n\r\n" + csv_file([guest(2, surname="")]).split(b"\r\n", 1)[1]
    job = check(operator_client, lodging, content)
    assert (job.total_rows, job.valid_rows) == (2, 1) and job.errors[0]["row"] == 5


# ---- progress, htmx, JavaScript off, the worker -----------------------------------------------

def _job_in(status: str, lodging, operator) -> ImportJob:
    job = ImportJob(lodging_id=lodging.id, created_by_id=operator.id, filename="long.csv", file_format="csv", headers=["Surname"],
                    mapping={"surname": "Surname"}, status=status, total_rows=50000, processed_rows=1200, errors=[])
    db.session.add(job)
    db.session.commit()
    return job


def test_a_running_job_page_refreshes_itself_without_javascript_and_polls_with_htmx(operator_client, lodging, operator):
    job = _job_in("importing", lodging, operator)
    response = operator_client.get(f"/lodgings/{lodging.id}/import/{job.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in page and "HX-Request" in response.headers["Vary"]
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert '<progress id="import-progress" max="50000" value="1200">' in page
    fragment = operator_client.get(f"/lodgings/{lodging.id}/import/{job.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and 'hx-trigger="every 1s"' in fragment and 'id="import-job"' in fragment

    operator_client.post(f"/lodgings/{lodging.id}/import/{job.id}/cancel")
    finished = operator_client.get(f"/lodgings/{lodging.id}/import/{job.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert latest_job().status == "cancelled" and "hx-trigger" not in finished and "refresh" not in finished


def test_a_stopped_job_is_not_run(app, lodging, operator):
    job = _job_in("cancelled", lodging, operator)
    service.run_job(app, job.id, "import")
    assert latest_job().status == "cancelled"


def wait_for(status: str, *, after: tuple = service.RUNNING) -> ImportJob:
    """The latest job once it has left the ``after`` statuses (the worker runs it meanwhile)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        current = latest_job()
        if current.status not in after:
            assert current.status == status, current.failure
            return current
        time.sleep(0.05)
    raise AssertionError("the import job did not finish in 60 s")


def test_every_phase_runs_in_the_worker(app, operator_client, lodging, huey_worker):
    app.config["IMPORT_RUN_INLINE"] = False
    response = upload(operator_client, lodging, csv_file([guest(n) for n in range(1, 13)]))
    job = latest_job()
    assert response.status_code == 303 and response.location.endswith(f"/import/{job.id}")
    job = wait_for("uploaded")  # read by the worker, in a child process under the memory limit
    assert job.total_rows == 12 and "Surname" in job.headers and job.mapping["surname"] == "Surname"
    assert operator_client.get(f"/lodgings/{lodging.id}/import/{job.id}").location.endswith("/columns")
    operator_client.post(f"/lodgings/{lodging.id}/import/{job.id}/columns", data={t: "" for t in TARGETS} | job.mapping)
    assert wait_for("checked").valid_rows == 12
    operator_client.post(f"/lodgings/{lodging.id}/import/{job.id}/import", data={"rows": "all"})
    assert wait_for("done").created_count == 12 and stay_count() == 12


def test_while_the_file_is_read_the_page_says_so_and_follows_by_itself(operator_client, lodging, operator):
    job = _job_in("reading", lodging, operator)
    page = operator_client.get(f"/lodgings/{lodging.id}/import/{job.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Reading the file…" in page and '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    fragment = operator_client.get(f"/lodgings/{lodging.id}/import/{job.id}", headers={"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' in fragment.get_data(as_text=True)
    assert operator_client.get(f"/lodgings/{lodging.id}/import/{job.id}/columns").status_code == 303  # nothing to map yet
    job.status, job.headers = "uploaded", ["Surname"]
    db.session.commit()
    columns = f"/lodgings/{lodging.id}/import/{job.id}/columns"
    assert operator_client.get(f"/lodgings/{lodging.id}/import/{job.id}").location == columns  # JavaScript off: the refresh lands there
    read = operator_client.get(f"/lodgings/{lodging.id}/import/{job.id}", headers={"HX-Request": "true"})
    assert read.status_code == 200 and read.headers["HX-Redirect"] == columns and "HX-Request" in read.headers["Vary"]


def test_a_queue_that_cannot_be_reached_fails_the_job_with_a_message(app, operator_client, operator, lodging, monkeypatch):
    from serasi_web.jobs import get_huey

    speaks(operator, "en")
    app.config["IMPORT_RUN_INLINE"] = False

    def queue_down(*args, **kwargs):
        raise ConnectionError("the queue is down")

    monkeypatch.setattr(get_huey(app), "enqueue", queue_down)
    response = upload(operator_client, lodging, csv_file([guest(1)]))
    assert response.status_code == 303
    job = latest_job()
    assert job.status == "failed" and "background worker could not be reached" in job.failure


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_in_a_browser_the_progress_page_follows_the_job_by_itself(app, operator, lodging, tmp_path, monkeypatch, javascript, huey_worker):
    from .browser import chromium, live_server
    from .helpers import TEST_PASSWORD

    app.config.update(IMPORT_RUN_INLINE=False, IMPORT_PROGRESS_EVERY=10, IMPORT_BATCH_ROWS=10)
    slow_check, slow_row = service.check_row, service.RowWriter.local_problems
    # Slow enough (about 2 s per phase) that the page opens while the job still runs.
    monkeypatch.setattr(service, "check_row", lambda *args: (time.sleep(0.03), slow_check(*args))[1])
    monkeypatch.setattr(service.RowWriter, "local_problems", lambda *args, **kwargs: (time.sleep(0.03), slow_row(*args, **kwargs))[1])
    path = tmp_path / "tamu.csv"
    path.write_bytes(csv_file([guest(n) for n in range(1, 61)], headers=INDONESIAN, delimiter=";"))
    with live_server(app) as base_url, chromium() as browser:
        page = browser.new_context(java_script_enabled=javascript, extra_http_headers={"Accept-Language": "en"}).new_page()
        page.set_default_timeout(20_000)
        page.goto(base_url + "/login")
        page.fill("#email", operator.email)
        page.fill("#password", TEST_PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url("**/dashboard")
        page.goto(f"{base_url}/lodgings/{lodging.id}")
        page.click("text=Import from a spreadsheet")
        page.set_input_files("#file", str(path))
        page.click("main form button[type=submit]")
        page.wait_for_url("**/columns")
        assert page.input_value("#surname") == "Nama keluarga" and page.input_value("#check_in_at") == "Tanggal check-in"
        page.click("main form button[type=submit]")
        page.wait_for_selector("#import-progress")  # still checking: the page shows the bar
        page.wait_for_selector("button[name=rows][value=all]")  # no reload by us: htmx or the refresh brought it
        assert page.inner_text("#valid-rows") == "60"
        page.click("button[name=rows][value=all]")
        page.wait_for_selector("#created-count")
        assert page.inner_text("#created-count") == "60"
    job = latest_job()
    assert job.status == "done" and stay_count() == 60


# ---- safety --------------------------------------------------------------------------------

def test_the_upload_form_refuses_a_post_without_its_csrf_token(another_app, operator, lodging):
    strict = another_app(WTF_CSRF_ENABLED=True, IMPORT_RUN_INLINE=True)
    client = strict.test_client()
    login(client, operator.email)
    with strict.app_context():
        response = client.post(f"/lodgings/{lodging.id}/import", data={"file": (io.BytesIO(csv_file([guest(1)])), "g.csv")},
                               content_type="multipart/form-data", headers={"Accept-Language": "en"})
        assert response.status_code == 200 and "CSRF" in messages(response)
        assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_discarding_deletes_the_job_and_its_file(app, operator_client, lodging):
    upload(operator_client, lodging, csv_file([guest(1)]))
    job = latest_job()
    path = service.job_path(job)
    assert path.exists() and path.parent == imports_folder(app) and path.name == f"{job.id}.csv"
    response = operator_client.post(f"/lodgings/{lodging.id}/import/{job.id}/discard")
    assert response.status_code == 303 and not path.exists() and latest_job() is None


ROUTES = [
    ("get", "/lodgings/{lodging}/import"), ("post", "/lodgings/{lodging}/import"),
    ("get", "/lodgings/{lodging}/import/template.csv"), ("get", "/lodgings/{lodging}/import/template.xlsx"),
    ("get", "/lodgings/{lodging}/import/{job}/columns"), ("post", "/lodgings/{lodging}/import/{job}/columns"),
    ("get", "/lodgings/{lodging}/import/{job}"), ("post", "/lodgings/{lodging}/import/{job}/import"),
    ("post", "/lodgings/{lodging}/import/{job}/cancel"), ("post", "/lodgings/{lodging}/import/{job}/discard"),
    ("get", "/lodgings/{lodging}/import/{job}/problems.csv"),
]


@pytest.mark.parametrize("method, path", ROUTES)
def test_another_operators_lodging_or_job_answers_404(app, operator_client, lodging, method, path):
    stranger = make_user("stranger@example.com")
    their_lodging = make_lodging(stranger)
    their_job = _job_in("checked", their_lodging, stranger)
    urls = [path.format(lodging=their_lodging.id, job=their_job.id)]  # their lodging
    if "{job}" in path:
        urls.append(path.format(lodging=lodging.id, job=their_job.id))  # my lodging, their job
    for url in urls:
        response = getattr(operator_client, method)(url, data={"rows": "all"} if method == "post" else None)
        assert response.status_code == 404, url
    assert db.session.get(ImportJob, their_job.id).status == "checked"


@pytest.mark.parametrize("method, path", [route for route in ROUTES if "{job}" in route[1]])
def test_a_job_of_my_other_lodging_answers_404_under_this_lodging(app, operator_client, operator, lodging, method, path):
    other = make_lodging(operator, name="Villa Kamboja")
    job = _job_in("checked", other, operator)
    response = getattr(operator_client, method)(path.format(lodging=lodging.id, job=job.id))
    assert response.status_code == 404


def test_with_the_plugin_disabled_the_lodging_page_has_no_import_link(another_app, operator, lodging):
    plain = another_app(DISABLED_PLUGINS=["spreadsheet_import"])
    client = plain.test_client()
    login(client, operator.email)
    page = client.get(f"/lodgings/{lodging.id}")
    assert page.status_code == 200 and "/import" not in page.get_data(as_text=True)
    assert client.get(f"/lodgings/{lodging.id}/import").status_code == 404


def test_officers_cannot_open_the_import(officer_client, lodging):
    assert officer_client.get(f"/lodgings/{lodging.id}/import").status_code == 404


# ---- values --------------------------------------------------------------------------------

def test_dates_and_check_in_times_in_the_forms_spreadsheets_use(lodging):
    assert [date_text(v) for v in ("2026-01-05", "05/01/2026", "05-01-2026", "05.01.2026", "2026-01-05 00:00:00", 46027, "tomorrow")] == [
        "2026-01-05"] * 6 + ["tomorrow"]
    assert check_in_text("05/01/2026 14:30", lodging) == "2026-01-05T14:30:00"
    assert check_in_text(datetime(2026, 1, 5, 14, 30), lodging) == "2026-01-05T14:30:00"
    assert check_in_text("2026-01-05T06:30:00Z", lodging) == "2026-01-05T14:30:00"  # Bali is UTC+8
    assert check_in_text("2026-01-05", lodging) == "2026-01-05"  # no time: the form asks for it


def test_an_upload_deletes_the_files_of_old_jobs_and_of_jobs_that_are_gone(app, operator_client, lodging):
    """Guests' passport data is not kept longer than IMPORT_KEEP_DAYS, whatever the jobs' state."""
    from sqlalchemy import update

    from serasi_web.database import utcnow

    assert upload(operator_client, lodging, csv_file([guest(1)])).status_code == 303
    old = latest_job()
    assert upload(operator_client, lodging, csv_file([guest(2)])).status_code == 303
    recent = latest_job()
    orphan = service.job_path(recent).with_name("999999.csv")
    orphan.write_bytes(b"external_id\n")
    two_hours_ago = time.time() - 7200
    os.utime(orphan, (two_hours_ago, two_hours_ago))
    being_saved = service.job_path(recent).with_name("999998.csv")  # another upload whose job is not committed yet
    being_saved.write_bytes(b"external_id\n")
    db.session.execute(update(ImportJob).where(ImportJob.id == old.id).values(created_at=utcnow() - timedelta(days=8)))
    db.session.commit()
    assert upload(operator_client, lodging, csv_file([guest(3)])).status_code == 303
    assert not service.job_path(old).exists() and not orphan.exists()
    assert service.job_path(recent).exists() and service.job_path(latest_job()).exists() and being_saved.exists()


def test_the_problems_download_is_never_cached(operator_client, lodging):
    """It quotes guests' names and document numbers, like the console's exports."""
    job = check(operator_client, lodging, csv_file([guest(1, surname="", nationality="ZZZ")]))
    response = operator_client.get(f"/lodgings/{lodging.id}/import/{job.id}/problems.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"] == f"attachment; filename=import-{job.id}-problems.csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert len(rows) == 3 and [row[:2] for row in rows[1:]] == [["2", "Surname"], ["2", "Nationality"]]
