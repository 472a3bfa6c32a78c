"""Reports that survive a lost connection, in a real browser (issue #18, item 5). With JavaScript
on, what is typed into a report form is kept in the browser's storage: a reload puts it back (with
a note and a way to discard it), a submit while offline keeps it and goes through once back
online, and nothing stays once the server has the report, after logging out, or for another user
of the same browser. Without JavaScript the form submits as always. What is stored is read from
Playwright's view of the browser's storage, not through our script."""
import json
import re

import pytest
from playwright.sync_api import expect

from serasi_web.extensions import db
from serasi_web.stays.models import Stay

from .browser import chromium, fill_guest, live_server, log_in, log_out
from .helpers import make_lodging

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

PHONE = {"width": 360, "height": 740}
RESTORED = {"id": "Ketikan Anda sebelumnya di perangkat ini dipulihkan", "en": "Restored what you typed earlier on this device"}
DISCARD = {"id": "Buang", "en": "Discard"}
OFFLINE = {"id": "tidak tersambung ke internet", "en": "You are offline"}


def open_report_form(browser, base_url, user, lodging, language="id", javascript=True, context=None):
    context = context or browser.new_context(java_script_enabled=javascript, locale=language, viewport=PHONE,
                                             extra_http_headers={"Accept-Language": language})
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, base_url, user.email)
    page.goto(f"{base_url}/lodgings/{lodging.id}/stays/new")
    return context, page


def fill_report(page, document, javascript=True):
    fill_guest(page, "Okafor", "Chidi", document, nationality="NGA", javascript=javascript)
    page.fill("#room", "7")
    page.select_option("#purpose", "tourism")
    page.fill("#notes", "Arrived by the night ferry")


def expect_form_kept(page, document):
    expect(page.locator("#surname")).to_have_value("Okafor")
    expect(page.locator("input[name=sex][value=F]")).to_be_checked()
    expect(page.locator("#nationality")).to_have_value("NGA")
    expect(page.locator("#document_number")).to_have_value(document)
    expect(page.locator("#stay_permit")).to_have_value("itk")
    expect(page.locator("#room")).to_have_value("7")
    expect(page.locator("#purpose")).to_have_value("tourism")
    expect(page.locator("#notes")).to_have_value("Arrived by the night ferry")


def stored_drafts(context) -> dict[str, dict]:
    """The drafts in the browser's localStorage (every origin), by storage key."""
    return {item["name"]: json.loads(item["value"]) for origin in context.storage_state()["origins"]
            for item in origin["localStorage"] if item["name"].startswith("serasi-draft:")}


def saved_drafts(page, context) -> dict[str, dict]:
    """The drafts once saved (form-drafts.js is fetched on the first thing typed)."""
    for _ in range(50):
        if stored_drafts(context):
            break
        page.wait_for_timeout(100)
    return stored_drafts(context)


def expect_no_drafts(page, context):
    """No draft left once the page shown after the submit is in (htmx swaps it in and deletes the
    drafts it names as it changes the address; a page the browser loads itself takes a moment)."""
    for _ in range(50):
        if not stored_drafts(context):
            return
        page.wait_for_timeout(100)
    assert stored_drafts(context) == {}


def all_storage_text(context) -> str:
    return json.dumps(context.storage_state()["origins"])


