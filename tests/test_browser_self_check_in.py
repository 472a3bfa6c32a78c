"""Issue #18's "Done when", in a real browser: a guest scans the printed poster's QR (decoded here
from a screenshot), checks in a family of three in English on a narrow phone with a photo of a
passport, the operator approves with one tap and receives the receipts, and the guest's page
shows the verification links. (The offline case belongs to the browser-storage drafts' tests.)"""
import io
import random
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from serasi_web.extensions import db
from serasi_web.stays.models import Stay

from .browser import accessibility_problems, chromium, fill_guest, live_server, log_in

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def passport_photo() -> bytes:
    """A phone photo of a passport's data page with its MRZ in OCR-B (bench/mrz_pages.py)."""
    from bench.mrz_pages import plain_photo, render_page

    from .test_capture_mrz_ocr import passport

    return plain_photo(render_page(passport(), random.Random(2)), rotation=1.5)  # Thi Mai Nguyen, X7439547


def decode_qr(png: bytes) -> str:
    import zxingcpp
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert found, "no QR code in the poster's screenshot"
    return found[0].text


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_a_family_checks_itself_in_from_the_poster_and_the_operator_approves_with_one_tap(app, offices, operator, lodging, tmp_path,
                                                                                         javascript):
    import os

    from bench.mrz_pages import OCR_B

    from .helpers import skip_or_fail

    if not os.path.exists(OCR_B):
        skip_or_fail("the OCR-B font is missing (apt-get install fonts-ocr-b; make system-deps does it as root)")
    photo = tmp_path / "passport.jpg"
    photo.write_bytes(passport_photo())
    with live_server(app) as base_url, chromium() as browser:
        # The operator switches self check-in on and prints the poster.
        owner = browser.new_context(locale="en-US", java_script_enabled=javascript)
        desk = owner.new_page()
        desk.set_default_timeout(15_000)
        log_in(desk, base_url, operator.email)
        desk.goto(f"{base_url}/lodgings/{lodging.id}")
        desk.click(f"a[href='/lodgings/{lodging.id}/self-check-in']")
        desk.click("button[value=on]")
        desk.click("a:has-text('Poster A4')")
        desk.emulate_media(media="print")
        guest_url = decode_qr(desk.locator(".qr svg").screenshot())
        assert re.fullmatch(re.escape(base_url) + r"/c/[A-Z0-9]{10}", guest_url)
        desk.emulate_media(media="screen")

        # The guest, on a narrow phone, opens what the QR says.
        phone = browser.new_context(locale="en-US", viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
                                    java_script_enabled=javascript)
        guest = phone.new_page()
        guest.set_default_timeout(20_000)
        guest.goto(guest_url)
        expect(guest.locator("html")).to_have_attribute("lang", "en")
        guest.click(".language-choice button[value=zh]")
        expect(guest.locator("h1")).to_contain_text("办理入住")
        guest.click(".language-choice button[value=en]")
        expect(guest.locator("h1")).to_contain_text("Check in at")
        if javascript:
            assert accessibility_problems(guest) == []
        guest.check("#consent")
        guest.select_option("#purpose", "family")
        guest.click("button:has-text('Continue')")
        guest.wait_for_selector("#photo")

        # The mother: a photo of her passport fills the form; she adds the date of entry and visa.
        if javascript:
            assert accessibility_problems(guest) == []
        guest.set_input_files("#photo", str(photo))
        if not javascript:  # with JavaScript, choosing the photo sends it
            guest.click("button[value=capture_photo]")
        guest.wait_for_selector("#surname-field.captured", timeout=60_000)
        # Numbers and dates are proven by check digits; names are not, and the page asks to compare
        # them letter by letter (the phone's scaled photo may lose a letter): she checks her surname.
        assert guest.input_value("#document_number") == "X7439547" and guest.input_value("#date_of_birth") == "1990-02-15"
        assert guest.input_value("#nationality") == "VNM"
        expect(guest.locator("fieldset.capture")).to_contain_text("letter by letter")
        guest.fill("#surname", "NGUYEN")
        guest.select_option("#issuing_state", "VNM")
        guest.fill("#entry_date", (date.today() - timedelta(days=2)).isoformat())
        guest.fill("#visa_index", "C1")
        if javascript:  # the stay permit is suggested from the visa index, as on the operator's form
            guest.press("#visa_index", "Tab")
            expect(guest.locator("#stay_permit")).to_have_value("itk")
        else:
            guest.select_option("#stay_permit", "itk")
        guest.click("form#report-form .actions button[value=save]")
        expect(guest.locator("main")).to_contain_text("THI MAI NGUYEN")

        guest.click("a:has-text('Add another guest')")
        fill_guest(guest, "Nguyen", "Van An", "X7439548", birth="1987-02-15", nationality="VNM", javascript=javascript)
        if not javascript:
            guest.select_option("#stay_permit", "itk")
        if javascript:
            # The connection drops as the father's details are sent: the page says so, keeps
            # everything (also over a reload), and sends when the phone is back online.
            phone.set_offline(True)
            guest.click("form#report-form .actions button[value=save]")
            expect(guest.locator(".request-problem[role=alert]")).to_contain_text("You are offline")
            phone.set_offline(False)
            guest.reload()
            expect(guest.locator("#document_number")).to_have_value("X7439548")
            expect(guest.locator("#given_names")).to_have_value("Van An")
        guest.click("form#report-form .actions button[value=save]")
        guest.click("a:has-text('Add another guest')")
        child_birth = (date.today() - timedelta(days=365 * 7)).isoformat()
        fill_guest(guest, "Nguyen", "Minh", "X7439549", birth=child_birth, nationality="VNM", javascript=javascript)
        if not javascript:
            guest.select_option("#stay_permit", "itk")
        guest.select_option("#accompanying_stay_id", label="THI MAI NGUYEN")
        guest.click("form#report-form .actions button[value=save]")
        expect(guest.locator("main ul.rows li")).to_have_count(3)
        if javascript:
            assert guest.evaluate("document.documentElement.scrollWidth") <= 360  # nothing wider than the phone
            assert accessibility_problems(guest) == []
        guest.click("button:has-text('Send to the lodging')")
        expect(guest.locator("main")).to_contain_text("Your details reached")
        status_url = guest.url
        assert "NGUYEN" not in status_url.upper() and "X7439547" not in status_url
        assert db.session.scalar(select(db.func.count(Stay.id))) == 0  # nothing reported before approval

        # The operator sees the arrival on the dashboard and approves it with one tap.
        desk.goto(f"{base_url}/dashboard")
        desk.click("#section-arrivals a")
        assert desk.input_value("#g1-surname") == "NGUYEN"
        if javascript:
            assert accessibility_problems(desk) == []
        desk.click("form#arrival-review .actions button")
        expect(desk.locator("main")).to_contain_text("Approved")
        stays = db.session.execute(select(Stay).order_by(Stay.id)).scalars().all()
        assert len(stays) == 3 and all(stay.status == "reported" and stay.receipt_number for stay in stays)
        assert desk.locator("main a:has-text('STT-')").count() == 3
        desk.click("main a:has-text('STT-') >> nth=0")
        expect(desk.locator("body")).to_contain_text("STT-")

        # The guest's page now shows the receipts' verification links.
        guest.goto(status_url)
        links = guest.locator("ul.verify-links a")
        expect(links).to_have_count(3)
        links.first.click()
        expect(guest.locator("main")).to_contain_text(stays[0].receipt_number)
        owner.close()
        phone.close()
