"""Capture in a real browser, JavaScript on and off: a photo of a QR or typed MRZ lines pre-fill
the report form; the operator sees which fields came from the document and confirms."""
import re

import pytest

from serasi_web.extensions import db
from serasi_web.stays.models import Stay

from .browser import chromium, live_server, log_in
from .capture_samples import qr_photo, td3
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
