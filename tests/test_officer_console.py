"""The office console: an officer of Kanim Ngurah Rai searches, follows a guest across lodgings,
watches overstays and late reports, reads statistics and exports them, and never sees anything
of Kanim Denpasar's area. Every route is checked for scoping."""
import csv
import gzip
import io
import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from serasi_web.audit.models import AuditEvent, AuditSubject
from serasi_web.extensions import db
from serasi_web.stays.models import Stay

from .helpers import local_now, make_lodging, make_officer_area, report_guest, search

EN = {"Accept-Language": "en"}
HTMX = {"HX-Request": "true", **EN}
# "Today" of the watch lists: Western Indonesia's date, the last of the three zones to change day.
TODAY = datetime.now(timezone(timedelta(hours=7))).date()
WITA = timezone(timedelta(hours=8))  # Bali
ENTRY_LONG_AGO = (TODAY - timedelta(days=25)).isoformat()


@pytest.fixture
def area(app, operator, offices):
    """Villa Jimbaran and Hotel Legian (Kanim Ngurah Rai), Villa Sanur (Kanim Denpasar), verified."""
    return make_officer_area(operator)


@pytest.fixture
def guests(area, operator_client):
    """Anna (SWE) moved from Jimbaran to Legian while still reported at Jimbaran; Kenji (JPN) is
    overstaying at Legian; the same passport as Anna's also stayed at Sanur (Denpasar's area)."""
    first = report_guest(operator_client, area.jimbaran, check_in_at=local_now(delta_hours=-50))
    second = report_guest(operator_client, area.legian, check_in_at=local_now(delta_hours=-5), room="21")
    overstay = report_guest(operator_client, area.legian, surname="Tanaka", given_names="Kenji", nationality="JPN",
                            issuing_state="JPN", document_number="TK1234567", visa_index="B1", stay_permit="voa",
                            permit_valid_until=(TODAY - timedelta(days=1)).isoformat())
    elsewhere = report_guest(operator_client, area.sanur, surname="Dubois", given_names="Théo", nationality="FRA",
                             issuing_state="FRA", document_number="FR7654321")
    # Anna's passport at Sanur too, long ago and checked out: outside Ngurah Rai's area.
    sanur_anna = report_guest(operator_client, area.sanur, check_in_at=local_now(delta_hours=-24 * 20), entry_date=ENTRY_LONG_AGO)
    operator_client.post(f"/stays/{sanur_anna}/check-out", data={"checked_out_at": local_now(delta_hours=-24 * 18)})
    return SimpleNamespace(first=first, second=second, overstay=overstay, elsewhere=elsewhere, sanur_anna=sanur_anna)


def text(response) -> str:
    return response.get_data(as_text=True)


# ---- scoping: every route -----------------------------------------------------------------------

CONSOLE_PAGES = ["/officer/inbox", "/officer/stays", "/officer/stays?name=dubois", "/officer/stays?document_number=FR7654321",
                 "/officer/watch/overstays", "/officer/watch/planned", "/officer/watch/late", "/officer/watch/silent?days=1",
                 "/officer/lodgings?status=verified", "/officer/statistics"]


@pytest.mark.parametrize("path", CONSOLE_PAGES)
def test_no_console_list_shows_another_offices_guests_or_lodgings(officer_client, guests, path):
    searched = path.startswith("/officer/stays?")
    response = search(officer_client, "/officer/stays", path.split("?", 1)[1], headers=EN) if searched else officer_client.get(path, headers=EN)
    assert response.status_code == 200
    page = text(response)
    shown = page.split("</main>")[0]  # the footer's language form echoes the address
    shown = shown.split('id="results"', 1)[-1] if "/officer/stays" in path else shown  # and the search form the query
    assert "Dubois" not in shown and "FR7654321" not in shown and "Villa Sanur" not in shown
    assert "Denpasar Selatan" not in page  # the district of Sanur, e.g. in the statistics


