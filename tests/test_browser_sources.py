"""Issue #19's "Done when", in a real browser on a phone (360 px wide), in Indonesian: an operator
connects their lodging to Beds24 (JavaScript on) and to Cloudbeds (the form sent with JavaScript
off, a mistake first); the worker, running as ``flask serasi worker`` runs it, pulls each from its
fake server (tests/fake_pms.py) when saved and again on its schedule; the history page shows
each run's counts and explains the refused bookings; the stays are listed and shown with the
system that brought them. Then the example external plugin: its lodging type's label in
Indonesian on the lodging form, and its own page and table."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, text, update

from serasi_web.database import utcnow
from serasi_web.extensions import db
from serasi_web.integrations.models import SourceConnection, SourceRun
from serasi_web.stays.models import Stay

from .browser import chromium, live_server, log_in
from .fake_pms import API_KEY, BEDS24_PROPERTY_ID, CLOUDBEDS_PROPERTY_ID, REFRESH_TOKEN, booking, guest, identity, reservation, today
from .helpers import make_lodging, running_worker
from .test_language import english_phrases, problems_of

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
# The worker's scheduler queues the periodic jobs when it starts and every minute after: a
# connection made due waits at most a minute, two under a slow machine's load.
NEXT_MINUTE = 150
NOT_A_COUNTRY = "Pilih negara dari daftar."  # "Choose a country from the list."
SERVER_WORK = 15_000  # ms: what waits for an answer of the app under load
COLUMNS = ("new", "updated", "unchanged", "drafts", "refused", "voided")


def runs_shown(page, url: str, count: int, timeout: float) -> list[dict]:
    """Reload the history page as the operator would ("refresh this page in a moment") until it
    lists ``count`` runs; each run's counts, newest first."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        rows = page.locator("main table tbody tr")
        if rows.count() >= count or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert rows.count() == count, page.inner_text("main")
    shown = []
    for number in range(count):
        cells = rows.nth(number).locator("td").all_inner_texts()
        shown.append({**dict(zip(COLUMNS, map(int, cells[1:7]))), "problem": cells[7]})
    return shown


def refusals(page) -> list[str]:
    """The explanations under "Refused at the pull of ..." of the newest run."""
    return page.locator("main section").first.locator("li").all_inner_texts()


def english_on(page) -> list[str]:
    return problems_of({page.url: page.inner_text("body")}, english_phrases())


def fits_the_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]


def connect(page, base_url: str, lodging, source: str) -> None:
    """From the lodging's page to the chosen system's settings form, as the operator goes."""
    page.goto(f"{base_url}/lodgings/{lodging.id}")
    page.click(f"a[href='/lodgings/{lodging.id}/connections/']")
    page.click("main a:has-text('Hubungkan sistem')")
    page.select_option("#source", source)
    page.click("button:has-text('Tampilkan pengaturannya')")
    expect(page.locator("main form[method=post] input[name=source]")).to_have_value(source, timeout=SERVER_WORK)
    assert english_on(page) == [] and fits_the_phone(page)


