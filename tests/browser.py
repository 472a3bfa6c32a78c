"""Headless Chromium (Debian's package) driven by Playwright, and a live server for it."""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from datetime import date, timedelta

from werkzeug.serving import make_server

from .helpers import TEST_PASSWORD, skip_or_fail

CHROMIUM = os.environ.get("SERASI_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling out on a closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@contextmanager
def live_server(app):
    """Serve ``app`` over real HTTP on a free loopback port, in a thread. Its PUBLIC_URL becomes
    that address (absolute links, such as a receipt's QR, are built from it)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    public_url, app.config["PUBLIC_URL"] = app.config.get("PUBLIC_URL"), base_url
    thread.start()
    try:
        yield base_url
    finally:
        app.config["PUBLIC_URL"] = public_url
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@contextmanager
def chromium():
    if not os.access(CHROMIUM, os.X_OK):
        skip_or_fail(f"{CHROMIUM} not found: install Debian's chromium package (make test does it as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        skip_or_fail("playwright is not installed: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        browser = CspWatchingBrowser(playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True))
        try:
            yield browser
        finally:
            browser.close()
        assert not browser.csp_violations, "Content-Security-Policy violations:\n" + "\n".join(browser.csp_violations)


class CspWatchingBrowser:
    """The browser, with every context reporting what the app's Content-Security-Policy blocked
    (Chromium logs each violation on the console): a violation fails the test at the end."""

    def __init__(self, browser):
        self._browser = browser
        self.csp_violations: list[str] = []

    def new_context(self, **kwargs):
        context = self._browser.new_context(**kwargs)
        context.on("console", self._console)
        return context

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    def __getattr__(self, name):
        return getattr(self._browser, name)


def log_in(page, base_url: str, email: str, lands_on="**/dashboard"):
    """Log in through the login form (with JavaScript on or off) and wait for the landing page."""
    page.goto(base_url + "/login")
    page.fill("#email", email)
    page.fill("#password", TEST_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(lands_on)


def fill_guest(page, surname, given, document, birth="1980-03-04", nationality="AUS", visa_index="C1", javascript=True):
    """Fill the guest, document and entry parts of a report form as a person would, in order."""
    from playwright.sync_api import expect

    page.fill("#surname", surname)
    page.fill("#given_names", given)
    page.check("input[name=sex][value=F]")
    page.fill("#date_of_birth", birth)
    page.select_option("#nationality", nationality)
    page.fill("#document_number", document)
    page.select_option("#issuing_state", nationality)
    page.fill("#document_expiry", (date.today() + timedelta(days=900)).isoformat())
    page.fill("#entry_date", (date.today() - timedelta(days=2)).isoformat())
    page.fill("#visa_index", visa_index)
    if javascript:  # htmx fills the stay permit from the visa index when the field changes
        page.press("#visa_index", "Tab")
        expect(page.locator("#stay_permit")).to_have_value("itk", timeout=15_000)  # the suggestion is a request to the server; a locator, not a JS string: the CSP forbids eval
def log_out(page, label: str | None = None):
    """Log out through the header's account menu (a <details>: opened first, with JavaScript on
    or off). ``label``: the button's text to expect, in the page's language."""
    page.click("header .account-menu summary")
    page.click(f"header .account-menu button:has-text('{label}')" if label else "header .account-menu button[type=submit]")


# axe-core rules whose failures a person meets (axe's "serious" and "critical" impacts).
AXE_BLOCKING_IMPACTS = ("serious", "critical")


def accessibility_problems(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now (JavaScript must be on).

    axe-core comes inside the ``axe-playwright-python`` wheel (the dev extra): nothing is
    fetched at run time. It is evaluated through the DevTools protocol, which the page's
    Content-Security-Policy does not govern, so the policy stays as strict as in production."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:  # pragma: no cover - the dev extra installs it
        skip_or_fail("axe-playwright-python is not installed: pip install -e '.[dev]'")
    results = Axe().run(page, options={"resultTypes": ["violations"]})
    return [f"{violation['id']} ({violation['impact']}): {violation['help']} at "
            + ", ".join(" ".join(map(str, node["target"]))
                        for node in violation["nodes"][:5])
            for violation in results.response["violations"] if violation["impact"] in AXE_BLOCKING_IMPACTS]


class CountingPage:
    """A page whose actions are counted as a person's interactions: each fill, choice in a list,
    tick, click or tap, and key press is one (navigating by URL and waiting are not). Pass it where
    a page is expected (``fill_guest`` too); ``interactions`` is the running count."""

    def __init__(self, page):
        self.page = page
        self.interactions = 0

    def _counted(self, action, *args, **kwargs):
        self.interactions += 1
        return action(*args, **kwargs)

    def fill(self, *args, **kwargs):
        return self._counted(self.page.fill, *args, **kwargs)

    def select_option(self, *args, **kwargs):
        return self._counted(self.page.select_option, *args, **kwargs)

    def check(self, *args, **kwargs):
        return self._counted(self.page.check, *args, **kwargs)

    def click(self, *args, **kwargs):
        return self._counted(self.page.click, *args, **kwargs)

    def press(self, *args, **kwargs):
        return self._counted(self.page.press, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.page, name)