def test_another_offices_objects_answer_404_on_every_route(officer_client, area, guests):
    stay_id, lodging_id = guests.elsewhere, area.sanur.id
    for path in (f"/officer/stays/{stay_id}", f"/officer/stays/{stay_id}/timeline", f"/officer/lodgings/{lodging_id}"):
        assert officer_client.get(path).status_code == 404, path
    for action in ("verify", "reject", "reopen"):
        assert officer_client.post(f"/officer/lodgings/{lodging_id}/{action}", data={"reason": "x"}).status_code == 404
    # Unknown ids look the same as other offices' ids.
    assert officer_client.get("/officer/stays/999999").status_code == 404
    assert officer_client.get("/officer/stays/999999/timeline").status_code == 404


def test_searching_with_another_offices_lodging_finds_nothing_and_says_so(officer_client, area, guests):
    page = text(search(officer_client, "/officer/stays", f"lodging={area.sanur.id}", headers=EN))
    assert "not in your area" in page and "Dubois" not in page and "Eriksson" not in page


def test_denpasar_officer_sees_their_guest_and_not_ngurah_rais(denpasar_officer, app, guests):
    from .helpers import login

    client = app.test_client()
    login(client, denpasar_officer.email)
    assert client.get(f"/officer/stays/{guests.elsewhere}").status_code == 200
    assert client.get(f"/officer/stays/{guests.first}").status_code == 404
    page = text(search(client, "/officer/stays", "document_number=L898902C3", headers=EN))
    assert "Villa Sanur" in page and "Villa Jimbaran" not in page and "Hotel Legian" not in page


@pytest.mark.parametrize("path", ["/officer/inbox", "/officer/stays", "/officer/watch/overstays", "/officer/statistics",
                                  "/officer/lodgings", "/officer/statistics/nationality.csv"])
def test_operators_and_visitors_cannot_open_the_console(client, operator_client, guests, path):
    assert operator_client.get(path).status_code == 404
    assert client.get(path).status_code in (302, 303)  # to the login page


def test_drafts_are_not_reports_for_the_office(officer_client, operator_client, area):
    draft = report_guest(operator_client, area.jimbaran, action="draft", surname="Draftman", document_number="DR1111111")
    assert officer_client.get(f"/officer/stays/{draft}").status_code == 404
    assert "Draftman" not in text(search(officer_client, "/officer/stays", "name=draftman"))


# ---- search -------------------------------------------------------------------------------------

def test_find_a_guest_by_passport_typed_any_way(officer_client, guests):
    for typed in ("L898902C3", "l8989 02c3", " l-898902-c3 "):
        page = text(search(officer_client, "/officer/stays", {"document_number": typed}, headers=EN))
        assert page.count("Anna María Eriksson") == 2, typed  # Jimbaran and Legian, not Sanur
    # Exact, not a prefix.
    assert "Eriksson" not in text(search(officer_client, "/officer/stays", "document_number=L898902", headers=EN))


@pytest.mark.parametrize("typed", ["maria", "MARÍA", "eriks", "eriksson anna", "ánna  ERIKSSON"])
def test_find_a_guest_by_part_of_the_name_ignoring_accents_case_and_order(officer_client, guests, typed):
    page = text(search(officer_client, "/officer/stays", {"name": typed}, headers=EN))
    assert "Anna María Eriksson" in page and "Tanaka" not in page


def test_search_by_nationality_dates_region_and_status(officer_client, guests):
    page = text(search(officer_client, "/officer/stays", "nationality=JPN", headers=EN))
    assert "Tanaka" in page and "Eriksson" not in page
    legian_day = (datetime.now(WITA) - timedelta(hours=5)).date().isoformat()  # dates are the area's (WITA)
    page = text(search(officer_client, "/officer/stays", f"check_in_from={legian_day}&check_in_to={legian_day}&nationality=SWE", headers=EN))
    assert "Hotel Legian" in page and "Villa Jimbaran" not in page  # Jimbaran's check-in was two days earlier
    page = text(search(officer_client, "/officer/stays", "region=51.03.01", headers=EN))  # Kuta
    assert "Hotel Legian" in page and "Villa Jimbaran" not in page
    page = text(search(officer_client, "/officer/stays", "status=checked_out", headers=EN))
    assert "No report matches" in page


