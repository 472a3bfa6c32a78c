"""Absolute links (the receipt's QR code, the API's ``self`` links, e-mails) are built from the
``PUBLIC_URL`` setting, never from the request: a ``Host`` or ``X-Forwarded-Host`` header sent by
a client must not change a link that is printed on a receipt or mailed to someone."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def public_base() -> str:
    """``PUBLIC_URL`` without its trailing slash (scheme, host and the path the app is mounted at)."""
    return current_app.config["PUBLIC_URL"].rstrip("/")


def public_url(endpoint: str, **values) -> str:
    """The absolute URL of ``endpoint`` under ``PUBLIC_URL``."""
    parts = urlsplit(public_base())
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
    return adapter.build(endpoint, values, force_external=True)
