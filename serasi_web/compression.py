"""gzip for pages: an HTML answer of 1 KB or more is compressed when the browser accepts gzip
(static files have their own, precompressed copies: static_files.py).

The report form's HTML (two country lists of 265 names each) is 36 KB and 7 KB compressed: with
the static files compressed too (static_files.py) a cold page stays under 30 KB on a phone
(bench/page_weight.py, docs/benchmarks.md). nginx in front passes an answer already compressed
through as it is.

Why compressing pages that hold a CSRF token and personal data is safe here (BREACH): the attack
needs the victim's browser to send many requests, chosen by another site, that carry the session
and reflect the attacker's guesses, and to measure each answer's size. The session cookie is
``SameSite=Lax``: a cross-site fetch, image, frame or form POST carries no session, so what it
gets back is an anonymous page; only a top-level navigation carries it, one visible page load per
guess. See docs/security.md.
"""
from __future__ import annotations

import gzip

from flask import Flask, Response, request

MINIMUM_BYTES = 1024  # below this the gzip header and the extra work are not worth it
COMPRESSED_TYPES = frozenset({"text/html"})
LEVEL = 6


def best_encoding(available: tuple[str, ...]) -> str | None:
    """The first of ``available`` (in our order of preference) that the request's
    ``Accept-Encoding`` allows, or None (send it as it is). ``q=0`` refuses a coding; ``*``
    stands for any coding not named."""
    qualities: dict[str, float] = {}
    for part in request.headers.get("Accept-Encoding", "").split(","):
        coding, _, parameters = part.strip().partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        try:
            qualities[coding] = float(parameters.replace(" ", "").lower().removeprefix("q=")) if parameters else 1.0
        except ValueError:
            qualities[coding] = 0.0
    for coding in available:
        if qualities.get(coding, qualities.get("*", 0.0)) > 0:
            return coding
    return None


def compress_page(response: Response) -> Response:
    if (response.mimetype not in COMPRESSED_TYPES or response.direct_passthrough or response.is_streamed
            or "Content-Encoding" in response.headers or not 200 <= response.status_code < 300):
        return response
    response.vary.add("Accept-Encoding")  # the same URL answers both ways: caches must tell them apart
    body = response.get_data()
    if len(body) < MINIMUM_BYTES or best_encoding(("gzip",)) is None:
        return response
    response.set_data(gzip.compress(body, compresslevel=LEVEL))
    response.headers["Content-Encoding"] = "gzip"
    return response


def init_app(app: Flask) -> None:
    app.after_request(compress_page)