@pytest.mark.parametrize("query, message", [
    ({"check_in_from": "2026-05-10", "check_in_to": "2026-05-01"}, "before its start"),
    ({"check_in_from": "2026-02-30"}, "Not a valid date value"),
    ({"name": "x" * 10_000}, "at most 100 characters"),
    ({"document_number": "A" * 10_000}, "at most 40 characters"),
    ({"document_number": "%%%"}, "letters or digits"),
    ({"name": "a"}, "at least 2 letters"),
    ({"nationality": "ZZZ"}, "Not a valid choice"),
    ({"status": "draft"}, "Not a valid choice"),
    ({"region": "51.71.01"}, "Not a valid choice"),  # Sanur is not a region of Ngurah Rai's area
    ({"lodging": "abc"}, "Not a valid integer value"),
])
def test_bad_search_input_gets_a_message_never_an_error(officer_client, guests, query, message):
    response = search(officer_client, "/officer/stays", query, headers=EN)
    assert response.status_code == 200
    page = text(response)
    assert message in page and "Eriksson" not in page


@pytest.mark.parametrize("typed", ["%", "_", "%_%", "\\", "' OR '1'='1", "'; DROP TABLE stay; --", "Erik%son", "An_a"])
def test_wildcards_and_sql_in_a_name_are_plain_text(officer_client, guests, typed):
    response = search(officer_client, "/officer/stays", {"name": typed + "zz"}, headers=EN)
    assert response.status_code == 200
    page = text(response)
    assert "Eriksson" not in page and "Tanaka" not in page
    assert db.session.scalar(select(Stay.id).limit(1)) is not None  # the table is still there


def test_search_pages_and_htmx_fragment(officer_client, area, operator_client, app):
    app.config["PAGE_SIZE"] = 2
    for number in range(5):
        report_guest(operator_client, area.jimbaran, surname=f"Guest {'abcde'[number]}", document_number=f"PG{number:07d}")
    first = text(search(officer_client, "/officer/stays", "name=guest", headers=EN))
    assert "Page 1" in first and 'rel="next"' in first and first.count("/timeline") == 2
    response = search(officer_client, "/officer/stays", "name=guest&page=3", headers=HTMX)
    fragment = text(response)
    assert "<html" not in fragment and 'id="search"' in fragment and 'rel="next"' not in fragment and fragment.count("/timeline") == 1
    assert "HX-Request" in response.headers["Vary"]
    assert search(officer_client, "/officer/stays", "page=-5").status_code == 200
    assert search(officer_client, "/officer/stays", "page=99999999999999999999").status_code == 200


# ---- a foreigner's timeline ---------------------------------------------------------------------

def test_timeline_follows_a_guest_across_two_lodgings_and_shows_the_overlap(officer_client, guests):
    response = officer_client.get(f"/officer/stays/{guests.second}/timeline", headers=EN)
    page = text(response)
    assert response.status_code == 200
    assert page.index("Villa Jimbaran") < page.index("Hotel Legian")  # in order of check-in
    assert "2 stays" in page and "2 lodgings" in page and "1 overlap" in page
    assert "while still reported at Villa Jimbaran" in page
    assert "Villa Sanur" not in page  # the same passport in Denpasar's area stays hidden
    assert page.count("<svg") == 1 and "<title>" in page


