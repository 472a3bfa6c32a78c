"""Cold-page weight: bytes transferred for a first visit to the pages an operator uses most.

    .venv/bin/python -m bench.page_weight

A migrated SQLite database in a temporary folder holds an office, an operator with one verified
lodging, and one guest reported through the form. The real app runs under ``gunicorn -c
gunicorn.conf.py wsgi:app`` (1 worker). For each page (login, dashboard, stay list, report form,
receipt) the page is requested as a browser with an empty cache would: the HTML, then every
style sheet, script and icon it links (``/favicon.ico`` when it links none). What counts is what
crosses the wire: status line, headers and body as sent.

Three runs in the same process: as Chromium asks over HTTPS (``Accept-Encoding: gzip, deflate,
br, zstd``: the target), as it asks over plain HTTP (``gzip, deflate``: no Brotli), and the
baseline without compression (``identity``: what every answer weighed before this benchmark's
issue, #15). Target: every page <= 30 KB (30,720 bytes) as Chromium asks over HTTPS. Exit status
0 when every page meets it.
"""
from __future__ import annotations

import argparse
import secrets
import sys
from html.parser import HTMLParser
from urllib.parse import urlsplit

from . import common

BUDGET_BYTES = 30 * 1024
CHROMIUM_ENCODINGS = "gzip, deflate, br, zstd"  # over HTTPS; Chromium offers Brotli on secure origins only
PLAIN_HTTP_ENCODINGS = "gzip, deflate"
RUNS = (CHROMIUM_ENCODINGS, PLAIN_HTTP_ENCODINGS, "identity")


class LinkedFiles(HTMLParser):
    """The same-site files a browser fetches to show the page: style sheets, scripts, icons, images."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.paths: list[str] = []
        self.has_icon = False
        self.on_demand: dict[str, str] = {}  # selector -> script, fetched when the page has such an element
        self.elements: set[str] = set()  # "tag.class" and ".class" of every element, to match those selectors

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in (attributes.get("class") or "").split():
            self.elements.update({f"{tag}.{name}", f".{name}"})
        if tag == "meta" and attributes.get("name") == "serasi-scripts-on-demand":
            import json

            self.on_demand = json.loads(attributes.get("content") or "{}")
        url = None
        if tag == "link" and attributes.get("rel") in ("stylesheet", "icon"):
            url = attributes.get("href")
            self.has_icon = self.has_icon or attributes.get("rel") == "icon"
        elif tag in ("script", "img"):
            url = attributes.get("src")
        if url and not urlsplit(url).netloc and not url.startswith("data:") and url not in self.paths:
            self.paths.append(url)

    def close(self):
        super().close()
        # form-requests.js fetches these on the pages that need them: they count there.
        for selector, url in self.on_demand.items():
            if selector in self.elements and url not in self.paths:
                self.paths.append(url)


def wire_bytes(status: int, reason: str, headers, body: bytes) -> int:
    """What the answer weighs on the wire (HTTP/1.1): status line, header lines, blank line, body."""
    return len(f"HTTP/1.1 {status} {reason}\r\n".encode()) + len(headers.as_bytes()) + len(body)


def cold_page(browser: common.Browser, path: str, encodings: str) -> dict:
    """Fetch ``path`` and what it links, as an empty cache would; returns the byte counts."""
    browser.connection.request("GET", path, headers=_headers(browser, encodings))
    response = browser.connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: HTTP {response.status}")
    html = wire_bytes(response.status, response.reason, response.headers, body)
    page_text = body.decode("utf-8") if response.headers.get("Content-Encoding") in (None, "identity") else None
    if page_text is None:  # the page came compressed: read the links from a plain copy
        browser.connection.request("GET", path, headers=_headers(browser, "identity"))
        plain = browser.connection.getresponse()
        page_text = plain.read().decode("utf-8")
    links = LinkedFiles()
    links.feed(page_text)
    links.close()
    files = links.paths + ([] if links.has_icon else ["/favicon.ico"])
    assets = {}
    for file in files:
        browser.connection.request("GET", file, headers=_headers(browser, encodings))
        answer = browser.connection.getresponse()
        data = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"GET {file} (linked from {path}): HTTP {answer.status}")
        assets[file] = wire_bytes(answer.status, answer.reason, answer.headers, data)
    return {"html": html, "assets": assets, "total": html + sum(assets.values())}


def _headers(browser: common.Browser, encodings: str) -> dict:
    headers = {"Accept-Encoding": encodings, "Accept-Language": "id"}
    if browser.cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
    return headers


def prepare(app, operator: common.SeededOperator, port: int) -> dict[str, str]:
    """Report one guest through the form; returns the pages to weigh by name."""
    browser = common.Browser(common.HOST, port)
    browser.login(operator.email, operator.password)
    lodging = operator.lodging_ids[0]
    form = f"/lodgings/{lodging}/stays/new"
    fields = common.guest_report_fields("X1234567", secrets.token_urlsafe(32), browser.csrf_token(form), common.local_check_in())
    status, headers, _body = browser.post_form(form, fields)
    if status != 303:
        raise RuntimeError(f"the guest report was refused: HTTP {status}")
    stay_path = urlsplit(headers["Location"]).path
    browser.close()
    return {"login": "/login", "dashboard": "/dashboard", "stay list": "/stays", "report form": form,
            "receipt": stay_path + "/receipt"}


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args(argv)
    with common.temp_folder() as folder:
        url = common.sqlite_url(folder)
        app = common.make_app(url, folder / "instance")
        common.migrate(app)
        operator = common.seed_operator(app, "weight@bench.test")
        common.dispose(app)
        with common.serasi_server(url, 1, folder / "gunicorn.log") as server:
            pages = prepare(app, operator, server.port)
            results = {}
            for name, path in pages.items():
                for encodings in RUNS:
                    browser = common.Browser(common.HOST, server.port)
                    if name != "login":
                        browser.login(operator.email, operator.password)
                    results[name, encodings] = cold_page(browser, path, encodings)
                    browser.close()
    print(f"Cold page, bytes on the wire (headers included); budget {BUDGET_BYTES:,} bytes with compression")
    print(f"{'page':<12} {'HTML':>8} {'files':>8} {'total':>8}   {'gzip only':>9}   {'no compression':>14}   verdict")
    failed = False
    for name in pages:
        best, gzip_only, plain = (results[name, encodings] for encodings in RUNS)
        verdict = "PASS" if best["total"] <= BUDGET_BYTES else "FAIL"
        failed |= verdict == "FAIL"
        print(f"{name:<12} {best['html']:>8,} {sum(best['assets'].values()):>8,} {best['total']:>8,}"
              f"   {gzip_only['total']:>9,}   {plain['total']:>14,}   {verdict}")
    print("\nFiles of the dashboard (Brotli / gzip / none):")
    for file, size in results["dashboard", CHROMIUM_ENCODINGS]["assets"].items():
        print(f"  {file:<44} {size:>7,} / {results['dashboard', PLAIN_HTTP_ENCODINGS]['assets'][file]:>7,}"
              f" / {results['dashboard', 'identity']['assets'][file]:>7,}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