@pytest.mark.parametrize("language", ["id", "en"])
def test_a_report_typed_comes_back_after_a_reload_and_can_be_discarded(app, offices, operator, language):
    lodging = make_lodging(operator)
    with live_server(app) as base_url, chromium() as browser:
        context, page = open_report_form(browser, base_url, operator, lodging, language)
        expect(page.locator("#report-form .draft-note")).to_be_hidden()
        # Shown and untouched: nothing stored, and the drafts' script not even fetched.
        fetched = []
        page.on("request", lambda request: fetched.append(request.url))
        page.wait_for_timeout(300)
        assert stored_drafts(context) == {} and not any("form-drafts.js" in url for url in fetched)
        fill_report(page, "A1234567")
        assert sum("form-drafts.js" in url for url in fetched) == 1
        (draft,) = saved_drafts(page, context).values()
        assert draft["fields"]["surname"] == ["Okafor"] and draft["fields"]["stay_permit"] == ["itk"]
        # Never kept: the photo input, hidden fields (the CSRF token, the form token), buttons.
        assert not {"photo", "csrf_token", "form_token", "keep_draft", "action"} & set(draft["fields"])

        page.reload()
        expect_form_kept(page, "A1234567")
        note = page.locator("#report-form .draft-note")
        expect(note).to_contain_text(RESTORED[language])
        expect(note).to_be_visible()
        assert page.locator("#report-form .draft-note + .actions button[value=submit]").count() == 1  # just above
        # One draft, under the token of the page shown now (never one token for two tabs).
        token = page.locator("input[name=form_token]").input_value()
        assert [name.rsplit(":", 1)[1] for name in stored_drafts(context)] == [token]

        note.get_by_role("button", name=DISCARD[language]).click()
        expect(page.locator("#surname")).to_have_value("")
        expect(page.locator("#notes")).to_have_value("")
        expect(note).to_be_hidden()
        assert stored_drafts(context) == {}
        page.reload()
        expect(page.locator("#surname")).to_have_value("")
        expect(page.locator(".draft-note")).to_be_hidden()
        context.close()


def test_a_report_sent_offline_keeps_everything_and_once_reported_nothing_stays_in_the_browser(app, offices, operator):
    lodging = make_lodging(operator)
    with live_server(app) as base_url, chromium() as browser:
        context, page = open_report_form(browser, base_url, operator, lodging, "en")
        fill_report(page, "B7654321")
        page.reload()  # a reload halfway
        expect_form_kept(page, "B7654321")

        context.set_offline(True)
        submit = page.locator("button[value=submit]")
        submit.click()
        expect(page.locator(".request-problem[role=alert]")).to_contain_text(OFFLINE["en"])
        expect_form_kept(page, "B7654321")
        assert [draft["fields"]["document_number"] for draft in stored_drafts(context).values()] == [["B7654321"]]
        assert db.session.execute(db.select(Stay)).first() is None

        context.set_offline(False)
        submit.click()
        page.wait_for_url(re.compile(r"/stays/\d+$"))
        stay = db.session.execute(db.select(Stay)).scalar_one()
        assert stay.status == "reported" and stay.document_number == "B7654321" and stay.notes == "Arrived by the night ferry"
        expect_no_drafts(page, context)
        assert "Okafor" not in all_storage_text(context)

        # The next report starts empty.
        page.goto(f"{base_url}/lodgings/{lodging.id}/stays/new")
        expect(page.locator("#surname")).to_have_value("")
        expect(page.locator(".draft-note")).to_be_hidden()
        context.close()


def test_a_report_accepted_and_left_at_once_is_not_put_back_into_the_next_form(app, offices, operator):
    """htmx shows the new address as it swaps the page in, and settles the page 20 ms later (a
    timer): a person (or a test) leaving in between must not find the accepted guest in the next
    form. The browser's timers are held from the submit on, so "in between" lasts as long as needed."""
    lodging = make_lodging(operator)
    with live_server(app) as base_url, chromium() as browser:
        context = browser.new_context(locale="en", viewport=PHONE, extra_http_headers={"Accept-Language": "en"})
        context.clock.install()
        context, page = open_report_form(browser, base_url, operator, lodging, "en", context=context)
        fill_report(page, "C2345678")
        assert saved_drafts(page, context)
        page.clock.pause_at(page.evaluate("Date.now()") + 1000)
        page.click("button[value=submit]")
        page.wait_for_url(re.compile(r"/stays/\d+$"))
        assert db.session.execute(db.select(Stay.document_number)).scalar_one() == "C2345678"
        assert stored_drafts(context) == {}
        page.clock.resume()
        page.goto(f"{base_url}/lodgings/{lodging.id}/stays/new")
        page.wait_for_timeout(500)  # a draft left would be put back by now (form-drafts.js, fetched)
        expect(page.locator("#surname")).to_have_value("")
        expect(page.locator(".draft-note")).to_be_hidden()
        context.close()


