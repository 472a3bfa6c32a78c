"""Static files: versioned URLs cached for a year, compressed copies, the favicon; pages compressed
for browsers that accept it, and personal pages still never cached."""
import gzip
import hashlib
import re

import brotli

from serasi_web import PACKAGE_ROOT
from serasi_web.static_files import minified

STATIC = PACKAGE_ROOT / "static"
CHROMIUM = {"Accept-Encoding": "gzip, deflate, br, zstd"}


def served(name: str) -> bytes:
    """What the app sends for a file of static/: our own CSS and JavaScript minified."""
    return minified(STATIC / name, (STATIC / name).read_bytes())


def linked(page: str, name: str) -> str:
    found = re.search(rf'(?:href|src)="(/static/{re.escape(name)}\?v=([0-9a-f]+))"', page)
    assert found, f"{name} is not linked with a version"
    return found.group(1)


def test_pages_link_static_files_with_their_content_hash(client):
    page = client.get("/login").get_data(as_text=True)
    for name in ("style.css", "htmx-2.0.11.min.js", "favicon.svg"):
        version = linked(page, name).rsplit("=", 1)[1]
        assert version == hashlib.sha256(served(name)).hexdigest()[:12]
    assert 'rel="icon"' in page


def test_a_versioned_file_is_cached_for_a_year_and_an_unversioned_one_is_revalidated(client):
    url = linked(client.get("/login").get_data(as_text=True), "style.css")
    with client.get(url) as versioned:
        assert versioned.status_code == 200
        assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert versioned.data == served("style.css")
    for stale in ("/static/style.css", "/static/style.css?v=0123456789ab"):
        with client.get(stale) as answer:
            assert "immutable" not in answer.headers["Cache-Control"] and "no-cache" in answer.headers["Cache-Control"]
            etag = answer.headers["ETag"]
        with client.get(stale, headers={"If-None-Match": etag}) as again:
            assert again.status_code == 304 and again.data == b""


def test_text_files_come_compressed_when_the_browser_accepts_it(client):
    url = linked(client.get("/login").get_data(as_text=True), "htmx-2.0.11.min.js")
    original = (STATIC / "htmx-2.0.11.min.js").read_bytes()
    with client.get(url, headers=CHROMIUM) as best:
        assert best.headers["Content-Encoding"] == "br" and "Accept-Encoding" in best.headers["Vary"]
        assert brotli.decompress(best.data) == original and len(best.data) < len(original) / 3
    with client.get(url, headers={"Accept-Encoding": "gzip, deflate"}) as zipped:
        assert zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(zipped.data) == original
        assert zipped.headers["ETag"] != best.headers["ETag"]  # another representation, another tag
    for refusing in ({}, {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip;q=0, br;q=0"}):
        with client.get(url, headers=refusing) as plain:
            assert "Content-Encoding" not in plain.headers and plain.data == original
    with client.get(url.replace("htmx-2.0.11.min.js", "favicon.ico"), headers=CHROMIUM) as icon:
        assert "Content-Encoding" not in icon.headers  # an image is compressed already


def test_the_favicon_answers_at_the_site_root(client):
    with client.get("/favicon.ico") as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/vnd.microsoft.icon"
        assert icon.data == (STATIC / "favicon.ico").read_bytes() and icon.data[:4] == b"\x00\x00\x01\x00"
        assert "no-store" not in icon.headers["Cache-Control"]
    assert client.get("/static/no-such-file.css").status_code == 404


def test_pages_are_compressed_for_browsers_that_accept_it_and_personal_ones_stay_uncached(app, operator_client):
    plain = operator_client.get("/dashboard")
    zipped = operator_client.get("/dashboard", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in plain.headers and "Accept-Encoding" in plain.headers["Vary"]
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    page = gzip.decompress(zipped.data).decode()
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert zipped.headers["Cache-Control"] == "no-store"
    # Static files are never personal, even for a logged-in user, nor vary by the session cookie.
    with operator_client.get(linked(plain.get_data(as_text=True), "style.css")) as css:
        assert "immutable" in css.headers["Cache-Control"]
        assert css.headers["Vary"] == "Accept-Encoding"
    assert "Cookie" in plain.headers["Vary"]  # a page does


def test_every_file_of_the_static_folder_is_served(client):
    names = [path.relative_to(STATIC).as_posix() for path in STATIC.rglob("*") if path.is_file()]
    assert "favicon.svg" in names
    for name in names:
        with client.get(f"/static/{name}", follow_redirects=True) as answer:  # favicon.ico: to /favicon.ico
            assert answer.status_code == 200, name
            assert answer.data == served(name)


def test_our_own_style_sheets_and_scripts_are_served_minified_and_vendored_ones_as_they_are():
    for name in ("style.css", "receipt.css", "form-requests.js", "capture.js", "receipt.js"):
        source, sent = (STATIC / name).read_bytes(), served(name)
        assert len(sent) < len(source) * 0.8, name
        assert b"\n  " not in sent and b"// " not in sent and b"/* " not in sent, name  # no indentation, no comments
    # What must survive: strings, regular expressions, the selectors and the JSON the pages use.
    script = served("form-requests.js").decode()
    assert '"meta[name=serasi-scripts-on-demand]"' in script and '"a[href^=\'#\']"' in script
    assert r"/\.[^.]*$/" in served("capture.js").decode()
    assert served("htmx-2.0.11.min.js") == (STATIC / "htmx-2.0.11.min.js").read_bytes()
    assert served("favicon.svg") == (STATIC / "favicon.svg").read_bytes()


def test_pages_come_with_brotli_when_the_browser_offers_it(app, operator_client, lodging):
    from serasi_web import compression

    for path in ("/dashboard", f"/lodgings/{lodging.id}/stays/new"):
        plain = operator_client.get(path).data
        best = operator_client.get(path, headers=CHROMIUM)
        assert best.headers["Content-Encoding"] == "br" and "Accept-Encoding" in best.headers["Vary"]
        page = brotli.decompress(best.data)
        assert page.startswith(b"<!doctype html>") and page.rstrip().endswith(b"</html>")
        assert len(page) - 400 < len(plain) < len(page) + 400  # the same page (its tokens differ)
        zipped = operator_client.get(path, headers={"Accept-Encoding": "gzip, deflate"})  # Chromium over plain HTTP
        assert zipped.headers["Content-Encoding"] == "gzip" and len(best.data) < len(zipped.data)
    # The report form (two country lists) is large enough for the slower, better quality.
    assert compression.LARGE_BYTES <= len(page) <= compression.HUGE_BYTES
    assert len(best.data) < len(brotli.compress(page, quality=compression.BROTLI_QUALITY)) * 0.95
