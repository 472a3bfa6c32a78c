"""HTTP headers on every response, and no inline script, style or handler on any page.

Every GET route of ``app.url_map`` is requested by each audience (nobody logged in, an operator,
an officer, a supervision team, an admin, and an API token), with ids the viewer owns where the
route has parameters (the isolation test's world). Every answer, whatever its status (a page, a
redirect to the login, a 403, a 404, an export, a problem document), must carry the policy of
``serasi_web.security_headers``; every HTML answer (and its htmx fragment, when the route has one)
must have no inline ``<script>``, ``<style>``, ``style=`` attribute, ``on*=`` handler, ``hx-on``
or ``javascript:`` URL, so that the strict Content-Security-Policy breaks nothing.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from serasi_web.accounts.services import password_reset_token
from serasi_web.security_headers import CAMERA_ENDPOINTS
from serasi_web.stays.receipts import verification_token
from serasi_web.stays.models import Stay
from serasi_web.extensions import db

from ..test_api import call
from ..test_isolation import IGNORED_METHODS, app_config, control_urls, url_for_rule, world  # noqa: F401 (fixtures)

REQUIRED_CSP = ("default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'", "base-uri 'none'",
                "form-action 'self'", "frame-ancestors 'none'")

# Parameters the isolation table leaves out (they name no tenant's object): the value used.
SPECIAL_VALUES = {
    ("static", "filename"): ["style.css", "htmx-2.0.11.min.js", "favicon.svg", "favicon.ico"],
    ("officer.watch_list", "name"): ["overstays", "late", "planned", "silent"],
    ("officer.statistics_export", "key"): ["per_day"],
    ("officer.statistics_export", "file_format"): ["csv", "xlsx"],
}


class InlineCodeFinder(HTMLParser):
    """Collects what a strict CSP would block or what would need ``unsafe-inline``/``unsafe-eval``."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> (inline handler)")
            elif name == "style":
                self.problems.append(f"<{tag} style=...> (inline style)")
            elif name.startswith("hx-on") or name.startswith("data-hx-on"):
                self.problems.append(f"<{tag} {name}=...> (htmx evaluates code)")
            elif name in ("hx-vals", "hx-vars") and value and value.lstrip().startswith("js:"):
                self.problems.append(f"<{tag} {name}=js:...> (htmx evaluates code)")
            elif name in ("href", "src", "action", "formaction") and value and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:...>")
        if tag == "style":
            self.problems.append("<style> element (inline style)")
        if tag == "script":
            if not dict(attrs).get("src"):
                self.problems.append("<script> without src (inline script)")
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append("<script> with a body (inline script)")


