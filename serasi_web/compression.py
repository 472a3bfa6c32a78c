"""Brotli or gzip for pages: an HTML answer of 1 KB or more is compressed with Brotli when the
browser accepts it (Chromium and Firefox do over HTTPS), else with gzip (static files have their
own, precompressed copies: static_files.py).

The report form's HTML (two country lists of 265 names each) is 38 KB: 8.0 KB with gzip, 7.3 KB
with Brotli at quality 5 (under 1 ms, faster than gzip), 6.4 KB at quality 10 (8-10 ms of one
core), which keeps the cold report form under 30 KB (bench/page_weight.py, docs/benchmarks.md).
Quality 10 costs about 0.3 ms per KB: it is used from 16 KB, where it saves 0.6 KB or more, to
48 KB (a 64 KB table would take 24 ms); a smaller page gains under 0.2 KB from it for 1-3 ms, a
larger one would wait too long, and both get quality 5. nginx in front passes an answer already
compressed through as it is.

Why compressing pages that hold a CSRF token and personal data is safe here (BREACH): the attack
needs the victim's browser to send many requests, chosen by another site, that carry the session
and reflect the attacker's guesses, and to measure each answer's size. The session cookie is
``SameSite=Lax``: a cross-site fetch, image, frame or form POST carries no session, so what it
gets back is an anonymous page; only a top-level navigation carries it, one visible page load per
guess. See docs/security.md.
"""
from __future__ import annotations

import gzip

import brotli
from flask import Flask, Response, request

MINIMUM_BYTES = 1024  # below this the gzip header and the extra work are not worth it
COMPRESSED_TYPES = frozenset({"text/html"})
GZIP_LEVEL = 6
BROTLI_QUALITY = 5
BROTLI_QUALITY_LARGE = 10  # for a body of LARGE_BYTES up to HUGE_BYTES
LARGE_BYTES = 16 * 1024
HUGE_BYTES = 48 * 1024


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
    coding = best_encoding(("br", "gzip")) if len(body) >= MINIMUM_BYTES else None
    if coding == "br":
        quality = BROTLI_QUALITY_LARGE if LARGE_BYTES <= len(body) <= HUGE_BYTES else BROTLI_QUALITY
        response.set_data(brotli.compress(body, quality=quality, mode=brotli.MODE_TEXT))
    elif coding == "gzip":
        response.set_data(gzip.compress(body, compresslevel=GZIP_LEVEL))
    else:
        return response
    response.headers["Content-Encoding"] = coding
    return response


def init_app(app: Flask) -> None:
    app.after_request(compress_page)
