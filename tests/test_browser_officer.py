"""An officer of Kanim Ngurah Rai in a real browser, JavaScript on and off: verifies a lodging,
finds a guest by passport, follows them across two lodgings, sees an overstay, reads the charts,
exports a table, and cannot reach anything of Kanim Denpasar's area."""
import csv
import re
from datetime import datetime, timedelta, timezone

import pytest

from serasi_web.extensions import db
from serasi_web.lodgings.models import Lodging

from .browser import chromium, live_server, log_in
from .helpers import KUTA_SELATAN_JIMBARAN, local_now, login, make_lodging, make_officer_area, report_guest

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
TODAY_WIB = datetime.now(timezone(timedelta(hours=7))).date()


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_officer_day(app, offices, operator, officer, javascript):
    area = make_officer_area(operator)
    jimbaran, legian, sanur = area.jimbaran, area.legian, area.sanur
    waiting = make_lodging(operator, KUTA_SELATAN_JIMBARAN, name="Kos Baru Jimbaran")
    operator_client = app.test_client()
    login(operator_client, operator.email)
    report_guest(operator_client, jimbaran, check_in_at=local_now(delta_hours=-50), surname="Mover", given_names="Max",
                 document_number="MV1234567", nationality="AUS", issuing_state="AUS")
    report_guest(operator_client, legian, check_in_at=local_now(delta_hours=-3), surname="Mover", given_names="Max",
                 document_number="MV1234567", nationality="AUS", issuing_state="AUS")
    report_guest(operator_client, legian, surname="Overstayer", given_names="Olga", document_number="OV7654321",
                 nationality="RUS", issuing_state="RUS", visa_index="B1", stay_permit="voa",
                 permit_valid_until=(TODAY_WIB - timedelta(days=3)).isoformat())
    sanur_stay = report_guest(operator_client, sanur, surname="Dubois", given_names="Théo", document_number="FR7654321",
                              nationality="FRA", issuing_state="FRA")

    with live_server(app) as base_url, chromium() as browser:
        context = browser.new_context(java_script_enabled=javascript, accept_downloads=True,
                                      extra_http_headers={"Accept-Language": "en"})
        page = context.new_page()
        page.set_default_timeout(10_000)
        log_in(page, base_url, officer.email, re.compile(r"/officer/lodgings"))

        # Verify the lodging waiting in the queue.
        page.goto(base_url + "/officer/lodgings")
        page.click("text=Kos Baru Jimbaran")
        page.wait_for_url(re.compile(r"/officer/lodgings/\d+$"))
        page.click("form[action$='/verify'] button")
        page.wait_for_url(re.compile(r"/officer/lodgings$"))
        assert "Kos Baru Jimbaran is verified" in page.inner_text("main")
        assert db.session.get(Lodging, waiting.id).status == "verified"

        # Find the guest by passport, typed as it comes.
        page.goto(base_url + "/officer/stays")
        page.fill("#document_number", "mv 123 4567")
        page.click("form[role=search] button[type=submit]")
        # The search has its own address (htmx pushes it), with no passport number in it.
        page.wait_for_url(re.compile(r"/officer/stays/s/[\w-]+$"))
        assert "mv" not in page.url.lower() and "4567" not in page.url
        page.wait_for_selector("#results >> text=Hotel Legian")
        results = page.inner_text("#results")
        assert "Villa Jimbaran" in results and "Villa Sanur" not in results

        # Follow them across the two lodgings.
        page.click("#results a:has-text('Timeline') >> nth=0")
        page.wait_for_url(re.compile(r"/timeline$"))
        main = page.inner_text("main")
        assert "2 lodgings" in main and "1 overlap" in main and "still reported at Villa Jimbaran" in main
        assert page.locator("main svg").count() == 1

        # The overstay.
        page.click("nav >> text=Watch lists")
        page.wait_for_url(re.compile(r"/officer/watch/overstays"))
        assert "Olga Overstayer" in page.inner_text("#watch") and "3 days over" in page.inner_text("#watch")

        # The charts, and one table exported.
        page.click("nav >> text=Statistics")
        page.wait_for_url(re.compile(r"/officer/statistics"))
        assert page.locator("main svg.chart").count() == 7
        assert page.locator("#nationality svg rect").count() >= 2
        with page.expect_download() as download_info:
            page.click("#nationality a:has-text('CSV')")
        with open(download_info.value.path(), encoding="utf-8-sig") as exported:
            rows = list(csv.reader(exported))
        assert rows[0] == ["Nationality", "Check-ins", "Share (%)"]
        assert {row[0] for row in rows[1:]} == {"Australia (AUS)", "Russia (RUS)"}

        # Nothing of Kanim Denpasar's area.
        response = page.goto(f"{base_url}/officer/stays/{sanur_stay}")
        assert response.status == 404 and "Dubois" not in page.content()
        response = page.goto(f"{base_url}/officer/lodgings/{sanur.id}")
        assert response.status == 404
        page.goto(base_url + "/officer/stays")
        page.fill("#name", "dubois")
        page.click("form[role=search] button[type=submit]")
        page.wait_for_url(re.compile(r"/officer/stays/s/[\w-]+$"))
        page.wait_for_selector("#results")
        assert "Dubois" not in page.inner_text("#results")
        context.close()


def test_the_console_reads_on_a_360_px_phone(app, offices, operator, officer):
    """Chart text at 11 px or more, the header on one row, the inbox's guest and late mark in view
    without scrolling sideways, and no page wider than the screen."""
    area = make_officer_area(operator)
    operator_client = app.test_client()
    login(operator_client, operator.email)
    report_guest(operator_client, area.legian, check_in_at=local_now(delta_hours=-30), surname="Lateman",
                 given_names="Lars Christian Maximilian", document_number="LT1234567")
    report_guest(operator_client, area.jimbaran, surname="Dubois", document_number="FR7654321", nationality="FRA", issuing_state="FRA")

    with live_server(app) as base_url, chromium() as browser:
        context = browser.new_context(viewport={"width": 360, "height": 740}, extra_http_headers={"Accept-Language": "id"})
        page = context.new_page()
        page.set_default_timeout(10_000)
        log_in(page, base_url, officer.email, re.compile(r"/officer/lodgings"))
        for path in ("/officer/inbox", "/officer/statistics", "/officer/watch/late", "/officer/stays?name=lateman"):
            page.goto(base_url + path)
            assert page.locator("header.top").bounding_box()["height"] < 60, f"{path}: the header wraps"
            assert page.evaluate("document.documentElement.scrollWidth") <= 360, f"{path}: wider than the screen"

        page.goto(base_url + "/officer/statistics")
        sizes = page.locator("svg.chart").evaluate_all(
            "charts => charts.map(chart => chart.getBoundingClientRect().width / chart.viewBox.baseVal.width"
            " * parseFloat(chart.getAttribute('font-size')))")
        assert len(sizes) == 7 and min(sizes) >= 11, f"chart text renders at {sizes} px"

        page.goto(base_url + "/officer/inbox")
        row = page.locator("tr", has_text="Lateman")
        for needed in (row.locator("th a"), row.locator(".status-rejected")):  # the guest, and the Late mark
            box = needed.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360, "off-screen on a phone"
        assert not row.locator("td.secondary").first.is_visible()  # check-in and lodging leave room for them
        context.close()
