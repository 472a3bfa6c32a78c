"""Static files served from memory: versioned URLs cached for a year, Brotli or gzip where it pays.

At start (``init_app``) every file of ``static/`` is read once; our own style sheets and scripts
are minified (rcssmin, rjsmin: comments and indentation go, 28-45% smaller even after Brotli;
the files in the repository stay readable), the content hash of what is served computed and, for
text types (CSS, JavaScript, SVG), a Brotli and a gzip copy made. Then:

* ``url_for('static', filename=...)`` adds ``?v=<content hash>`` by itself (a ``url_defaults``
  callback), so every template, including plugins', gets versioned URLs without a helper;
* a request carrying the current ``v`` is answered ``Cache-Control: public, max-age=31536000,
  immutable``: a browser never asks again, and a changed file has another URL. Without ``v`` (or
  with a stale one) the answer must be revalidated (``no-cache`` with an ``ETag``, 304 when it
  matches), so nothing old outlives a deployment;
* a Brotli or gzip copy is sent when ``Accept-Encoding`` allows it, with ``Vary: Accept-Encoding``
  (htmx goes from 52 KB to 15 KB with Brotli, 17 KB with gzip; docs/benchmarks.md);
* ``/favicon.ico`` is the static file of that name (browsers ask for it whatever the page links).

Answers come from memory, never from an open file: no file handle can be left open by a client
that stops reading (one was, under ResourceWarning-as-error in tests/test_bad_input.py).
Static files hold no personal data: security_headers leaves them cacheable.
"""
from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import brotli
import rcssmin
import rjsmin
from flask import Flask, Response, abort, request
from flask.sessions import SecureCookieSessionInterface

from .compression import best_encoding

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"
# Types worth compressing; images other than SVG and fonts are compressed already.
COMPRESSIBLE_SUFFIXES = frozenset({".css", ".js", ".svg", ".json", ".txt", ".map"})
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml",
          ".ico": "image/vnd.microsoft.icon", ".json": "application/json", ".txt": "text/plain; charset=utf-8"}


@dataclass(frozen=True)
class StaticFile:
    content: bytes  # as served: minified for our own CSS and JavaScript
    encoded: dict[str, bytes]  # "br", "gzip": the copies smaller than the content
    version: str  # the first 12 hex digits of the content's SHA-256
    content_type: str


# Built files by (path, size, modification time): a second ``create_app()`` in the same process
# (tests build hundreds) reuses them instead of hashing and compressing again.
_built: dict[tuple[str, int, int], StaticFile] = {}


def _load(path: Path) -> StaticFile:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _built:
        content = minified(path, path.read_bytes())
        encoded = {}
        if path.suffix in COMPRESSIBLE_SUFFIXES:
            # Brotli at its best quality (once, at start: 0.4 s for htmx) is 10-16% smaller than
            # gzip -9; gzip for the clients without it. mtime=0: the same bytes at every start.
            for coding, compressed in (("br", brotli.compress(content, quality=11)),
                                       ("gzip", gzip.compress(content, compresslevel=9, mtime=0))):
                if len(compressed) < len(content) * 0.9:
                    encoded[coding] = compressed
        content_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        _built[key] = StaticFile(content, encoded, hashlib.sha256(content).hexdigest()[:12], content_type)
    return _built[key]


def minified(path: Path, content: bytes) -> bytes:
    """Our own CSS and JavaScript without comments and indentation; anything else (and a file
    minified already, ``*.min.js``) as it is. The version hash is taken from this, so a newer
    minifier that writes other bytes gets another URL."""
    if path.suffix == ".css" and not path.name.endswith(".min.css"):
        return rcssmin.cssmin(content.decode("utf-8")).encode("utf-8")
    if path.suffix == ".js" and not path.name.endswith(".min.js"):
        return rjsmin.jsmin(content.decode("utf-8")).encode("utf-8")
    return content


def load_static_files(folder: Path) -> dict[str, StaticFile]:
    """Every file under ``folder`` by its name relative to it (with ``/``)."""
    if not folder.is_dir():
        return {}
    return {path.relative_to(folder).as_posix(): _load(path)
            for path in sorted(folder.rglob("*")) if path.is_file() and not path.name.startswith(".")}


def static_response(files: dict[str, StaticFile], filename: str) -> Response:
    found = files.get(filename)
    if found is None:
        abort(404)
    coding = best_encoding(tuple(found.encoded)) if found.encoded else None
    response = Response(found.encoded[coding] if coding else found.content, content_type=found.content_type)
    # A strong ETag per representation (a compressed copy is other bytes).
    response.set_etag(found.version + (f"-{coding}" if coding else ""))
    if coding:
        response.headers["Content-Encoding"] = coding
    if found.encoded:
        response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = IMMUTABLE if request.args.get("v") == found.version else REVALIDATE
    return response.make_conditional(request)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, less ``Vary: Cookie`` on static files. Flask adds it to
    every answer whose request looked at the session, and Flask-Login looks on every request
    (its remember-cookie check): a cache in between (a CDN, a proxy) would otherwise keep a copy
    of each style sheet and script per session cookie. A static file never depends on it."""

    def save_session(self, app, session, response) -> None:
        super().save_session(app, session, response)
        if request.endpoint == "static" and not session.modified:
            # Lower case: werkzeug's HeaderSet.remove compares its list with the name as given.
            response.vary.discard("cookie")


def init_app(app: Flask) -> None:
    if type(app.session_interface) is SecureCookieSessionInterface:  # a custom one is left alone
        app.session_interface = SessionInterface()
    folder = Path(app.static_folder) if app.static_folder else None
    files = load_static_files(folder) if folder else {}
    app.extensions["serasi_static_files"] = files

    def serve_static(filename: str) -> Response:
        return static_response(files, filename)

    @app.before_request
    def reload_static_files_in_debug_mode() -> None:
        # With the debugger on (a developer's machine) an edited style sheet gets its new hash on
        # the next page, without a restart; unchanged files are not read again (``_built``).
        if app.debug and folder:
            fresh = load_static_files(folder)
            files.update(fresh)  # never emptied on the way: another thread may be serving
            for gone in set(files) - set(fresh):
                files.pop(gone, None)

    app.view_functions["static"] = serve_static
    if "favicon.ico" in files:
        app.add_url_rule("/favicon.ico", endpoint="static", defaults={"filename": "favicon.ico"})

    @app.url_defaults
    def version_static_urls(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "v" not in values:
            found = files.get(values.get("filename", ""))
            if found is not None:
                values["v"] = found.version
