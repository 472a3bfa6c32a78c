"""An officer of Kanim Ngurah Rai answers a foreigner's data access request in a real browser,
JavaScript on and off: records it, reads the answer (the report, its history, who looked at it,
the other office that holds a report) and downloads it as JSON."""
import json
import re
from datetime import date

import pytest

from .browser import chromium, live_server, log_in
from .helpers import login, make_officer_area, report_guest

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_officer_answers_a_data_access_request(app, offices, operator, officer, javascript):
    area = make_officer_area(operator)
    operator_client = app.test_client()
    login(operator_client, operator.email)
    stay = report_guest(operator_client, area.jimbaran, surname="Mover", given_names="Max", document_number="MV1234567",
                        nationality="AUS", issuing_state="AUS")
    report_guest(operator_client, area.sanur, surname="Mover", given_names="Max", document_number="MV1234567",
                 nationality="AUS", issuing_state="AUS")
    report_guest(operator_client, area.legian, surname="Other", document_number="OT7654321", nationality="JPN", issuing_state="JPN")

    with live_server(app) as base_url, chromium() as browser:
        context = browser.new_context(java_script_enabled=javascript, accept_downloads=True,
                                      extra_http_headers={"Accept-Language": "en"})
        page = context.new_page()
        page.set_default_timeout(10_000)
        log_in(page, base_url, officer.email, re.compile(r"/officer/lodgings"))
        page.goto(f"{base_url}/officer/stays/{stay}")  # the office looked at the report once

        page.click("nav >> text=Data access requests")
        page.wait_for_url(re.compile(r"/officer/requests/$"))
        page.fill("#document_number", "mv 123 4567")
        page.select_option("#issuing_state", "AUS")
        page.fill("#received_on", date.today().isoformat())
        page.select_option("#channel", "letter")
        page.fill("#reference", "Letter 7/2026")
        page.click("main form button[type=submit]")
        page.wait_for_url(re.compile(r"/officer/requests/\d+$"))

        main = page.inner_text("main")
        assert "Answer to a data access request" in main and "MV1234567" in main
        assert "Max Mover" in main and "Villa Jimbaran" in main and "Officer viewed a report" in main
        assert officer.email in main
        assert "Kanim Denpasar: 1 report" in main and "Villa Sanur" not in main and "Other" not in main.split("Other offices")[0]
        assert page.locator("script:not([src])").count() == 0 and page.locator("[style]").count() == 0

        with page.expect_download() as download_info:
            page.click("text=Download as JSON")
        with open(download_info.value.path(), encoding="utf-8") as downloaded:
            answer = json.load(downloaded)
        assert [item["data"]["surname"] for item in answer["stays"]] == ["Mover"]
        assert answer["other_offices"] == [{"office": "Kanim Denpasar", "reports": 1}]

        page.click("main >> text=Data access requests")
        page.wait_for_url(re.compile(r"/officer/requests/$"))
        assert "Letter 7/2026" in page.inner_text("#requests")
        context.close()
