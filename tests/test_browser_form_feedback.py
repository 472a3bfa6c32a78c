"""The report form on a phone, in a real browser: with JavaScript on, a submit while offline or
answered by an error says so in plain words next to the button and keeps what was typed, the
buttons are disabled while sending, and a link that answers an error page shows it; the parts
of the form fold once done; the entry-stamp QR is out of the typing path (JavaScript on and off).
The browser's requests are held or answered by Playwright's router, not our code."""
import re

import pytest
from playwright.sync_api import expect

from serasi_web.extensions import db
from serasi_web.stays.models import Stay

from .browser import chromium, fill_guest, live_server, log_in
from .helpers import make_lodging

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

PHONE = {"width": 360, "height": 740}
OFFLINE = {"id": "tidak tersambung ke internet", "en": "You are offline"}
UNAVAILABLE = {"id": "Layanan sedang tidak tersedia sebentar", "en": "The service is unavailable for a moment"}
SERVER_ERROR = {"id": "Terjadi kesalahan di server", "en": "Something went wrong on the server"}
TOO_LARGE = {"id": "Kiriman Anda terlalu besar", "en": "What you sent is too large"}


def open_report_form(browser, base_url, operator, lodging, language="id", javascript=True):
    context = browser.new_context(java_script_enabled=javascript, locale=language, viewport=PHONE,
                                  extra_http_headers={"Accept-Language": language})
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, base_url, operator.email)
    page.goto(f"{base_url}/lodgings/{lodging.id}/stays/new")
    return context, page


def fill_report(page, document):
    fill_guest(page, "Okafor", "Chidi", document, nationality="NGA")
    page.fill("#room", "7")
    page.select_option("#purpose", "tourism")


def expect_form_kept(page, document):
    expect(page.locator("#surname")).to_have_value("Okafor")
    expect(page.locator("#document_number")).to_have_value(document)
    expect(page.locator("#room")).to_have_value("7")
    expect(page.locator("#stay_permit")).to_have_value("itk")


@pytest.mark.parametrize("language", ["id", "en"])
def test_a_report_sent_offline_says_so_keeps_the_form_and_goes_through_once_back_online(app, offices, operator, language):
    lodging = make_lodging(operator)
    with live_server(app) as base_url, chromium() as browser:
        context, page = open_report_form(browser, base_url, operator, lodging, language)
        fill_report(page, "A1234567")
        context.set_offline(True)
        submit = page.locator("button[value=submit]")
        submit.click()
        problem = page.locator(".request-problem[role=alert]")
        expect(problem).to_contain_text(OFFLINE[language])
        expect(problem).to_be_in_viewport()
        expect_form_kept(page, "A1234567")
        expect(submit).to_be_enabled()
        expect(page.locator("#report-form")).not_to_have_attribute("aria-busy", "true")
        assert db.session.execute(db.select(Stay)).first() is None

        context.set_offline(False)
        submit.click()
        page.wait_for_url(re.compile(r"/stays/\d+$"))
        stay = db.session.execute(db.select(Stay)).scalar_one()
        assert stay.status == "reported" and stay.document_number == "A1234567" and stay.room == "7"
        context.close()


def test_error_answers_are_told_in_plain_words_and_the_buttons_wait_for_the_answer(app, offices, operator):
    lodging = make_lodging(operator)
    with live_server(app) as base_url, chromium() as browser:
        context, page = open_report_form(browser, base_url, operator, lodging)
        fill_report(page, "B7654321")
        held = []
        page.route(re.compile(r".*/stays/new$"), lambda route: held.append(route) if route.request.method == "POST" else route.continue_())

        submit = page.locator("button[value=submit]")
        submit.click()
        # While the request is out: every submit button disabled, the one pressed marked busy.
        expect(submit).to_be_disabled()
        expect(submit).to_have_attribute("aria-busy", "true")
        expect(page.locator("button[value=draft]:not(.default-button)")).to_be_disabled()
        expect(page.locator("#report-form")).to_have_attribute("aria-busy", "true")
        assert len(held) == 1 and held[0].request.post_data_buffer and b'name="action"\r\n\r\nsubmit' in held[0].request.post_data_buffer
        held[0].fulfill(status=503, content_type="text/html", body="<!doctype html><title>503</title><h1>Service Unavailable</h1>")
        problem = page.locator(".request-problem[role=alert]")
        expect(problem).to_contain_text(UNAVAILABLE["id"])
        expect(submit).to_be_enabled()
        expect(submit).not_to_have_attribute("aria-busy", "true")
        expect_form_kept(page, "B7654321")
        expect(page.locator("h1")).not_to_have_text("Service Unavailable")  # nothing swapped in

        page.unroute(re.compile(r".*/stays/new$"))
        page.route(re.compile(r".*/stays/new$"), lambda route: route.fulfill(status=500, body="Internal Server Error")
                   if route.request.method == "POST" else route.continue_())
        submit.click()
        expect(problem).to_contain_text(SERVER_ERROR["id"])
        expect(page.locator(".request-problem")).to_have_count(1)  # the new message replaces the old one
        expect_form_kept(page, "B7654321")

        page.unroute(re.compile(r".*/stays/new$"))
        submit.click()
        page.wait_for_url(re.compile(r"/stays/\d+$"))
        assert db.session.execute(db.select(Stay)).scalar_one().document_number == "B7654321"
        context.close()


