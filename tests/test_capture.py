"""Capture: a photo of a code or typed MRZ lines pre-fill the report; bad files get a clear message."""
import io
import os

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from serasi_web.capture.images import decode_photo
from serasi_web.capture.payloads import parse_payload
from serasi_web.extensions import db
from serasi_web.plugins import registry
from serasi_web.stays.models import Stay

from .capture_samples import interleaved_2_of_5, photo_bytes, png_header_only, qr_image, qr_photo, td3
from .helpers import guest_form, make_lodging, skip_or_fail

EN = {"Accept-Language": "en"}


@pytest.fixture
def lodging(app, operator, offices):
    return make_lodging(operator)


def capture(client, lodging, photo: bytes | None = None, filename="photo.jpg", mrz=None, **typed):
    data = guest_form(action="capture_photo" if mrz is None else "capture_mrz", **typed)
    if photo is not None:
        data["photo"] = FileStorage(io.BytesIO(photo), filename=filename, content_type="image/jpeg")
    if mrz is not None:
        data["mrz_text"] = mrz
    # Encoded in memory: Werkzeug's test client would spool a large body to a file it never closes.
    boundary, body = encode_multipart(MultiDict(data))
    return client.post(f"/lodgings/{lodging.id}/stays/new", data=body, content_type=f"multipart/form-data; boundary={boundary}", headers=EN)


def test_zxing_reads_a_qr_in_a_photo(app):
    found = decode_photo(qr_photo("ITK-2026-000123"), registry().decoders)
    assert found.texts == ["ITK-2026-000123"] and found.decoder == "zxing-cpp"


def test_every_code_in_one_photo_is_returned(app):
    page = Image.new("L", (1400, 700), 220)
    page.paste(qr_image("first code"), (80, 150))
    page.paste(qr_image("second code"), (800, 150))
    assert sorted(decode_photo(photo_bytes(page), registry().decoders).texts) == ["first code", "second code"]


def test_exif_rotation_is_applied_before_decoding(app):
    image = Image.new("L", (900, 1200), 220)
    image.paste(qr_image("rotated sticker"), (200, 300))
    stored = image.rotate(90, expand=True)  # the camera stores it sideways and says so in EXIF
    exif = Image.Exif()
    exif[0x0112] = 8
    found = decode_photo(photo_bytes(stored, exif=exif.tobytes()), registry().decoders)
    assert found.texts == ["rotated sticker"] and found.size == (900, 1200)


def test_large_jpeg_is_decoded_scaled_and_small_codes_get_a_full_size_retry(app):
    big = Image.new("L", (4000, 3000), 210)
    big.paste(qr_image("big photo", scale=12), (1500, 1000))
    found = decode_photo(photo_bytes(big, quality=85), registry().decoders)
    assert found.texts == ["big photo"] and not found.full_resolution and max(found.size) <= 2000
    tiny = Image.new("L", (4000, 3000), 210)
    tiny.paste(qr_image("tiny code", scale=1, border=2), (1800, 1400))  # 1 px per module: unreadable at half size
    found = decode_photo(photo_bytes(tiny, quality=95), registry().decoders)
    assert found.texts == ["tiny code"] and found.full_resolution


def test_zbar_decoder_works_when_the_library_is_present(app):
    decoder = next(d for d in registry().decoders if d.name == "zbar")
    if not decoder.available():
        skip_or_fail("libzbar0 is not installed (apt-get install libzbar0; make test does it as root)")
    assert decoder.decode(qr_image("zbar reads this")) == ["zbar reads this"]


def test_zbar_decoder_looks_for_qr_codes_only(app):
    # Its 1D readers found an "I25" in a noisy sticker photo's grain, a wrong text that stopped the pipeline.
    decoder = next(d for d in registry().decoders if d.name == "zbar")
    if not decoder.available():
        skip_or_fail("libzbar0 is not installed (apt-get install libzbar0; make test does it as root)")
    from pyzbar import pyzbar

    bars = interleaved_2_of_5("61094012")
    assert [symbol.data for symbol in pyzbar.decode(bars)] == [b"61094012"]  # zbar itself reads these bars
    assert decoder.decode(bars) == []