def test_timeline_gap_after_a_check_out(officer_client, operator_client, area, guests):
    operator_client.post(f"/stays/{guests.first}/check-out", data={"checked_out_at": local_now(delta_hours=-30)})
    page = text(officer_client.get(f"/officer/stays/{guests.first}/timeline", headers=EN))
    assert "Gap of" in page and "overlap" not in page.split("<ol", 1)[1].split("</ol>")[0].lower().replace("overlaps the", "")


# ---- inbox --------------------------------------------------------------------------------------

def test_inbox_shows_new_and_corrected_reports_until_marked_seen(officer_client, operator_client, area, guests):
    page = text(officer_client.get("/officer/inbox", headers=EN))
    assert "Tanaka" in page and "New report" in page and "3 are waiting" in page and "Dubois" not in page
    until = re.search(r'name="until" type="hidden" value="([^"]+)"', page).group(1)
    assert officer_client.post("/officer/inbox/seen", data={"until": until}).status_code == 303
    page = text(officer_client.get("/officer/inbox", headers=EN))
    assert "Nothing new" in page and "0 are waiting" in page
    # A correction comes back in, with its reason.
    from .helpers import guest_form

    form = guest_form(room="9", surname="Tanaka", given_names="Kenji", nationality="JPN", issuing_state="JPN",
                      document_number="TK1234567", visa_index="B1", stay_permit="voa",
                      permit_valid_until=(TODAY - timedelta(days=1)).isoformat())
    form.pop("action")
    operator_client.post(f"/stays/{guests.overstay}/correct", data=form | {"reason": "Moved to room 9"})
    page = text(officer_client.get("/officer/inbox", headers=EN))
    assert "Corrected" in page and "Moved to room 9" in page and "Eriksson" not in page


def test_inbox_marks_late_reports_and_pending_lodgings(officer_client, operator_client, operator, offices):
    pending = make_lodging(operator, name="Kos Baru")
    report_guest(operator_client, pending, check_in_at=local_now(delta_hours=-30), surname="Lateman", document_number="LT1234567")
    page = text(officer_client.get("/officer/inbox", headers=EN))
    row = page[page.index("Lateman"):]
    row = row[:row.index("</tr>")]
    assert "Late" in row and "lodging not verified" in row


@pytest.mark.parametrize("until", ["", "yesterday", "2026-13-45T00:00:00", "9999-12-31T00:00:00+00:00", "2020-01-01T00:00:00"])
def test_marking_the_inbox_never_fails_and_never_skips_the_future(officer_client, guests, until):
    assert officer_client.post("/officer/inbox/seen", data={"until": until}).status_code == 303
    page = text(officer_client.get("/officer/inbox", headers=EN))
    assert "Tanaka" in page or until == "9999-12-31T00:00:00+00:00"


def test_the_inbox_mark_stops_at_now(officer_client, operator_client, area, guests):
    officer_client.post("/officer/inbox/seen", data={"until": "9999-12-31T00:00:00+00:00"})
    report_guest(operator_client, area.jimbaran, surname="Newcomer", document_number="NC1234567")
    assert "Newcomer" in text(officer_client.get("/officer/inbox", headers=EN))


# ---- watch lists --------------------------------------------------------------------------------

def test_overstays_and_planned_check_out_passed(officer_client, operator_client, area, guests):
    page = text(officer_client.get("/officer/watch/overstays", headers=EN))
    assert "Tanaka" in page and "1 day over" in page and "Eriksson" not in page
    report_guest(operator_client, area.jimbaran, surname="Stayer", document_number="ST1234567",
                 check_in_at=local_now(delta_hours=-24 * 10), planned_check_out=(TODAY - timedelta(days=5)).isoformat(),
                 entry_date=ENTRY_LONG_AGO)
    report_guest(operator_client, area.jimbaran, surname="Recent", document_number="RC1234567",
                 check_in_at=local_now(delta_hours=-24 * 10), planned_check_out=(TODAY - timedelta(days=2)).isoformat(),
                 entry_date=ENTRY_LONG_AGO)
    page = text(officer_client.get("/officer/watch/planned", headers=EN))
    assert "Stayer" in page and "Recent" not in page  # more than 3 days past only


