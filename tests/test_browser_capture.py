"""Capture in a real browser, JavaScript on and off: a photo of a QR or typed MRZ lines pre-fill
the report form; the operator sees which fields came from the document and confirms."""
import re

import pytest
from playwright.sync_api import expect

from serasi_web.extensions import db
from serasi_web.stays.models import Stay

from .browser import chromium, live_server, log_in
from .capture_samples import phone_photo, qr_photo, td3
from .helpers import make_lodging

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_photo_and_mrz_prefill_the_report(app, offices, operator, tmp_path, javascript):
    lodging = make_lodging(operator)
    photo = tmp_path / "sticker.jpg"
    photo.write_bytes(qr_photo("https://imigrasi.example/s?permit=ITK2026X77&entry_date=2026-11-20"))
    with live_server(app) as base_url, chromium() as browser:
        context = browser.new_context(java_script_enabled=javascript, locale="id")
        page = context.new_page()
        page.set_default_timeout(10_000)
        log_in(page, base_url, operator.email)

        page.goto(f"{base_url}/lodgings/{lodging.id}/stays/new")
        page.fill("#room", "12")  # typed before the capture: must survive it
        page.set_input_files("#photo", str(photo))
        if javascript:  # choosing the photo is enough: its button is hidden and pressed for the person
            expect(page.locator("button[value=capture_photo]")).to_be_hidden()
        else:
            page.click("button[value=capture_photo]")
        page.wait_for_selector("#permit_number-field.captured")
        assert page.input_value("#permit_number") == "ITK2026X77"
        assert page.input_value("#entry_stamp_qr").startswith("https://imigrasi.example/")
        assert page.input_value("#room") == "12"

        page.fill("#mrz_text", td3(surname="OKAFOR", given="CHIDI", number="A09876543", nationality="NGA", birth="851130"))
        page.click("button[value=capture_mrz]")
        page.wait_for_selector("#surname-field.captured")
        assert page.input_value("#surname") == "OKAFOR" and page.input_value("#document_number") == "A09876543"
        assert page.input_value("#date_of_birth") == "1985-11-30" and page.input_value("#nationality") == "NGA"
        assert page.input_value("#permit_number") == "ITK2026X77"  # the photo's fields stay

        # The operator checks, completes and submits.
        page.fill("#visa_index", "C1")
        page.select_option("#stay_permit", "itk")
        page.select_option("#purpose", "work")
        page.click("button[value=submit]")
        page.wait_for_url(re.compile(r"/stays/\d+$"))
        stay = db.session.execute(db.select(Stay).where(Stay.document_number == "A09876543")).scalar_one()
        assert stay.status == "reported" and stay.permit_number == "ITK2026X77" and stay.surname == "OKAFOR"
        context.close()