def test_a_disabled_decoder_plugin_is_not_used_and_zbar_takes_over(another_app):
    app = another_app(DISABLED_PLUGINS=["zxing_decoder", "mrz_ocr"])
    with app.app_context():
        names = [d.name for d in registry().decoders]
        assert names == ["zbar"]
        if not registry().decoders[0].available():
            skip_or_fail("libzbar0 is not installed")
        assert decode_photo(qr_photo("fallback"), registry().decoders).texts == ["fallback"]


def test_labelled_payload_fills_only_what_is_labelled(app):
    parsed = parse_payload("https://imigrasi.example/verify?passport=x 1234567&permit=2C21JD1234&valid_until=2027-01-31&foo=bar",
                           registry().payload_parsers)
    assert parsed.kind == "labelled"
    assert parsed.values["document_number"] == "X1234567" and parsed.values["permit_number"] == "2C21JD1234"
    assert parsed.values["permit_valid_until"].isoformat() == "2027-01-31"
    assert "surname" not in parsed.values and parsed.values["entry_stamp_qr"].startswith("https://")
    parsed = parse_payload("NAMA_KELUARGA=Smith;NO_PASPOR=PA1234567;TGL_MASUK=03-11-2026", registry().payload_parsers)
    assert parsed.values["surname"] == "Smith" and parsed.values["entry_date"].isoformat() == "2026-11-03"


def test_unknown_payload_is_kept_opaque(app):
    parsed = parse_payload("A1B2C3|ZXY|0099887766", registry().payload_parsers)
    assert parsed.kind == "opaque" and parsed.values == {"entry_stamp_qr": "A1B2C3|ZXY|0099887766"}


def test_photo_of_an_entry_stamp_prefills_the_form_and_marks_the_fields(operator_client, lodging):
    response = capture(operator_client, lodging, qr_photo("https://imigrasi.example/x?passport=PA7654321&permit=ITK123"),
                       surname="Typed Before")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="PA7654321"' in page and 'value="ITK123"' in page and "from the document" in page
    assert 'value="Typed Before"' in page  # what was typed stays
    assert db.session.query(Stay).count() == 0  # nothing is saved until the operator confirms


def test_typed_mrz_prefills_identity_and_document(operator_client, lodging):
    response = capture(operator_client, lodging, mrz=td3(surname="NGUYEN", given="THI<MAI", number="N12345678", nationality="VNM", birth="900215", sex="F"))
    page = response.get_data(as_text=True)
    for value in ('value="NGUYEN"', 'value="THI MAI"', 'value="N12345678"', 'value="1990-02-15"'):
        assert value in page
    assert 'selected value="VNM"' in page or 'value="VNM" selected' in page


def test_mrz_confusions_are_corrected_only_where_the_check_digits_decide(operator_client, lodging):
    lines = td3(number="PA1234567", birth="800101").split("\n")
    # O for 0 in the birth date (digits only): corrected, and the check digit confirms it.
    page = capture(operator_client, lodging, mrz=lines[0] + "\n" + lines[1].replace("8001014", "8OO1O14", 1)).get_data(as_text=True)
    assert 'value="1980-01-01"' in page and "Corrected" in page
    # S for 5 in the document number: the check digit fails; the fix is offered, not applied.
    page = capture(operator_client, lodging, mrz=lines[0] + "\n" + lines[1].replace("PA1234567", "PA1234S67", 1)).get_data(as_text=True)
    assert "PA1234567?" in page and 'value="PA1234567"' not in page


@pytest.mark.parametrize("mrz, message", [
    (td3().replace("8001014", "8001015"), "date of birth"),  # wrong check digit
    (td3()[:-1], "44"),  # 43 characters on line 2
    ("hello world", "MRZ"),
])
def test_bad_mrz_gets_a_clear_message(operator_client, lodging, mrz, message):
    page = capture(operator_client, lodging, mrz=mrz, room="Kamar 7").get_data(as_text=True)
    assert message.lower() in page.lower() and 'value="Kamar 7"' in page


