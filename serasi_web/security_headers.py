"""One HTTP header policy for every response (``after_request``).

* A Content-Security-Policy that allows no inline script or style at all: every script and style
  sheet comes from ``static/``, htmx is configured (``base.html``) to evaluate nothing, and no
  template has an ``on*=`` handler or a ``style=`` attribute (tests/security/test_headers.py walks
  every page to hold this).
* ``X-Content-Type-Options: nosniff``, ``frame-ancestors 'none'`` (and ``X-Frame-Options`` for
  older browsers), a restrictive ``Permissions-Policy``, HSTS when served over HTTPS.
* ``Referrer-Policy: same-origin``: nothing leaves for another site, but our own forms still
  send the same-origin Referer that Flask-WTF's CSRF check requires on HTTPS (``no-referrer``
  would refuse every form there; see docs/security.md).
* ``Cache-Control: no-store`` on every answer to a logged-in user and on the API: pages with
  passport data must not stay in a shared or a browser cache. Static files are the exception
  (they hold no personal data).

Static files (style sheets, scripts, icons) are not pages: a browser applies the page policy
(the CSP's fetch directives, ``Permissions-Policy``, framing and opener policies) to a document
only, so on them it was 460 bytes of nothing per answer, 2.3 KB of a cold report form
(bench/page_weight.py). They get ``nosniff`` (what matters for a script or a style sheet), the
referrer policy, and ``Content-Security-Policy: default-src 'none'`` for an SVG opened on its own
(it may load and run nothing).
"""
from __future__ import annotations

from flask import Flask, request
from flask_login import current_user

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

# Features no page uses; the camera only where a report form takes a photo of the document.
_PERMISSIONS = ("accelerometer=()", "autoplay=()", "browsing-topics=()", "display-capture=()", "geolocation=()",
                "gyroscope=()", "magnetometer=()", "microphone=()", "midi=()", "payment=()", "usb=()")
PERMISSIONS_POLICY = ", ".join(("camera=()",) + _PERMISSIONS)
CAMERA_PERMISSIONS_POLICY = ", ".join(("camera=(self)",) + _PERMISSIONS)
CAMERA_ENDPOINTS = frozenset({"stays.new", "stays.edit", "stays.add_group_guest", "guest_arrivals.new_guest"})

STATIC_CONTENT_SECURITY_POLICY = "default-src 'none'"

HSTS = "max-age=31536000; includeSubDomains"


def init_app(app: Flask) -> None:
    app.after_request(apply_security_headers)


def _personal(response) -> bool:
    if request.endpoint == "static":
        return False
    if request.path.startswith("/api/"):
        return True
    try:
        return bool(current_user and current_user.is_authenticated)
    except Exception:  # noqa: BLE001 - no user can be loaded (e.g. the database is gone): be strict
        return True


def apply_security_headers(response):
    """Set the policy on ``response`` (headers a view already set are kept, except caching of
    personal answers, which is always ``no-store``)."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint == "static" and response.status_code < 400:
        headers.setdefault("Content-Security-Policy", STATIC_CONTENT_SECURITY_POLICY)
    else:
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy",
                           CAMERA_PERMISSIONS_POLICY if request.endpoint in CAMERA_ENDPOINTS else PERMISSIONS_POLICY)
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if _personal(response):
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
        headers.pop("ETag", None)
        headers.pop("Last-Modified", None)
    return response