def test_late_reports_and_the_lodgings_that_make_them(officer_client, operator_client, area, guests):
    report_guest(operator_client, area.legian, surname="Lateman", document_number="LT1234567", check_in_at=local_now(delta_hours=-40))
    page = text(officer_client.get("/officer/watch/late", headers=EN))
    assert "Lateman" in page and "Lodgings with the most late reports" in page and "Hotel Legian" in page
    assert "Tanaka" not in page


def test_silent_lodgings_with_a_configurable_number_of_days(officer_client, area, guests, operator):
    quiet = make_lodging(operator, name="Villa Sepi")
    quiet.status, quiet.decided_at = "verified", datetime.now(timezone.utc) - timedelta(days=40)
    quiet.created_at = datetime.now(timezone.utc) - timedelta(days=50)
    db.session.commit()
    page = text(officer_client.get("/officer/watch/silent", headers=EN))
    assert "Villa Sepi" in page and "never" in page and "Villa Jimbaran" not in page
    assert "Villa Sepi" not in text(officer_client.get("/officer/watch/silent?days=60", headers=EN))
    for bad in ("abc", "0", "100000", "-1"):
        response = officer_client.get(f"/officer/watch/silent?days={bad}", headers=EN)
        assert response.status_code == 200 and ("Enter a number" in text(response) or "Not a valid integer" in text(response))
    assert officer_client.get("/officer/watch/nonsense").status_code == 404


def test_watch_list_pages_come_as_htmx_fragments(officer_client, guests):
    response = officer_client.get("/officer/watch/overstays", headers=HTMX)
    assert "<html" not in text(response) and 'id="watch"' in text(response) and "HX-Request" in response.headers["Vary"]


# ---- statistics ---------------------------------------------------------------------------------

def test_statistics_draw_charts_with_their_tables(officer_client, guests):
    response = officer_client.get("/officer/statistics", headers=EN)
    page = text(response)
    assert response.status_code == 200
    assert page.count("<svg") == 7 and page.count("<table") == 7
    for title in ("Check-ins per day", "Check-ins per month", "Check-ins by nationality", "Check-ins by regency and district",
                  "Check-ins by lodging type", "Check-ins by stay permit", "Late reports per month"):
        assert title in page
    nationality = page[page.index('id="nationality"'):]
    nationality = nationality[:nationality.index("</section>")]
    assert "Sweden (SWE)</td><td>2</td>" in nationality and "Japan (JPN)</td><td>1</td>" in nationality
    assert "France" not in page  # Théo Dubois is Denpasar's


def test_a_check_in_counts_on_the_lodgings_local_day(officer_client, operator_client, area):
    # 00:30 in Bali (WITA, UTC+8) is still the day before in UTC.
    moment = datetime.now(WITA).replace(hour=0, minute=30) - timedelta(days=2)
    report_guest(operator_client, area.jimbaran, check_in_at=moment.strftime("%Y-%m-%dT%H:%M"), entry_date=ENTRY_LONG_AGO)
    response = officer_client.get(f"/officer/statistics/per_day.csv?start={moment.date().isoformat()}&end={moment.date().isoformat()}")
    rows = list(csv.reader(io.StringIO(text(response).lstrip("\ufeff"))))
    assert rows[1] == [moment.date().isoformat(), "1"]


@pytest.mark.parametrize("query, message", [
    ("start=2026-05-10&end=2026-05-01", "before its start"),
    ("start=2020-01-01&end=2026-01-01", "at most 366 days"),
    ("start=1800-01-01", "between 2000 and 2100"),
    ("end=notadate", "Not a valid date value"),
])
def test_bad_periods_get_a_message(officer_client, guests, query, message):
    response = officer_client.get(f"/officer/statistics?{query}", headers=EN)
    assert response.status_code == 200 and message in text(response) and "<svg" not in text(response)
    export = officer_client.get(f"/officer/statistics/nationality.csv?{query}")
    assert export.status_code == 303 and "/officer/statistics" in export.location