@pytest.mark.parametrize("photo, filename, message", [
    (b"", "empty.jpg", "The file is empty"),
    (b"this is a text file, not a photo", "notes.jpg", "not a JPEG, PNG or WEBP"),
    (qr_photo("cut")[:3000], "cut.jpg", "damaged or incomplete"),
    (png_header_only(20000, 20000), "huge.png", "too large"),
    (os.urandom(30 * 1024 * 1024), "big.jpg", "larger than 15 MB"),
    (photo_bytes(Image.new("L", (800, 600), 200)), "blank.jpg", "No code was found"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "IMG_0001.HEIC", "HEIC"),
    (photo_bytes(Image.new("RGB", (50, 50)), "GIF"), "old.gif", "not a JPEG, PNG or WEBP"),
])
def test_bad_uploads_get_a_clear_message_and_keep_the_typed_values(operator_client, lodging, photo, filename, message):
    response = capture(operator_client, lodging, photo, filename=filename, surname="Kept")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and message in page and 'value="Kept"' in page


def test_qr_holding_html_is_shown_escaped(operator_client, lodging):
    page = capture(operator_client, lodging, qr_photo("<script>alert(1)</script><b>x</b>")).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_qr_with_3_kb_of_text_is_kept_as_the_entry_stamp(operator_client, lodging):
    text = "X" * 3000
    page = capture(operator_client, lodging, qr_photo(text, canvas=(1600, 1600), at=(100, 100), scale=5)).get_data(as_text=True)
    assert text in page and "from the document" in page


def test_capture_works_for_a_group_guest_and_on_a_draft(operator_client, lodging):
    from .helpers import local_now

    group_url = operator_client.post(f"/lodgings/{lodging.id}/groups/new", data={"check_in_at": local_now(delta_hours=-1), "purpose": "family"}).location
    data = {"action": "capture_mrz", "mrz_text": td3(number="PB9999999")}
    page = operator_client.post(group_url + "/guests/new", data=data, headers=EN).get_data(as_text=True)
    assert 'value="PB9999999"' in page


def test_photos_are_not_kept_by_default(operator_client, lodging):
    from serasi_web.capture.models import CapturePhoto

    capture(operator_client, lodging, qr_photo("ITK-1"))
    assert db.session.query(CapturePhoto).count() == 0


def test_kept_photos_lose_their_exif_and_go_when_the_report_is_submitted(app, operator_client, lodging):
    from serasi_web.capture.models import CapturePhoto

    app.config["CAPTURE_KEEP_PHOTOS"] = True
    exif = Image.Exif()
    exif[0x0110] = "Phone X"  # camera model; GPS would sit beside it
    page = Image.new("L", (1200, 900), 215)
    page.paste(qr_image("ITK-2"), (300, 200))
    token = "form-token-with-a-photo-123456"
    capture(operator_client, lodging, photo_bytes(page, exif=exif.tobytes()), form_token=token)
    kept = db.session.query(CapturePhoto).one()
    assert kept.stay_id is None and not Image.open(io.BytesIO(kept.content)).getexif()
    response = operator_client.post(f"/lodgings/{lodging.id}/stays/new", data=guest_form(action="draft", form_token=token))
    stay_id = int(response.location.split("/")[-1])
    assert db.session.query(CapturePhoto).one().stay_id == stay_id
    page = operator_client.get(f"/stays/{stay_id}").get_data(as_text=True)
    photo_url = f"/stays/{stay_id}/photos/{kept.id}.jpg"
    assert photo_url in page
    with operator_client.get(photo_url) as photo:
        assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    operator_client.post(f"/stays/{stay_id}/submit")
    assert db.session.query(CapturePhoto).count() == 0


def test_photos_of_forms_never_saved_go_with_the_daily_job_even_after_keeping_is_switched_off(app, operator_client, lodging):
    from datetime import timedelta

    from sqlalchemy import update

    from serasi_web.capture.models import CapturePhoto
    from serasi_web.database import utcnow
    from serasi_web.jobs import get_huey

    app.config["CAPTURE_KEEP_PHOTOS"] = True
    capture(operator_client, lodging, photo_bytes(qr_image("ITK-3")), form_token="abandoned-form-token-0001")
    capture(operator_client, lodging, photo_bytes(qr_image("ITK-4")), form_token="submitted-later-token-0002")
    app.config["CAPTURE_KEEP_PHOTOS"] = False
    assert operator_client.post(f"/lodgings/{lodging.id}/stays/new",
                                data=guest_form(form_token="submitted-later-token-0002")).status_code == 303
    db.session.execute(update(CapturePhoto).values(created_at=utcnow() - timedelta(hours=25)))
    db.session.commit()
    assert get_huey(app).serasi_tasks["capture_photo_retention"].call_local() == 2
    assert db.session.query(CapturePhoto).count() == 0
