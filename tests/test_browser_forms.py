"""Forms an owner can see in a real browser, JavaScript on and off: after a failed submit the
error summary takes the focus; error and "from the document" borders show on text fields; a
skip link and a visible focus ring for keyboard users."""
import pytest

from .browser import chromium, live_server, log_in
from .capture_samples import td3
from .helpers import make_lodging

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

ERROR_RED = "rgb(179, 38, 30)"  # --error
BRAND_GREEN = "rgb(11, 93, 75)"  # --brand


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_errors_are_seen_and_focused_and_captured_fields_are_marked(app, offices, operator, javascript):
    from playwright.sync_api import expect

    lodging = make_lodging(operator)
    with live_server(app) as base_url, chromium() as browser:
        context = browser.new_context(java_script_enabled=javascript, locale="id", viewport={"width": 360, "height": 740})
        page = context.new_page()
        page.set_default_timeout(10_000)

        # Keyboard users: the first Tab reaches the skip link, which shows, with a focus ring.
        page.goto(base_url + "/login")
        page.keyboard.press("Tab")
        skip = page.locator("a.skip-link")
        expect(skip).to_be_focused()
        expect(skip).to_be_in_viewport()
        expect(skip).to_have_css("outline-style", "solid")

        # A failed login: the summary has the focus, the fields have red borders.
        page.click("main form button[type=submit]")
        heading = page.locator(".error-summary h2")
        expect(heading).to_be_focused()
        expect(page.locator(".error-summary[role=alert] a[href='#email']")).to_be_visible()
        expect(page.locator("#email")).to_have_css("border-top-color", ERROR_RED)
        expect(page.locator("#email")).to_have_css("border-top-width", "2px")

        log_in(page, base_url, operator.email)
        page.goto(f"{base_url}/lodgings/{lodging.id}/stays/new")
        page.fill("#mrz_text", td3(surname="OKAFOR", given="CHIDI", number="A09876543", nationality="NGA", birth="851130"))
        page.click("button[value=capture_mrz]")
        expect(page.locator("#surname-field.captured")).to_be_visible()
        expect(page.locator("#surname")).to_have_css("border-top-color", BRAND_GREEN)

        # Submitting with the date rules broken: all at once, the summary focused and its link
        # takes the owner to the field.
        page.fill("#document_expiry", "2001-01-01")
        page.select_option("#purpose", "work")
        page.click("button[value=submit]")
        expect(heading).to_be_focused()
        expect(page.locator("#document_expiry")).to_have_css("border-top-color", ERROR_RED)
        page.click(".error-summary a[href='#document_expiry']")
        expect(page.locator("#document_expiry")).to_be_focused()
        context.close()
