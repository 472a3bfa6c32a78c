"""Searches by name or document number never put the terms in a URL (issue #13.8): the forms are
POSTed and answered with a redirect to a short-lived search id that only its user can open; the
result pages and their pagination links carry that id alone. The access log keeps the terms."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from serasi_web.audit.models import AuditEvent
from serasi_web.database import utcnow
from serasi_web.extensions import db
from serasi_web.searches.models import SavedSearch
from serasi_web.searches.services import purge_expired_searches

from ..browser import chromium, live_server, log_in
from ..helpers import login, make_lodging, make_user, report_guest

EN = {"Accept-Language": "en"}
HTMX = {"HX-Request": "true", **EN}
# Every attribute through which a page sends the browser somewhere (a link, a form, an htmx request).
URL_ATTRIBUTES = re.compile(r'\b(?:href|action|src|hx-get|hx-post|hx-push-url)="([^"]*)"')
SURNAME, DOCUMENT = "Eriksson", "SE7654321"


def urls_of(response) -> list[str]:
    return URL_ATTRIBUTES.findall(response.get_data(as_text=True)) + [response.headers.get("Location", ""),
                                                                       response.headers.get("HX-Push-Url", "")]


def assert_no_terms(response, *terms: str) -> None:
    for url in urls_of(response):
        for term in terms:
            assert term.lower() not in url.lower(), (term, url)


@pytest.fixture
def guests(app, operator_client, operator, offices):
    """Two Erikssons at a lodging of Kanim Ngurah Rai, one page each when a page holds one report."""
    lodging = make_lodging(operator)
    report_guest(operator_client, lodging, surname=SURNAME, given_names="Anna", document_number=DOCUMENT)
    report_guest(operator_client, lodging, surname=SURNAME, given_names="Lars", document_number="SE1234567")
    app.config["PAGE_SIZE"] = 1
    return lodging


def second_client(app, email: str, **extra):
    make_user(email, **extra)
    client = app.test_client()
    login(client, email)
    return client


def test_an_officer_search_by_name_and_document_number_leaves_no_term_in_any_url(app, officer_client, officer, offices, guests):
    for criteria, terms in (({"name": "eriksson"}, ["eriksson"]), ({"document_number": "se 765 4321"}, ["se 765", "7654321"])):
        sent = officer_client.post("/officer/stays", data=criteria, headers=EN)
        assert sent.status_code == 303 and re.fullmatch(r"/officer/stays/s/[\w-]{20,}", sent.location), sent.location
        assert_no_terms(sent, *terms)
        page = officer_client.get(sent.location, headers=EN)
        assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
        assert SURNAME in page.get_data(as_text=True)
        assert_no_terms(page, *terms)
    # The name search found two: page 2 is linked by the search id alone, with and without htmx.
    sent = officer_client.post("/officer/stays", data={"name": "eriksson"}, headers=HTMX)
    assert sent.status_code == 303
    fragment = officer_client.get(sent.location, headers=HTMX)
    assert "<html" not in fragment.get_data(as_text=True)
    next_page = re.search(r'href="([^"]+)"[^>]*rel="next"', fragment.get_data(as_text=True)).group(1)
    assert next_page == sent.location + "?page=2"
    second = officer_client.get(next_page, headers=EN)
    assert second.status_code == 200 and SURNAME in second.get_data(as_text=True)
    assert_no_terms(second, "eriksson")
    # The terms are in the access log, where the console records every search.
    searched = db.session.execute(select(AuditEvent).where(AuditEvent.action == "console.search")).scalars().all()
    assert {"name": "eriksson"} in [event.changes["criteria"] for event in searched]
    assert {"document_number": DOCUMENT} in [event.changes["criteria"] for event in searched]


def test_an_invalid_search_comes_back_at_its_field_without_a_redirect(officer_client, guests):
    response = officer_client.post("/officer/stays", data={"name": "e", "document_number": "%%%"}, headers=EN)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "at least 2 letters" in page and "letters or digits" in page
    assert not db.session.execute(select(SavedSearch)).first()


def test_a_search_id_answers_only_the_user_who_made_it(app, officer_client, operator_client, guests):
    location = officer_client.post("/officer/stays", data={"name": "eriksson"}).location
    colleague = second_client(app, "colleague@example.com", role="officer", office_id=guests.office_id)
    response = colleague.get(location, headers=EN)
    assert response.status_code == 404 and SURNAME not in response.get_data(as_text=True)
    assert officer_client.get(location.replace("/s/", "/s/x")).status_code == 404
    operator_location = operator_client.post("/stays", data={"q": "eriksson"}).location
    other_operator = second_client(app, "other@example.com")
    assert other_operator.get(operator_location).status_code == 404
    # An id belongs to one page: the operator's id is no console search, and the reverse.
    search_id = operator_location.rsplit("/", 1)[1]
    assert officer_client.get(f"/officer/stays/s/{search_id}").status_code == 404


def test_a_search_expires_and_the_daily_job_forgets_it(officer_client, guests):
    location = officer_client.post("/officer/stays", data={"name": "eriksson"}).location
    db.session.execute(update(SavedSearch).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    response = officer_client.get(location, headers=EN)
    assert response.status_code == 303 and response.location == "/officer/stays"
    assert "That search has expired" in officer_client.get("/officer/stays", headers=EN).get_data(as_text=True)
    assert purge_expired_searches() == 1
    assert officer_client.get(location).status_code == 404


def test_the_same_search_sent_again_keeps_its_id(officer_client, guests):
    first = officer_client.post("/officer/stays", data={"name": "eriksson"}).location
    assert officer_client.post("/officer/stays", data={"name": "eriksson"}).location == first
    assert officer_client.post("/officer/stays", data={"name": "lars"}).location != first


def test_a_name_in_the_query_string_is_not_searched(officer_client, guests):
    """An old bookmark: the term is ignored (and the form does not echo it back)."""
    page = officer_client.get("/officer/stays?name=zzzznobody&status=reported", headers=EN).get_data(as_text=True)
    page = page.split("</main>")[0]  # the footer's language form echoes the address it was given
    assert "zzzznobody" not in page and SURNAME in page
    assert 'value="reported" selected' in page or 'selected value="reported"' in page


def test_the_lodging_filter_and_all_lodgings_button_work_from_a_kept_search(officer_client, guests):
    location = officer_client.post("/officer/stays", data={"name": "eriksson", "lodging": str(guests.id)}).location
    page = officer_client.get(location, headers=EN).get_data(as_text=True)
    assert 'name="all_lodgings"' in page and guests.name in page
    dropped = officer_client.post("/officer/stays", data={"name": "eriksson", "lodging": str(guests.id), "all_lodgings": "1"})
    assert db.session.get(SavedSearch, dropped.location.rsplit("/", 1)[1]).criteria == {"name": "eriksson"}


def test_the_operators_search_leaves_no_term_in_any_url(app, operator_client, guests):
    dashboard = operator_client.get("/dashboard", headers=EN).get_data(as_text=True)
    assert re.search(r'<form method="post" action="/stays" class="search"', dashboard)
    for term in ("eriksson", DOCUMENT.lower()):
        sent = operator_client.post("/stays", data={"q": term, "view": "in_house", "lodging": str(guests.id)}, headers=EN)
        assert sent.status_code == 303 and re.fullmatch(r"/stays/s/[\w-]{20,}", sent.location), sent.location
        page = operator_client.get(sent.location, headers=EN)
        assert page.status_code == 200 and SURNAME in page.get_data(as_text=True)
        assert_no_terms(page, term)
    # Two Erikssons, one per page: page 2 by the id alone.
    sent = operator_client.post("/stays", data={"q": "eriksson"}, headers=HTMX)
    fragment = operator_client.get(sent.location, headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment and f'href="{sent.location}?page=2"' in fragment
    # No term: the plain list, with its view and lodging in the address.
    plain = operator_client.post("/stays", data={"q": " ", "view": "in_house", "lodging": str(guests.id)})
    assert plain.status_code == 303 and plain.location == f"/stays?view=in_house&lodging={guests.id}"
    # Another operator's lodging in the form is as unknown as a missing one.
    other = make_lodging(make_user("third@example.com"), name="Other kos")
    assert operator_client.post("/stays", data={"q": "eriksson", "lodging": str(other.id)}).status_code == 404


def test_the_admins_account_search_keeps_the_term_out_of_urls(app, admin_client, operator):
    sent = admin_client.post("/admin/users", data={"q": "operator@exa"}, headers=EN)
    assert sent.status_code == 303 and re.fullmatch(r"/admin/users/s/[\w-]{20,}", sent.location)
    page = admin_client.get(sent.location, headers=EN)
    assert operator.email in page.get_data(as_text=True)
    assert_no_terms(page, "operator@exa")
    other_admin = second_client(app, "second.admin@example.com", role="admin")
    assert other_admin.get(sent.location).status_code == 404


def test_the_admins_audit_filter_by_staff_member_keeps_the_e_mail_out_of_urls(app, admin_client, officer_client, officer, guests):
    """The filter is POSTed and kept behind a search id: the redirect, the page's links (pager,
    CSV download) and the CSV address carry the id alone; an e-mail in a query string is not read."""
    for name in ("eriksson", "lars"):
        officer_client.get(officer_client.post("/officer/stays", data={"name": name}).location)  # the search runs (and is logged) here
    sent = admin_client.post("/admin/audit", data={"actor": officer.email, "action": "console.search"}, headers=EN)
    assert sent.status_code == 303 and re.fullmatch(r"/admin/audit/s/[\w-]{20,}", sent.location), sent.location
    assert_no_terms(sent, officer.email, "officer.ngurahrai")
    page = admin_client.get(sent.location, headers=EN)
    events = admin_client.get(sent.location, headers=HTMX).get_data(as_text=True)  # the events' fragment alone
    assert page.status_code == 200 and events.count("Officer searched reports") == 2
    assert f'value="{officer.email}"' in page.get_data(as_text=True)  # the form shows what was searched
    assert_no_terms(page, officer.email, "officer.ngurahrai")
    assert sent.location + ".csv" in urls_of(page)
    exported = admin_client.get(sent.location + ".csv")
    assert exported.status_code == 200 and exported.get_data(as_text=True).count("console.search") == 2
    other_admin = second_client(app, "second.admin@example.com", role="admin")
    assert other_admin.get(sent.location).status_code == 404 and other_admin.get(sent.location + ".csv").status_code == 404
    # An e-mail in the query string filters nothing (it would be in the access log).
    unfiltered = admin_client.get("/admin/audit?actor=nobody%40example.com&action=console.search", headers=HTMX).get_data(as_text=True)
    assert unfiltered.count("Officer searched reports") == 2


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_live_search_and_the_plain_form_in_a_browser(app, operator, guests, javascript):
    with live_server(app) as base_url, chromium() as browser:
        context = browser.new_context(java_script_enabled=javascript, locale="en", extra_http_headers={"Accept-Language": "en"})
        page = context.new_page()
        page.set_default_timeout(10_000)
        log_in(page, base_url, operator.email)
        page.goto(f"{base_url}/stays")
        if javascript:
            page.fill("#q", "lars")  # htmx posts as the user types, and pushes the search's address
        else:
            page.fill("#q", "lars")
            page.press("#q", "Enter")
        page.wait_for_url(re.compile(r"/stays/s/[\w-]+$"))
        page.wait_for_selector("#results >> text=Lars")
        assert "lars" not in page.url.lower() and "Anna" not in page.inner_text("#results")
        context.close()
