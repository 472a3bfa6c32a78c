"""An operator's day in a real browser, JavaScript on and off, Indonesian and English: report a
guest, print the receipt, verify it from its QR link on another device (no login), correct the
report, report a family of three, check guests out, and see it on the dashboard."""
import re

import pytest

from serasi_web.extensions import db
from serasi_web.stays.models import Stay

from .browser import chromium, fill_guest, live_server, log_in
from .helpers import local_now, make_lodging

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
VALID = {"id": "Tanda terima sah", "en": "Valid receipt"}
RECEIVED_BY = {"id": "Diterima oleh Kanim Ngurah Rai.", "en": "Received by Kanim Ngurah Rai."}


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
@pytest.mark.parametrize("language", ["id", "en"])
def test_operator_day(app, offices, operator, javascript, language):
    lodging = make_lodging(operator)
    lodging.status = "verified"
    db.session.commit()
    with live_server(app) as base_url, chromium() as browser:
        context = browser.new_context(java_script_enabled=javascript, locale=language, extra_http_headers={"Accept-Language": language})
        page = context.new_page()
        page.set_default_timeout(10_000)
        log_in(page, base_url, operator.email)

        # One guest, submitted.
        page.goto(f"{base_url}/lodgings/{lodging.id}/stays/new")
        fill_guest(page, "Nguyễn", "Thị Mai", "n 1234 567", nationality="VNM", javascript=javascript)
        page.fill("#room", "4")
        page.select_option("#purpose", "tourism")
        page.click("button[value=submit]")
        page.wait_for_url(re.compile(r"/stays/\d+$"))
        stay_url = page.url
        stay = db.session.execute(db.select(Stay).where(Stay.document_number == "N1234567")).scalar_one()
        assert stay.status == "reported" and stay.stay_permit == "itk" and stay.surname == "Nguyễn"
        assert stay.receipt_number in page.inner_text("main")

        # The receipt, and its QR link opened on another device without a login.
        page.goto(stay_url + "/receipt")
        assert page.locator("svg").count() == 1
        assert page.locator("#print-receipt").is_visible() == javascript  # wired by receipt.js, not an inline handler
        assert page.locator("#print-hint").is_visible() != javascript  # without it: the browser's own print
        assert page.locator("body > header").count() == page.locator("body > main").count() == page.locator("body > footer").count() == 1
        assert RECEIVED_BY[language] in page.inner_text("main")
        # On a phone: the receipt number on one line and nothing wider than the screen.
        page.set_viewport_size({"width": 360, "height": 740})
        number = page.locator(".number .nowrap")
        assert number.inner_text() == stay.receipt_number and number.bounding_box()["height"] < 40
        assert all(page.locator(selector).bounding_box()["width"] <= 360 for selector in ("header", "main", "main table", "footer"))
        page.set_viewport_size({"width": 1280, "height": 800})
        verify_url = re.search(r"https?://\S+/verify/\S+", page.inner_text("body")).group(0)
        other_device = browser.new_context(java_script_enabled=javascript, extra_http_headers={"Accept-Language": language})
        public = other_device.new_page()
        public.goto(verify_url)
        text = public.inner_text("main")
        assert VALID[language] in text and "Nguy" not in text and "N1234567" not in text
        other_device.close()

        # A correction with a reason.
        page.goto(stay_url + "/correct")
        page.fill("#room", "5")
        page.fill("#reason", "Moved to room 5")
        page.click("main form button[type=submit]")
        page.wait_for_url(stay_url)
        assert "Moved to room 5" in page.inner_text("main")

        # A family of three: the stay once, then each guest; the child is linked to a parent.
        page.goto(f"{base_url}/lodgings/{lodging.id}/groups/new")
        page.fill("#name", "Smith")
        page.fill("#check_in_at", local_now(delta_hours=-1))
        page.fill("#room", "8")
        page.select_option("#purpose", "family")
        page.click("main form button[type=submit]")
        page.wait_for_url(re.compile(r"/groups/\d+$"))
        group_url = page.url
        for given, document, birth in (("John", "PA100001", "1980-01-01"), ("Jane", "PA100002", "1982-02-02"), ("Lily", "PA100003", "2017-03-03")):
            page.goto(group_url + "/guests/new")
            fill_guest(page, "Smith", given, document, birth=birth, javascript=javascript)
            if given == "Lily":
                john = db.session.execute(db.select(Stay).where(Stay.document_number == "PA100001")).scalar_one()
                page.select_option("#accompanying_stay_id", str(john.id))
            page.click("button[value=add]:not(.default-button)")
            page.wait_for_url(group_url)
        with page.expect_response(lambda response: response.url.endswith("/submit")):
            page.click("form[action$='/submit'] button")
        page.wait_for_load_state()
        db.session.expire_all()
        family = db.session.execute(db.select(Stay).where(Stay.surname == "Smith")).scalars().all()
        assert sorted(s.status for s in family) == ["reported"] * 3

        # Check out two guests at once, then the dashboard.
        page.goto(f"{base_url}/lodgings/{lodging.id}/check-out")
        page.check(f"input[name=stay_ids][value='{stay.id}']")
        page.check(f"input[name=stay_ids][value='{family[0].id}']")
        page.fill("#checked_out_at", local_now())
        page.click("main form button[type=submit]")
        page.wait_for_url(re.compile(r"/dashboard"))
        db.session.expire_all()
        assert db.session.get(Stay, stay.id).status == "checked_out"
        assert "Smith" in page.inner_text("#section-in_house")
        context.close()