def test_a_form_refused_by_the_server_keeps_its_draft_and_a_correction_is_kept_too(app, offices, operator):
    lodging = make_lodging(operator)
    with live_server(app) as base_url, chromium() as browser:
        context, page = open_report_form(browser, base_url, operator, lodging, "en")
        fill_report(page, "C1111111")
        page.fill("#planned_check_out", "2001-01-01")  # before the check-in: the server answers with the form
        page.click("button[value=submit]")
        expect(page.locator(".error-summary")).to_be_visible()
        page.reload()
        expect(page.locator("#planned_check_out")).to_have_value("2001-01-01")
        expect(page.locator("#surname")).to_have_value("Okafor")
        page.fill("#planned_check_out", "")
        page.click("button[value=submit]")
        page.wait_for_url(re.compile(r"/stays/\d+$"))
        expect_no_drafts(page, context)

        # A correction typed, the page reloaded: the reason and the change are back.
        page.goto(page.url + "/correct")
        page.fill("#room", "12")
        page.fill("#reason", "Moved to a quieter room")
        page.reload()
        expect(page.locator("#room")).to_have_value("12")
        expect(page.locator("#reason")).to_have_value("Moved to a quieter room")
        expect(page.locator(".draft-note")).to_be_visible()
        page.locator("main form button[type=submit]").last.click()
        page.wait_for_url(re.compile(r"/stays/\d+$"))
        assert db.session.execute(db.select(Stay)).scalar_one().room == "12"
        expect_no_drafts(page, context)
        context.close()


@pytest.mark.parametrize("clearing", ["header-and-script", "script-alone"])
def test_logging_out_leaves_no_draft_in_the_browser(app, offices, operator, clearing):
    lodging = make_lodging(operator)
    with live_server(app) as base_url, chromium() as browser:
        context, page = open_report_form(browser, base_url, operator, lodging, "en")
        fill_report(page, "D2222222")
        assert saved_drafts(page, context)
        if clearing == "script-alone":
            # A browser that ignores Clear-Site-Data (plain HTTP on another host): the script clears.
            def without_header(route):
                response = route.fetch(max_redirects=0)
                headers = {k: v for k, v in response.headers.items() if k.lower() != "clear-site-data"}
                route.fulfill(response=response, headers=headers)
            page.route(re.compile(r".*/logout$"), without_header)
        log_out(page)
        page.wait_for_url(re.compile(r"/$"))
        expect(page.locator("header")).to_contain_text("Log in")
        expect_no_drafts(page, context)
        assert "Okafor" not in all_storage_text(context)
        context.close()


def test_a_second_user_of_the_same_browser_never_sees_the_first_users_draft(app, offices, operator, other_operator):
    lodging, other_lodging = make_lodging(operator), make_lodging(other_operator)
    with live_server(app) as base_url, chromium() as browser:
        context, page = open_report_form(browser, base_url, operator, lodging, "en")
        fill_report(page, "E3333333")
        assert saved_drafts(page, context)
        # The first user's session ends without logging out (a shared phone handed over).
        context.clear_cookies()
        page.close()
        _, page = open_report_form(browser, base_url, other_operator, other_lodging, "en", context=context)
        expect(page.locator("#surname")).to_have_value("")
        expect(page.locator(".draft-note")).to_be_hidden()
        # Their page deletes the first user's draft from the browser.
        assert "Okafor" not in all_storage_text(context)
        page.fill("#surname", "Tanaka")
        (draft,) = saved_drafts(page, context).values()
        assert draft["fields"]["surname"] == ["Tanaka"]
        context.close()


def test_with_javascript_off_the_form_submits_as_always(app, offices, operator):
    lodging = make_lodging(operator)
    with live_server(app) as base_url, chromium() as browser:
        context, page = open_report_form(browser, base_url, operator, lodging, "en", javascript=False)
        expect(page.locator("#report-form[data-keep-draft]")).to_have_count(1)
        fill_report(page, "F4444444", javascript=False)
        page.click("button[value=draft]:not(.default-button)")  # the server-side draft, as before
        page.wait_for_url(re.compile(r"/stays/\d+$"))
        stay = db.session.execute(db.select(Stay)).scalar_one()
        assert stay.status == "draft" and stay.surname == "Okafor"
        page.goto(f"{page.url}/edit")
        page.click("button[value=submit]")
        page.wait_for_url(re.compile(r"/stays/\d+$"))
        db.session.refresh(stay)
        assert stay.status == "reported"
        assert stored_drafts(context) == {}
        context.close()


