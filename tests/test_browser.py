"""The newcomer's story in a real browser: sign up, log in (the e-mail address still unconfirmed),
register a lodging in Badung / Kuta Selatan, see it land with Kanim Ngurah Rai. With JavaScript on (htmx) and off, in both languages."""
import re

import pytest
from playwright.sync_api import expect

from .browser import chromium, live_server

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

TEXT = {
    "id": {"save": "Simpan", "logout": "Keluar", "login": "Masuk", "waiting": "Menunggu verifikasi"},
    "en": {"save": "Save", "logout": "Log out", "login": "Log in", "waiting": "Waiting for verification"},
}


HTMX_BUSY = ".htmx-request, .htmx-swapping, .htmx-settling"  # none left: htmx is idle


def choose_region(page, field: str, value: str, javascript: bool):
    if javascript:
        # The select just swapped in must be settled (htmx has bound it) before it is changed,
        # or the change goes out with no request: a race the test lost now and then.
        expect(page.locator(HTMX_BUSY)).to_have_count(0)
    page.select_option(f"#{field}", value)
    if not javascript:
        page.click("button[value=refresh_regions]")
        page.wait_for_load_state()


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
@pytest.mark.parametrize("language", ["id", "en"])
def test_sign_up_log_in_and_register_a_lodging(app, offices, javascript, language):
    words = TEXT[language]
    with live_server(app) as base_url, chromium() as browser:
        context = browser.new_context(java_script_enabled=javascript, locale=language,
                                      extra_http_headers={"Accept-Language": language})
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(base_url + "/signup")
        assert page.locator("html").get_attribute("lang") == language

        page.check("input[name=account_kind][value=lodging_business]")
        page.fill("#full_name", "Wayan Pemilik")
        page.fill("#email", f"wayan.{language}.{javascript}@example.com")
        page.fill("#password", "kos melati jimbaran 2026")
        page.fill("#password_again", "kos melati jimbaran 2026")
        page.click("form button[type=submit]")
        page.wait_for_url("**/signup/sent")  # "check your e-mail"; logging in does not wait for the link

        page.click(f"main a:has-text('{words['login']}')")
        page.wait_for_url("**/login")
        page.fill("#email", f"wayan.{language}.{javascript}@example.com")
        page.fill("#password", "kos melati jimbaran 2026")
        page.click(f"main form button:has-text('{words['login']}')")
        page.wait_for_url("**/dashboard")

        page.goto(base_url + "/lodgings/new")
        page.fill("#name", "Kos Melati Jimbaran")
        page.select_option("#lodging_type", "boarding_house")
        page.fill("#street_address", "Jl. Uluwatu No. 12")
        choose_region(page, "province_code", "51", javascript)
        page.wait_for_selector('#regency_code option[value="51.03"]', state="attached")
        choose_region(page, "regency_code", "51.03", javascript)
        page.wait_for_selector('#district_code option[value="51.03.05"]', state="attached")
        choose_region(page, "district_code", "51.03.05", javascript)
        page.wait_for_selector('#village_code option[value="51.03.05.1006"]', state="attached")
        choose_region(page, "village_code", "51.03.05.1006", javascript)
        expect(page.locator("#postal_code")).to_have_value("80362")  # locators, not JS strings: the CSP forbids eval
        assert page.input_value("#postal_code") == "80362"  # suggested from the village
        assert page.input_value("#name") == "Kos Melati Jimbaran"  # nothing typed was lost
        page.fill("#nib", "9120001234567")
        page.fill("#room_count", "12")
        page.fill("#person_in_charge", "Wayan Pemilik")
        page.fill("#phone", "0812 3456 7890")
        page.click(f"button:has-text('{words['save']}')")
        page.wait_for_url(re.compile(r"/lodgings/\d+$"))

        body = page.inner_text("main")
        assert "Kanim Ngurah Rai" in body and words["waiting"] in body
        context.close()