def test_an_operator_connects_two_systems_and_the_worker_pulls_them_on_schedule(app, operator, lodging, beds24, cloudbeds):
    # Each system holds a complete booking or two (reported), one with a wrong value (refused
    # whatever the field rules for missing data are) and one without a stay permit, which neither
    # system has a place for as such (kept as a draft for the operator to finish).
    beds24.bookings = [
        booking(801),
        booking(805, firstName="Mia", lastName="Olsen", infoItems=identity(SERASI_DOCUMENT_NUMBER="PA8050000")),
        booking(802, lastName="Nobody", infoItems=identity(SERASI_NATIONALITY="ZZ", SERASI_DOCUMENT_NUMBER="PZ8020000")),
        booking(803, lastName="Permitless", infoItems=identity(SERASI_STAY_PERMIT="", SERASI_DOCUMENT_NUMBER="PD8030000")),
    ]
    cloudbeds.reservations = [
        reservation("R100", guest("9001")),
        reservation("R101", guest("9002", guestLastName="Fictive", guestDocumentIssuingCountry="ZZ", guestDocumentNumber="C09Z99Z99")),
        reservation("R102", guest("9003", guestLastName="Wagner", guestDocumentNumber="C05B44X81", customFields=[  # no stay permit
            {"customFieldName": "SERASI_ENTRY_DATE", "customFieldValue": (today() - timedelta(days=10)).isoformat()}])),
    ]
    with running_worker(app, periodic=True), live_server(app) as base_url, chromium() as browser:
        # Beds24, JavaScript on: the refresh token typed, the room map and the schedule chosen.
        context = browser.new_context(**PHONE, locale="id-ID")
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in(page, base_url, operator.email)
        connect(page, base_url, lodging, "beds24")
        assert page.locator("#setting_refresh_token").get_attribute("type") == "password"
        page.fill("#setting_refresh_token", REFRESH_TOKEN)
        page.fill("#setting_property_id", BEDS24_PROPERTY_ID)
        page.fill("#setting_room_map", "88=Villa Kamboja")
        page.select_option("#interval_minutes", "15")
        expect(page.locator("#enabled")).to_be_checked()
        page.click("main form[method=post] button[type=submit]")
        page.wait_for_url(f"**/lodgings/{lodging.id}/connections/")
        expect(page.locator("main")).to_contain_text("Beds24 (API V2) terhubung; penarikan data pertama berjalan sekarang.")
        assert REFRESH_TOKEN not in page.content()

        # Cloudbeds, JavaScript off: sent once without the API key (said at the field, the
        # property kept), then whole.
        plain = browser.new_context(**PHONE, locale="id-ID", java_script_enabled=False)
        form = plain.new_page()
        form.set_default_timeout(15_000)
        log_in(form, base_url, operator.email)
        connect(form, base_url, lodging, "cloudbeds")
        form.fill("#setting_property_id", CLOUDBEDS_PROPERTY_ID)
        form.select_option("#interval_minutes", "60")
        form.click("main form[method=post] button[type=submit]")
        expect(form.locator("#setting_api_key")).to_have_attribute("aria-invalid", "true", timeout=SERVER_WORK)
        expect(form.locator("#setting_property_id")).to_have_value(CLOUDBEDS_PROPERTY_ID)
        form.fill("#setting_api_key", API_KEY)
        form.click("main form[method=post] button[type=submit]")
        form.wait_for_url(f"**/lodgings/{lodging.id}/connections/")
        expect(form.locator("main")).to_contain_text("Cloudbeds terhubung")
        plain.close()

        connections = {c.source: c.id for c in db.session.execute(select(SourceConnection)).scalars()}
        history = {source: f"{base_url}/lodgings/{lodging.id}/connections/{connection_id}/runs"
                   for source, connection_id in connections.items()}

        # The first pulls, run by the worker at once: counts and each refusal explained.
        first = runs_shown(page, history["beds24"], 1, timeout=60)
        assert first == [{"new": 2, "updated": 0, "unchanged": 0, "drafts": 1, "refused": 1, "voided": 0, "problem": "—"}]
        assert refusals(page) == [f"Pemesanan 802 · Kewarganegaraan: {NOT_A_COUNTRY}"]
        assert english_on(page) == [] and fits_the_phone(page)
        first = runs_shown(page, history["cloudbeds"], 1, timeout=60)
        assert first == [{"new": 1, "updated": 0, "unchanged": 0, "drafts": 1, "refused": 1, "voided": 0, "problem": "—"}]
        assert refusals(page) and all(item.startswith("Pemesanan R101-9002 · ") for item in refusals(page))
        assert f"Pemesanan R101-9002 · Kewarganegaraan: {NOT_A_COUNTRY}" in refusals(page)
        assert english_on(page) == [] and fits_the_phone(page)
        assert any(request.path == "/v2/bookings" for request in beds24.server.requests)
        assert any(request.path.endswith("/getReservation") for request in cloudbeds.server.requests)

        # Meanwhile Beds24 changed a guest's name and took a new booking. The schedule's time
        # comes (the connections' next pull made due now, as 15 and 60 minutes would): the
        # worker's minute job pulls both without anyone pressing anything.
        beds24.bookings[0]["lastName"] = "Harper-Smith"
        beds24.bookings.append(booking(804, firstName="Noah", lastName="Lindqvist", infoItems=identity(SERASI_DOCUMENT_NUMBER="PA8040000")))
        db.session.execute(update(SourceConnection).values(next_run_at=utcnow()))
        db.session.commit()
        second = runs_shown(page, history["beds24"], 2, timeout=NEXT_MINUTE)
        assert second[0] == {"new": 1, "updated": 1, "unchanged": 1, "drafts": 1, "refused": 1, "voided": 0, "problem": "—"}
        assert refusals(page) == [f"Pemesanan 802 · Kewarganegaraan: {NOT_A_COUNTRY}"]
        second = runs_shown(page, history["cloudbeds"], 2, timeout=NEXT_MINUTE)
        assert second[0] == {"new": 0, "updated": 0, "unchanged": 1, "drafts": 1, "refused": 1, "voided": 0, "problem": "—"}
        db.session.expire_all()
        assert len(db.session.execute(select(SourceRun)).all()) == 4  # each pulled twice: nothing ran again unasked

        # The connections' list: both working, no secret shown.
        page.goto(f"{base_url}/lodgings/{lodging.id}/connections/")
        listing = page.inner_text("main")
        assert listing.count("berfungsi") == 2 and "setiap 15 menit" in listing and "setiap 1 jam" in listing
        assert REFRESH_TOKEN not in page.content() and API_KEY not in page.content()
        assert english_on(page) == []

        # The operator's list: each pulled stay marked with the system that brought it.
        page.goto(f"{base_url}/dashboard")
        for name, system in (("Harper-Smith", "Beds24 (API V2)"), ("Becker", "Cloudbeds"), ("Permitless", "Beds24 (API V2)"),
                             ("Wagner", "Cloudbeds"), ("Olsen", "Beds24 (API V2)"),
                             ("Lindqvist", "Beds24 (API V2)")):
            row = page.locator("main li", has_text=re.compile(name, re.IGNORECASE)).first
            expect(row).to_contain_text(f"dari {system}")
            if system.startswith("Beds24"):
                expect(row).to_contain_text("Kamar Villa Kamboja")  # room 88, named by the connection's room map
        assert "Nobody" not in page.inner_text("main") and "Fictive" not in page.inner_text("main")
        assert english_on(page) == [] and fits_the_phone(page)
        # The stay page names the system and its booking.
        page.locator("main li a", has_text=re.compile("Harper-Smith", re.IGNORECASE)).first.click()
        page.wait_for_url(re.compile(r"/stays/\d+$"))
        expect(page.locator("main")).to_contain_text("Dibawa masuk oleh")
        expect(page.locator("main")).to_contain_text("Beds24 (API V2) · ID-nya 801")
        assert english_on(page) == [] and fits_the_phone(page)
        context.close()

    stays = {stay.external_id: stay for stay in db.session.execute(select(Stay)).scalars()}
    assert {key: (stays[key].source, stays[key].status) for key in stays} == {
        "801": ("beds24", "reported"), "805": ("beds24", "reported"), "804": ("beds24", "reported"), "803": ("beds24", "draft"),
        "R100-9001": ("cloudbeds", "reported"), "R102-9003": ("cloudbeds", "draft")}
    assert stays["801"].room == "Villa Kamboja" and stays["801"].surname == "Harper-Smith"