def test_long_periods_show_months_not_days(officer_client, guests):
    start = (TODAY - timedelta(days=200)).isoformat()
    page = text(officer_client.get(f"/officer/statistics?start={start}&end={TODAY.isoformat()}", headers=EN))
    assert "Check-ins per month" in page and 'id="per_day"' not in page and page.count("<svg") == 6


def test_exports_as_csv_and_xlsx_hold_only_the_area(officer_client, guests):
    from openpyxl import load_workbook

    response = officer_client.get("/officer/statistics/nationality.csv", headers=EN)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(text(response).lstrip("\ufeff"))))
    assert rows[0] == ["Nationality", "Check-ins", "Share (%)"]
    assert ["Sweden (SWE)", "2", "66.7"] in rows and not any("France" in row[0] for row in rows)
    response = officer_client.get("/officer/statistics/region.xlsx", headers=EN)
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == ["Regency › district", "Check-ins", "Share (%)"]
    assert sorted(row[0] for row in values[1:]) == ["Kabupaten Badung › Kuta", "Kabupaten Badung › Kuta Selatan"]
    for bad in ("/officer/statistics/secrets.csv", "/officer/statistics/nationality.pdf", "/officer/statistics/../admin.csv"):
        assert officer_client.get(bad).status_code == 404


def test_csv_cells_that_look_like_formulas_are_neutralised():
    from serasi_web.officer.exports import csv_text

    written = csv_text(["=name"], [["=HYPERLINK(\"http://x\")", 3], ["+1", -2], ["@SUM(A1)", 0], ["-5", None], ["plain", 1.5]])
    rows = list(csv.reader(io.StringIO(written)))
    assert rows == [["'=name"], ["'=HYPERLINK(\"http://x\")", "3"], ["'+1", "-2"], ["'@SUM(A1)", "0"], ["'-5", ""], ["plain", "1.5"]]


def test_xlsx_text_is_never_a_formula():
    from openpyxl import load_workbook

    from serasi_web.officer.exports import xlsx_bytes

    sheet = load_workbook(io.BytesIO(xlsx_bytes("t", ["a"], [["=1+1"], ["@x"]]))).active
    assert [(cell.value, cell.data_type) for (cell,) in sheet.iter_rows(min_row=2)] == [("=1+1", "s"), ("@x", "s")]


# ---- the access log -----------------------------------------------------------------------------

def events(action):
    return db.session.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).scalars().all()


def test_views_searches_and_exports_are_recorded(officer_client, officer, guests):
    officer_client.get(f"/officer/stays/{guests.first}")
    officer_client.get(f"/officer/stays/{guests.first}/timeline")
    search(officer_client, "/officer/stays", "document_number=l8989 02c3")
    officer_client.get("/officer/statistics/late_rate.xlsx")
    officer_client.get("/officer/watch/overstays")
    viewed, = events("console.stay_viewed")
    assert viewed.actor_id == officer.id and viewed.object_id == guests.first and viewed.lodging_id is not None
    timeline, = events("console.timeline_viewed")
    assert timeline.changes["document_number"] == "L898902C3" and shown_by(timeline) == sorted([guests.first, guests.second])
    searched, = events("console.search")
    assert searched.changes["criteria"] == {"document_number": "L898902C3"} and len(shown_by(searched)) == 2
    export, = events("console.export")
    assert export.changes["table"] == "late_rate" and export.changes["format"] == "xlsx"
    watch, = events("console.watch_list_viewed")
    assert watch.changes["list"] == "overstays" and shown_by(watch) == [guests.overstay]
    assert shown_by(viewed) == [guests.first] and shown_by(export) == []
    assert not any("stay_ids" in event.changes for event in (viewed, timeline, searched, export, watch))  # kept once, as subjects