# What the page's progress said to a screen reader (the status's texts, in order), recorded from
# the start of every page: the capture is over too fast to be looked at while it runs.
RECORD_STATUS = """
window.__captureStatus = [];
new MutationObserver(function () {
  document.querySelectorAll("[data-capture-progress] [role=status]").forEach(function (status) {
    var seen = window.__captureStatus;
    if (status.textContent && seen[seen.length - 1] !== status.textContent) { seen.push(status.textContent); }
  });
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


class RequestSizes:
    """The body size of every POST the live server receives (the WSGI environ's CONTENT_LENGTH):
    what the browser really uploaded."""

    def __init__(self, app):
        self.app, self.wsgi_app, self.posts = app, app.wsgi_app, []

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] == "POST":
            self.posts.append((environ["PATH_INFO"], int(environ.get("CONTENT_LENGTH") or 0)))
        return self.wsgi_app(environ, start_response)

    def first_post(self, path_end: str) -> int:
        return next(size for path, size in self.posts if path.endswith(path_end))

    def __enter__(self):
        self.app.wsgi_app = self
        return self

    def __exit__(self, *exc):
        self.app.wsgi_app = self.wsgi_app


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_a_12_mp_photo_fills_a_submittable_report_in_three_taps(app, offices, operator, tmp_path, javascript):
    """From the dashboard's link (a boosted page with JavaScript on) to a submitted report: the
    photo (a passport's MRZ as a QR and the entry stamp's QR, 3 MB as a phone takes it) fills the
    form; with JavaScript it is scaled down in the browser and read without a second tap."""
    lodging = make_lodging(operator)
    photo = tmp_path / "IMG_0001.jpg"
    photo.write_bytes(phone_photo([td3(surname="NAKAMURA", given="AIKO", number="TK5551234", nationality="JPN", birth="900214", sex="F"),
                                   "https://imigrasi.example/s?permit=ITK2026Q12&entry_date=2026-11-20&visa_index=C1"]))
    assert photo.stat().st_size > 2_000_000
    with live_server(app) as base_url, chromium() as browser, RequestSizes(app) as sizes:
        context = browser.new_context(java_script_enabled=javascript, locale="id", viewport={"width": 360, "height": 740})
        context.add_init_script(RECORD_STATUS)
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in(page, base_url, operator.email)
        page.click(f"a[href$='/lodgings/{lodging.id}/stays/new']")
        page.wait_for_selector("#photo")
        page.fill("#room", "7")  # typed before the photo: it must survive the capture

        taps = 0
        page.set_input_files("#photo", str(photo))
        taps += 1
        if not javascript:
            page.click("button[value=capture_photo]")
            taps += 1
        page.wait_for_selector("#surname-field.captured")
        assert page.input_value("#surname") == "NAKAMURA" and page.input_value("#document_number") == "TK5551234"
        assert page.input_value("#date_of_birth") == "1990-02-14" and page.input_value("#permit_number") == "ITK2026Q12"
        assert page.input_value("#visa_index") == "C1" and page.input_value("#room") == "7"
        page.select_option("#purpose", "tourism")
        taps += 1
        page.click("button[value=submit]")
        taps += 1
        page.wait_for_url(re.compile(r"/stays/\d+$"))
        stay = db.session.execute(db.select(Stay).where(Stay.document_number == "TK5551234")).scalar_one()
        assert stay.status == "reported" and stay.surname == "NAKAMURA" and stay.room == "7" and stay.stay_permit

        capture_post = sizes.first_post("/stays/new")
        if javascript:
            assert taps == 3
            assert capture_post < 600_000, capture_post  # the whole form, the scaled photo included
            assert "Membaca foto…" in page.evaluate("window.__captureStatus")  # a boosted page: the same document
        else:
            assert taps == 4  # the button "Read the photo" is the second tap
            assert capture_post > photo.stat().st_size  # the original, whole
        context.close()


def test_the_progress_is_told_politely_while_the_photo_is_prepared_sent_and_read(app, offices, operator, tmp_path):
    lodging = make_lodging(operator)
    photo = tmp_path / "IMG_0002.jpg"
    photo.write_bytes(phone_photo(["https://imigrasi.example/s?permit=ITK2026R01&entry_date=2026-11-20"]))
    with live_server(app) as base_url, chromium() as browser:
        context = browser.new_context(locale="id")
        context.add_init_script(RECORD_STATUS)
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in(page, base_url, operator.email)
        page.goto(f"{base_url}/lodgings/{lodging.id}/stays/new")
        assert page.get_attribute("[data-capture-progress] [role=status]", "aria-live") is None  # role=status is polite already
        page.set_input_files("#photo", str(photo))
        page.wait_for_selector("#permit_number-field.captured")
        assert page.evaluate("window.__captureStatus") == ["Menyiapkan foto…", "Mengirim foto…", "Membaca foto…"]
        # The new form's progress is empty and hidden again, ready for another photo.
        assert page.text_content("[data-capture-progress] [role=status]") == ""
        expect(page.locator("[data-capture-progress] progress")).to_be_hidden()
        context.close()


def test_a_photo_the_browser_cannot_open_is_sent_as_it_is_and_the_server_says_why(app, offices, operator, tmp_path):
    """A HEIC (here: bytes no browser decodes) is not scaled: the original goes to the server,
    whose message comes back at the photo field with the typing kept."""
    lodging = make_lodging(operator)
    photo = tmp_path / "IMG_0003.heic"
    photo.write_bytes(b"\0\0\0\x18ftypheic" + b"\x01" * 700_000)
    with live_server(app) as base_url, chromium() as browser, RequestSizes(app) as sizes:
        context = browser.new_context(locale="id")
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in(page, base_url, operator.email)
        page.goto(f"{base_url}/lodgings/{lodging.id}/stays/new")
        page.fill("#room", "9")
        page.set_input_files("#photo", str(photo))
        page.wait_for_selector("#photo-error")
        assert "JPEG" in page.text_content("#photo-error") and page.input_value("#room") == "9"
        assert sizes.first_post("/stays/new") > 700_000
        context.close()


def test_a_failed_sending_shows_the_button_to_send_the_same_photo_again(app, offices, operator, tmp_path):
    lodging = make_lodging(operator)
    photo = tmp_path / "IMG_0004.jpg"
    photo.write_bytes(phone_photo(["https://imigrasi.example/s?permit=ITK2026S02&entry_date=2026-11-20"]))
    with live_server(app) as base_url, chromium() as browser:
        context = browser.new_context(locale="id")
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in(page, base_url, operator.email)
        page.goto(f"{base_url}/lodgings/{lodging.id}/stays/new")
        page.fill("#room", "4")
        context.set_offline(True)
        page.set_input_files("#photo", str(photo))
        expect(page.locator("button[value=capture_photo]")).to_be_visible()
        assert page.text_content("[data-capture-progress] [role=status]") == "" and page.input_value("#room") == "4"
        context.set_offline(False)
        page.click("button[value=capture_photo]")  # the scaled photo is still in the field
        page.wait_for_selector("#permit_number-field.captured")
        assert page.input_value("#permit_number") == "ITK2026S02" and page.input_value("#room") == "4"
        expect(page.locator("button[value=capture_photo]")).to_be_hidden()
        context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_a_photo_of_the_passport_data_page_fills_identity_and_document_at_360_px(app, offices, operator, tmp_path, javascript):
    """No QR at all: the MRZ of the data page is read by OCR (plugins/mrz_ocr.py), in the browser
    as it is used, with JavaScript (the photo scaled before sending, read on choosing it) and
    without (the original sent by the button)."""
    import os

    from bench.mrz_pages import OCR_B
    from plugins.mrz_ocr import engine_available

    from .helpers import skip_or_fail
    from .test_capture_mrz_ocr import page_photo, passport

    if not os.path.exists(OCR_B) or not engine_available("rapidocr"):
        skip_or_fail("the OCR-B font (fonts-ocr-b) or RapidOCR is missing: make system-deps and install")
    lodging = make_lodging(operator)
    photo = tmp_path / "paspor.jpg"
    photo.write_bytes(page_photo(passport()))
    with live_server(app) as base_url, chromium() as browser:
        context = browser.new_context(java_script_enabled=javascript, locale="id", viewport={"width": 360, "height": 740})
        page = context.new_page()
        page.set_default_timeout(20_000)
        log_in(page, base_url, operator.email)
        page.goto(f"{base_url}/lodgings/{lodging.id}/stays/new")
        page.fill("#room", "3")
        page.set_input_files("#photo", str(photo))
        if not javascript:
            page.click("button[value=capture_photo]")
        page.wait_for_selector("#surname-field.captured")
        for selector, value in (("#surname", "NGUYEN"), ("#given_names", "THI MAI"), ("#document_number", "X7439547"),
                                ("#date_of_birth", "1990-02-15"), ("#document_expiry", "2034-01-01"), ("#nationality", "VNM"),
                                ("#room", "3")):
            assert page.input_value(selector) == value, selector
        for name in ("given_names", "document_number", "date_of_birth", "nationality"):
            expect(page.locator(f"#{name}-field")).to_have_class(re.compile(r"\bcaptured\b"))
        expect(page.locator(".flash .warning")).to_contain_text("huruf demi huruf")  # names: compare them by eye
        assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing wider than the phone
        context.close()