def test_the_example_plugin_lodging_type_label_and_its_own_page_in_indonesian(app, operator, offices):
    """tests/plugin_example, installed by its entry point (tests/test_external_plugin.py checks
    it is and that it is not core code): on a phone, JavaScript on."""
    from .test_external_plugin import require_installed

    require_installed()
    site = make_lodging(operator, name="Glamping Kintamani", lodging_type="glamping", extra={"tent_count": 3})
    with live_server(app) as base_url, chromium() as browser:
        context = browser.new_context(**PHONE, locale="id-ID")
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in(page, base_url, operator.email)
        # The lodging form: the plugin's type, and its field's label from the plugin's catalogue.
        page.goto(f"{base_url}/lodgings/new")
        page.select_option("#lodging_type", "glamping")
        expect(page.locator("#type-fields label", has_text="Jumlah tenda")).to_be_visible(timeout=SERVER_WORK)
        assert "Number of tents" not in page.inner_text("main")
        assert english_on(page) == [] and fits_the_phone(page)

        # The plugin's own page, linked from the lodging's, its rows in its own table.
        page.goto(f"{base_url}/lodgings/{site.id}")
        page.click(f"a[href='/lodgings/{site.id}/tents']")
        page.wait_for_url(f"**/lodgings/{site.id}/tents")
        expect(page.locator("main h1")).to_contain_text("Tenda")
        expect(page.locator("main")).to_contain_text("Belum ada tenda.")
        page.fill("#name", "Tenda Bulan")
        page.fill("#beds", "2")
        page.click("main form button[type=submit]")
        expect(page.locator("main ul.rows")).to_contain_text("Tenda Bulan · 2 tempat tidur", timeout=SERVER_WORK)
        assert english_on(page) == [] and fits_the_phone(page)
        context.close()
    assert db.session.execute(text("SELECT name, beds FROM example_tent")).all() == [("Tenda Bulan", 2)]