def test_without_htmx_a_form_sent_offline_stays_and_once_sent_its_draft_goes(app, offices, operator):
    """htmx did not load (a bad line, a blocked file): the browser sends the form itself."""
    lodging = make_lodging(operator)
    with live_server(app) as base_url, chromium() as browser:
        context = browser.new_context(locale="en", viewport=PHONE, extra_http_headers={"Accept-Language": "en"})
        context.route(re.compile(r".*/static/htmx-[^/]*\.js.*"), lambda route: route.abort())
        context, page = open_report_form(browser, base_url, operator, lodging, "en", context=context)
        fill_report(page, "G5555555", javascript=False)
        assert saved_drafts(page, context)
        context.set_offline(True)
        page.click("button[value=submit]")
        expect(page.locator("#report-form .request-problem[role=alert]")).to_contain_text(OFFLINE["en"])
        expect(page.locator("#surname")).to_have_value("Okafor")
        context.set_offline(False)
        page.click("button[value=submit]")
        page.wait_for_url(re.compile(r"/stays/\d+$"))
        assert db.session.execute(db.select(Stay)).scalar_one().document_number == "G5555555"
        expect_no_drafts(page, context)
        context.close()


@pytest.mark.parametrize("hours", [23, 25])
def test_a_draft_over_a_day_old_is_deleted_not_put_back(app, offices, operator, hours):
    import time

    lodging = make_lodging(operator)
    with live_server(app) as base_url, chromium() as browser:
        context, page = open_report_form(browser, base_url, operator, lodging, "en")
        key = page.locator("#report-form").get_attribute("data-keep-draft")
        draft = {"saved": int((time.time() - hours * 3600) * 1000), "fields": {"surname": ["Earlier"]}}
        # Written through the DevTools protocol (the page's policy allows no script of ours).
        page.evaluate("([name, value]) => localStorage.setItem(name, value)", [f"serasi-draft:{key}:an-older-form", json.dumps(draft)])
        page.reload()
        if hours < 24:
            expect(page.locator("#surname")).to_have_value("Earlier")
            expect(page.locator(".draft-note")).to_be_visible()
        else:
            expect(page.locator("#surname")).to_have_value("")
            expect(page.locator(".draft-note")).to_be_hidden()
            assert stored_drafts(context) == {}
        context.close()


def test_a_form_with_a_bare_data_keep_draft_keeps_its_draft_too(app, offices, operator):
    """A form that carries only ``data-keep-draft`` (no key from the server: keyed by its path)."""
    lodging = make_lodging(operator)

    def bare(route):
        if route.request.method != "GET":
            return route.continue_()
        response = route.fetch()
        body = re.sub(r' data-keep-draft="[^"]*" data-draft-script="[^"]*"( data-draft-restore)?', " data-keep-draft", response.text())
        route.fulfill(response=response, body=body)

    with live_server(app) as base_url, chromium() as browser:
        context = browser.new_context(locale="en", viewport=PHONE, extra_http_headers={"Accept-Language": "en"})
        context.route(re.compile(r".*/stays/new$"), bare)
        context, page = open_report_form(browser, base_url, operator, lodging, "en", context=context)
        expect(page.locator("#report-form[data-keep-draft='']")).to_have_count(1)
        fill_report(page, "H6666666")
        assert saved_drafts(page, context)
        page.reload()
        expect_form_kept(page, "H6666666")
        expect(page.locator(".draft-note")).to_be_visible()
        page.click("button[value=submit]")
        page.wait_for_url(re.compile(r"/stays/\d+$"))
        assert db.session.execute(db.select(Stay)).scalar_one().document_number == "H6666666"
        expect_no_drafts(page, context)
        context.close()