def shown_by(event: AuditEvent) -> list[int]:
    """The reports an access-log event showed, as the data-protection officer's log reads them."""
    return sorted(db.session.execute(select(AuditSubject.stay_id).where(AuditSubject.event_id == event.id)).scalars())


# ---- page weight --------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/officer/inbox", "/officer/stays", "/officer/watch/overstays", "/officer/watch/silent",
                                  "/officer/statistics", "/officer/stays/{stay}", "/officer/stays/{stay}/timeline"])
def test_console_pages_stay_under_30_kb_gzipped(officer_client, guests, path):
    response = officer_client.get(path.format(stay=guests.second))
    assert response.status_code == 200
    assert len(gzip.compress(response.get_data())) < 30 * 1024


def test_name_search_pages_do_not_depend_on_the_recent_window(officer_client, operator_client, area, app, monkeypatch):
    """Over HTTP, with paging: the pages are the same whether the newest check-ins answer or not
    (each route of the SQLite search is compared on its own in tests/test_officer_name_index.py)."""
    from serasi_web.officer import queries

    app.config["PAGE_SIZE"] = 2
    for number, letter in enumerate("abcde"):
        report_guest(operator_client, area.jimbaran, surname=f"Common {letter}", document_number=f"CM{number:07d}",
                     check_in_at=local_now(delta_hours=-1 - number))
    report_guest(operator_client, area.legian, surname="Rareperson", document_number="RP1234567",
                 check_in_at=local_now(delta_hours=-30))

    def results(query):
        page = text(search(officer_client, "/officer/stays", query, headers=EN))
        # Each search sent again gets its own id: the pages must match but for it.
        return re.sub(r"/s/[\w-]+", "/s/<id>", page.split('id="results"', 1)[1].split("</main>")[0])

    queries_to_compare = ["name=common", "name=common&page=2", "name=common&page=3", "name=rareperson", "name=nobody"]
    walked = [results(query) for query in queries_to_compare]
    monkeypatch.setattr(queries, "RECENT_WINDOW", 1)  # the newest check-in only: another route answers
    assert [results(query) for query in queries_to_compare] == walked
    assert "Rareperson" in walked[3] and "Common e" in walked[2] and "No report matches" in walked[4]


def test_statistics_read_the_scopes_lodgings_once_for_all_tables(officer_client, guests):
    """Counted from the stays (the daily counts being rebuilt), their time zones, places and
    types come from one read, whatever the number of tables."""
    from serasi_web.officer.models import StatisticsDirtyDay

    from .helpers import recorded_statements

    db.session.add(StatisticsDirtyDay(day=None))  # as after a lodging moved: the counts wait for the worker
    db.session.commit()
    with recorded_statements() as statements:
        page = text(officer_client.get("/officer/statistics", headers=EN))
    assert 'id="region"' in page and 'id="lodging_type"' in page
    assert len([statement for statement in statements if re.match(r"SELECT [^(]* FROM lodging\b", statement)]) == 1
    assert len([statement for statement in statements if re.match(r"SELECT .* FROM stay\b", statement)]) == 3  # one per pass


def test_a_table_without_places_reads_only_the_time_zones_of_the_lodgings(officer_client, guests):
    """A per-day export counted from the stays needs the lodgings' provinces (their time zones),
    not every lodging's place."""
    from serasi_web.officer.models import StatisticsDirtyDay

    from .helpers import recorded_statements

    db.session.add(StatisticsDirtyDay(day=None))
    db.session.commit()
    with recorded_statements() as statements:
        response = officer_client.get("/officer/statistics/per_day.csv", headers=EN)
    assert response.status_code == 200
    lodging_reads = [statement for statement in statements if re.match(r"SELECT [^(]* FROM lodging\b", statement)]
    assert len(lodging_reads) == 1 and lodging_reads[0].startswith("SELECT DISTINCT lodging.province_code")
