"""Reading JSON from another system's API for a pull adapter (``StaySource.pull``), with the same
outbound rules as the forwarders (``delivery/destinations.check_destination``): no loopback,
private or link-local address unless an admin listed the host in OUTBOUND_ALLOWED_HOSTS,
https:// only in production, TLS certificates verified, redirects never followed.

Every failure becomes a ``SourceError`` whose message is for the operator: nothing of the other
system's answer goes in it (it may hold guests' data), only what went wrong and whether trying
again later may help.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Mapping

import requests
from flask import current_app
from flask_babel import lazy_gettext as _l

from .delivery.destinations import check_destination
from .delivery.forwarders import DeliveryFailed
from .plugin_types import SourceError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 15.0
DEFAULT_MAX_BYTES = 5 * 1024 * 1024  # one page of bookings is far smaller; a larger answer is not what the docs describe


class CredentialsRefused(SourceError):
    """The other system answered 401 or 403: the credentials (or a token made from them) were
    refused. Not retried, unless the adapter has a fresher token to try."""

    def __init__(self, system: str):
        super().__init__(_l("%(system)s refused the credentials; check them in the connection's settings.", system=system),
                         retry=False)


def get_json(system: str, url: str, *, headers: Mapping[str, str] | None = None, params: Mapping[str, Any] | None = None) -> Any:
    """GET ``url`` and return its JSON body. ``system`` names the other system in the log (never
    the URL's query, which may name a guest). Raises ``SourceError``: retry=False when the
    credentials were refused (401/403) or the URL may not be reached; retry=True otherwise."""
    try:
        check_destination(url)
    except DeliveryFailed as refused:
        log.warning("%s: outbound address refused: %s", system, refused)
        raise SourceError(_l("The address of %(system)s is not allowed from this server; tell the administrator.", system=system),
                          retry=False) from None
    config = current_app.config
    timeout = float(config.get("SOURCE_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT_SECONDS)
    max_bytes = int(config.get("SOURCE_MAX_RESPONSE_BYTES") or DEFAULT_MAX_BYTES)
    try:
        with requests.get(url, headers={"Accept": "application/json", "User-Agent": "SERASI-Web-sources/1", **(headers or {})},
                          params=params, timeout=timeout, allow_redirects=False, stream=True, verify=True) as response:
            status = response.status_code
            if status in (401, 403):
                raise CredentialsRefused(system)
            if status != 200:
                log.warning("%s answered HTTP %s", system, status)
                raise SourceError(_l("%(system)s answered with an error (HTTP %(status)s); the pull will be tried again later.",
                                     system=system, status=status))
            body = _read_capped(response, max_bytes)
    except SourceError:
        raise
    except requests.exceptions.SSLError:
        log.warning("%s: TLS certificate not verified", system)
        raise SourceError(_l("The certificate of %(system)s could not be verified; the pull will be tried again later.", system=system)) from None
    except requests.exceptions.RequestException as error:
        log.warning("%s unreachable: %s", system, type(error).__name__)
        raise SourceError(_l("%(system)s could not be reached; the pull will be tried again later.", system=system)) from None
    if body is None:
        log.warning("%s answered more than %s bytes", system, max_bytes)
        raise SourceError(_l("%(system)s sent an answer larger than allowed; the pull will be tried again later.", system=system))
    try:
        return json.loads(body)
    except ValueError:
        log.warning("%s answered something that is not JSON", system)
        raise SourceError(_l("%(system)s sent an answer that is not what its documentation describes; the pull will be tried "
                             "again later.", system=system)) from None


def unexpected(system: str) -> SourceError:
    """The error for a JSON answer whose shape is not the documented one."""
    return SourceError(_l("%(system)s sent an answer that is not what its documentation describes; the pull will be tried "
                          "again later.", system=system))


def _read_capped(response: requests.Response, max_bytes: int) -> bytes | None:
    """The body, or None when it is longer than ``max_bytes`` (read no further than that)."""
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        return None
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