def inline_code(html: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(html)
    finder.close()
    return finder.problems


def header_problems(response, endpoint: str, personal: bool, secure: bool = False) -> list[str]:
    headers, problems = response.headers, []
    csp = headers.get("Content-Security-Policy", "")
    # A static file (style sheet, script, icon) is no page: it gets the strictest policy, which
    # lets an SVG opened on its own load and run nothing, and no page-only headers.
    static_file = endpoint == "static" and (response.status_code < 300 or response.status_code == 304)  # not a redirect
    if static_file:
        if csp != "default-src 'none'":
            problems.append(f"a static file's CSP is {csp!r}, expected \"default-src 'none'\"")
        if headers.get("Content-Type", "").startswith("text/html"):
            problems.append("a static file served as HTML")
    else:
        problems += [f"CSP lacks {directive!r}" for directive in REQUIRED_CSP if directive not in csp]
    if "unsafe-inline" in csp or "unsafe-eval" in csp:
        problems.append(f"CSP allows unsafe code: {csp}")
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if headers.get("Referrer-Policy") not in ("same-origin", "no-referrer"):
        problems.append(f"Referrer-Policy is {headers.get('Referrer-Policy')!r}")
    camera = "camera=(self)" if endpoint in CAMERA_ENDPOINTS else "camera=()"
    if not static_file and (camera not in headers.get("Permissions-Policy", "")
                            or "geolocation=()" not in headers.get("Permissions-Policy", "")):
        problems.append(f"Permissions-Policy is {headers.get('Permissions-Policy')!r}, expected {camera} and no geolocation")
    if personal and "no-store" not in headers.get("Cache-Control", ""):
        problems.append(f"personal answer cached: Cache-Control {headers.get('Cache-Control')!r}")
    if secure != ("Strict-Transport-Security" in headers):
        problems.append("HSTS sent over plain HTTP" if not secure else "no HSTS over HTTPS")
    return problems


def urls_of(app, world, rule) -> list[str]:
    """The rule's URLs with ids the viewer owns (the isolation table's), or the values above."""
    special = {name: SPECIAL_VALUES[(rule.endpoint, name)] for name in rule.arguments if (rule.endpoint, name) in SPECIAL_VALUES}
    if rule.endpoint == "accounts.reset_password":
        from serasi_web.accounts.models import User

        special["token"] = [password_reset_token(db.session.get(User, world.a.user)), "forged-token"]
    if rule.endpoint == "accounts.verify_email":
        from serasi_web.accounts.models import User
        from serasi_web.accounts.services import email_verification_token

        special["token"] = [email_verification_token(db.session.get(User, world.a.user)), "forged-token"]
    if rule.endpoint == "guest_arrivals.start":
        special["code"] = [world.a.poster_code, "UNKNOWN000"]
    if rule.endpoint in ("guest_arrivals.status", "guest_arrivals.new_guest"):
        special["token"] = [world.a.arrival_token, "forged-token"]
    if rule.endpoint == "stays.verify":
        number = db.session.get(Stay, world.a.report).receipt_number
        special["token"] = [verification_token(number), "forged-token"]
    if not special:
        return control_urls(rule, world)
    assert set(special) == set(rule.arguments), f"{rule.rule}: a parameter has no value in SPECIAL_VALUES"
    urls = [{}]
    for name, values in special.items():
        urls = [chosen | {name: value} for chosen in urls for value in values]
    return [url_for_rule(rule, chosen) for chosen in urls]


def get_rules(app):
    return sorted((rule for rule in app.url_map.iter_rules() if "GET" in rule.methods - IGNORED_METHODS),
                  key=lambda rule: rule.rule)


def test_every_get_route_of_every_audience_sends_the_security_headers_and_no_inline_code(subtests, app, world):
    viewers = {"nobody logged in": app.test_client(), "operator": world.operator, "officer": world.officer,
               "supervision team": world.supervisor_client, "admin": world.admin}
    seen_pages = 0
    for rule in get_rules(app):
        with subtests.test(msg=f"GET {rule.rule}"):
            failures = []
            for url in urls_of(app, world, rule):
                requests = [(name, lambda client=client, url=url, **kw: client.get(url, **kw), name != "nobody logged in")
                            for name, client in viewers.items()]
                if rule.rule.startswith("/api/"):
                    api = app.test_client()
                    requests.append(("API token", lambda url=url, api=api, **kw: call(api, "get", url.removeprefix("/api/v1"), world.a.token, **kw),
                                     True))
                for viewer, get, logged_in in requests:
                    response = get()
                    personal = rule.endpoint != "static" and (logged_in or rule.rule.startswith("/api/"))
                    what = f"{viewer} GET {url} ({response.status_code})"
                    failures += [f"{what}: {problem}" for problem in header_problems(response, rule.endpoint, personal)]
                    if response.status_code == 200 and response.mimetype == "text/html":
                        seen_pages += 1
                        failures += [f"{what}: {problem}" for problem in inline_code(response.get_data(as_text=True))]
                        if "HX-Request" in response.headers.get("Vary", ""):
                            fragment = get(headers={"HX-Request": "true"})
                            failures += [f"{what} as htmx fragment: {problem}" for problem in
                                         header_problems(fragment, rule.endpoint, personal) + inline_code(fragment.get_data(as_text=True))]
                    response.close()  # a static file's handle
            if failures:
                pytest.fail(f"{rule.rule} ({rule.endpoint}):\n" + "\n".join(failures), pytrace=False)
    print(f"{seen_pages} pages checked")
    assert seen_pages > 60, f"only {seen_pages} pages answered 200: is the walk logged in?"


def test_the_inline_code_finder_finds_each_kind():
    page = ('<p style="color:red" onclick="x()">a</p><script>alert(1)</script><script src="/static/a.js"></script>'
            '<style>p{}</style><a href="javascript:x()">b</a><button hx-on:click="x()">c</button><div hx-vals="js:{a: 1}"></div>')
    assert len(inline_code(page)) == 8, inline_code(page)
    assert inline_code('<script src="/static/a.js" defer></script><p class="x">a</p>') == []


def test_hsts_only_over_https_and_static_files_stay_cacheable(app, operator_client):
    plain = operator_client.get("/dashboard")
    assert "Strict-Transport-Security" not in plain.headers
    secure = operator_client.get("/login", base_url="https://serasi.example")
    assert "max-age=" in secure.headers["Strict-Transport-Security"]
    static = operator_client.get("/static/style.css")
    static.close()
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")
    assert "nosniff" == static.headers["X-Content-Type-Options"]


def test_static_files_get_the_strictest_policy_and_no_page_only_headers(client):
    for name in ("style.css", "htmx-2.0.11.min.js", "favicon.svg"):
        with client.get(f"/static/{name}") as answer:
            assert answer.status_code == 200
            assert answer.headers["Content-Security-Policy"] == "default-src 'none'"
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
            for page_only in ("Permissions-Policy", "X-Frame-Options", "Cross-Origin-Opener-Policy"):
                assert page_only not in answer.headers, (name, page_only)
    # A static URL that finds nothing answers an HTML error page: the page policy, in full.
    missing = client.get("/static/no-such-file.js")
    assert missing.status_code == 404 and "script-src 'self'" in missing.headers["Content-Security-Policy"]
    assert "camera=()" in missing.headers["Permissions-Policy"] and missing.headers["X-Frame-Options"] == "DENY"


def test_htmx_is_configured_to_evaluate_nothing(client):
    page = client.get("/login").get_data(as_text=True)
    config = re.search(r'<meta name="htmx-config" content=\'([^\']*)\'', page).group(1)
    assert '"allowEval": false' in config and '"allowScriptTags": false' in config and '"includeIndicatorStyles": false' in config


def test_a_csp_violation_in_the_browser_fails_the_test(app):
    """The browser tests' watcher (tests/browser.py) sees what the policy blocks."""
    from playwright.sync_api import Route

    from ..browser import chromium, live_server

    def inline_page(route: Route):
        route.fulfill(status=200, content_type="text/html", body="<p>x</p><script>document.title = 'ran'</script>",
                      headers={"Content-Security-Policy": "script-src 'self'"})

    with pytest.raises(AssertionError, match="Content-Security-Policy violations"):
        with live_server(app) as base_url, chromium() as browser:
            page = browser.new_context().new_page()
            page.goto(base_url + "/login")
            assert page.title().endswith("SERASI Web")  # our own page: no violation
            page.route("**/inline", inline_page)
            page.goto(base_url + "/inline")
            assert page.title() != "ran"