def test_a_photo_too_large_for_the_server_is_told_at_the_photo_and_the_typing_kept(app, offices, operator, tmp_path):
    app.config["CAPTURE_REQUEST_LIMIT"] = 200_000  # the server's real 413, with a small photo
    lodging = make_lodging(operator)
    photo = tmp_path / "huge.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 600_000)
    with live_server(app) as base_url, chromium() as browser:
        context, page = open_report_form(browser, base_url, operator, lodging, "en")
        page.fill("#surname", "Okafor")
        page.fill("#room", "7")
        with page.expect_response(lambda response: response.request.method == "POST") as answer:
            page.set_input_files("#photo", str(photo))  # choosing it sends it (capture.js); not an image: sent as it is
        assert answer.value.status == 413
        problem = page.locator("#photo").locator("xpath=ancestor::fieldset[1]").locator(".request-problem[role=alert]")
        expect(problem).to_contain_text(TOO_LARGE["en"])
        expect(page.locator("#surname")).to_have_value("Okafor")
        expect(page.locator("#room")).to_have_value("7")
        expect(page.locator("button[value=capture_photo]")).to_be_visible()  # shown again: resending is one tap
        expect(page.locator("button[value=capture_photo]")).to_be_enabled()
        context.close()


def test_a_link_that_answers_an_error_shows_the_error_page(app, offices, operator):
    lodging = make_lodging(operator)
    with live_server(app) as base_url, chromium() as browser:
        context, page = open_report_form(browser, base_url, operator, lodging)
        # The browser's request for the guest list goes to a page that does not exist: our 404.
        page.route(re.compile(r".*/stays$"), lambda route: route.continue_(url=base_url + "/no-such-page"))
        with page.expect_response(lambda response: response.status == 404):
            page.locator("header nav a", has_text="Tamu").click()
        expect(page.locator("main h1")).to_have_text("Tidak ditemukan")
        expect(page.locator(".request-problem")).to_have_count(0)
        context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_the_report_form_folds_its_parts_once_done_and_keeps_the_qr_out_of_the_typing_path(app, offices, operator, javascript):
    lodging = make_lodging(operator)
    with live_server(app) as base_url, chromium() as browser:
        context, page = open_report_form(browser, base_url, operator, lodging, "en", javascript)
        sections = page.locator("details.form-section")
        expect(sections).to_have_count(4)
        for index in range(4):
            expect(sections.nth(index)).to_have_attribute("open", "")
        # The entry-stamp QR is filled only by capture: no box to tab into.
        expect(page.locator("#entry_stamp_qr")).to_have_attribute("type", "hidden")
        expect(page.locator("textarea, input:not([type=hidden])").and_(page.locator("[name=entry_stamp_qr]"))).to_have_count(0)
        # Plain words for the jargon, with hints.
        expect(page.locator("label[for=port_of_entry]")).to_have_text("Place of entry (TPI)")
        expect(page.locator("#port_of_entry-hint")).to_contain_text("airport, seaport or land border post")
        expect(page.locator("#visa_index-hint")).to_contain_text("visa on arrival")

        guest = page.locator("#guest-section")
        page.fill("#surname", "Okafor")
        page.fill("#document_number", "C1234567")  # moved on with the guest part incomplete: it stays open
        expect(guest).to_have_attribute("open", "")
        fill_guest(page, "Okafor", "Chidi", "C1234567", nationality="NGA", javascript=javascript)
        if javascript:
            # Moving on folded each finished part, with a summary of it in its heading.
            expect(guest).not_to_have_attribute("open", "")
            expect(guest.locator(".section-summary")).to_contain_text("Okafor · Chidi")
            expect(guest.locator(".section-summary")).to_be_visible()
            expect(page.locator("#document-section")).not_to_have_attribute("open", "")
            guest.locator("summary").click()  # opened again with one tap
            expect(page.locator("#surname")).to_be_visible()
        else:
            expect(guest).to_have_attribute("open", "")
        page.fill("#room", "7")
        page.select_option("#purpose", "tourism")
        if not javascript:
            page.select_option("#stay_permit", "itk")
        page.click("button[value=submit]")
        page.wait_for_url(re.compile(r"/stays/\d+$"))
        assert db.session.execute(db.select(Stay)).scalar_one().status == "reported"
        context.close()


def test_a_part_with_an_error_stays_open(app, offices, operator):
    lodging = make_lodging(operator)
    with live_server(app) as base_url, chromium() as browser:
        context, page = open_report_form(browser, base_url, operator, lodging, "en")
        fill_guest(page, "Okafor", "Chidi", "D1234567", birth="2999-01-01", nationality="NGA")
        page.select_option("#purpose", "tourism")
        page.click("button[value=submit]")
        expect(page.locator("#date_of_birth-field.has-error")).to_be_visible()
        page.focus("#surname")
        page.focus("#document_number")
        expect(page.locator("#guest-section")).to_have_attribute("open", "")
        context.close()
