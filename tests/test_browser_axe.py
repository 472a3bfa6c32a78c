"""Accessibility in a real browser: axe-core finds no serious or critical violation on any page an
operator, an officer or an admin can reach, with JavaScript on, at a phone's width (360 px).

Each audience's pages are found as a person finds them: from the landing page, every link of the
header and the page is followed (same site, GET, no download), one page per address shape
(``/stays/7`` and ``/stays/8`` are the same template), plus the pages reached only by a form
(the report form, the receipt)."""
import re
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import expect

from .browser import accessibility_problems, chromium, live_server, log_in
from .helpers import login, make_officer_area, report_guest
from .test_browser import HTMX_BUSY

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

PHONE = {"width": 360, "height": 740}
# Links that leave, end the session, download a file or answer no page of ours.
NOT_PAGES = re.compile(r"^/(static/|favicon|logout|verify/|healthz|readyz|api/)|/export|\.(csv|xlsx|json|jpg|png|pdf)$|/photos/")
MAX_PAGES_PER_AUDIENCE = 45


def address_shape(url: str) -> str:
    """One page per template: ids and query values do not make another page."""
    parts = urlsplit(url)
    query_names = sorted({pair.split("=")[0] for pair in parts.query.split("&") if pair})
    return re.sub(r"/\d+", "/N", parts.path) + ("?" + "&".join(query_names) if query_names else "")


def crawl(page, base_url: str, start: list[str]) -> dict[str, list[str]]:
    """axe's findings by URL for every page reachable from ``start`` (breadth first)."""
    queue, seen_shapes, findings = deque(start), set(), {}
    while queue and len(findings) < MAX_PAGES_PER_AUDIENCE:
        url = queue.popleft()
        path = url.removeprefix(base_url)
        if address_shape(path) in seen_shapes or NOT_PAGES.search(urlsplit(path).path):
            continue
        seen_shapes.add(address_shape(path))
        response = page.goto(url)
        if response is None or response.status != 200 or "text/html" not in response.headers.get("content-type", ""):
            continue
        expect(page.locator(HTMX_BUSY)).to_have_count(0)  # fragments loaded on "load" are in
        findings[path] = accessibility_problems(page)
        for link in page.locator("a[href]:not([download])").evaluate_all("links => links.map(link => link.href)"):
            link = urljoin(url, link).split("#")[0]
            if link.startswith(base_url + "/") and address_shape(link.removeprefix(base_url)) not in seen_shapes:
                queue.append(link)
    return findings


def test_every_page_of_each_audience_has_no_serious_accessibility_violation(app, offices, operator, officer, admin):
    area = make_officer_area(operator)
    operator_client = app.test_client()
    login(operator_client, operator.email)
    stay = report_guest(operator_client, area.jimbaran)
    report_guest(operator_client, area.legian, surname="Mover", given_names="Max", document_number="MV1234567",
                 nationality="AUS", issuing_state="AUS")
    report_guest(operator_client, area.jimbaran, action="save", surname="Draft", document_number="DR1234567")
    group = operator_client.post(f"/lodgings/{area.jimbaran.id}/groups/new",
                                 data={"name": "Keluarga Tanaka", "check_in_at": "", "purpose": "family"})
    assert group.status_code in (200, 303)

    audiences = {
        operator.email: ["/dashboard", f"/lodgings/{area.jimbaran.id}/stays/new", f"/stays/{stay}/receipt",
                         f"/lodgings/{area.jimbaran.id}/groups/new", f"/stays/{stay}/correct"],
        officer.email: ["/officer/lodgings", "/officer/statistics", "/officer/stays?document_number=MV1234567"],
        admin.email: ["/admin/"],
    }
    failures, visited = [], 0
    with live_server(app) as base_url, chromium() as browser:
        for email, start in audiences.items():
            context = browser.new_context(java_script_enabled=True, viewport=PHONE, extra_http_headers={"Accept-Language": "id"})
            page = context.new_page()
            page.set_default_timeout(15_000)
            log_in(page, base_url, email, re.compile(r"/(dashboard|officer|admin)"))
            found = crawl(page, base_url, [base_url + path for path in start])
            # States no link leads to: the header's account menu open, a form returned with errors.
            page.goto(base_url + start[0])
            page.click("header .account-menu summary")
            found["account menu open"] = accessibility_problems(page)
            if email == operator.email:
                page.goto(base_url + start[1])
                page.click("button[value=submit]")
                expect(page.locator(".error").first).to_be_visible()
                found["report form with errors"] = accessibility_problems(page)
            visited += len(found)
            failures += [f"{email} {path}: {problem}" for path, problems in found.items() for problem in problems]
            context.close()
        # The pages nobody logs in for.
        context = browser.new_context(java_script_enabled=True, viewport=PHONE, extra_http_headers={"Accept-Language": "id"})
        found = crawl(context.new_page(), base_url, [base_url + path for path in ("/", "/login", "/signup", "/forgot-password")])
        visited += len(found)
        failures += [f"nobody logged in {path}: {problem}" for path, problems in found.items() for problem in problems]
        context.close()
    print(f"{visited} pages checked by axe-core")
    assert visited >= 40, f"only {visited} pages reached: is the crawl logged in?"
    assert not failures, "\n".join(failures)
