"""Where forwarders may send: never to this machine or a private network unless an admin listed
the host, and only over https:// in production.

A webhook or federation URL is set by an admin, but a mistaken or hostile one must not turn the
delivery worker into a way to reach internal services (cloud metadata at 169.254.169.254, a
database port on 10.x, the app itself on 127.0.0.1). Every address the host name resolves to
must be a global one; ``OUTBOUND_ALLOWED_HOSTS`` lists hosts (names or addresses, as written
in the URL) allowed anyway. Forwarders also never follow redirects (``allow_redirects=False``):
a 3xx answer is a failed delivery, so a signed payload is never re-sent to another address.
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from flask import current_app

from .forwarders import DeliveryFailed


def check_destination(url: str) -> None:
    """Raise ``DeliveryFailed`` (not retried: a person must change the setting) when ``url`` may
    not be sent to."""
    config = current_app.config
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise DeliveryFailed(f"refused: {parts.scheme or 'no'} scheme in the destination URL", retry=False)
    if parts.scheme != "https" and config["ENV_NAME"] == "production":
        raise DeliveryFailed("refused: production sends only to https:// URLs", retry=False)
    host = parts.hostname
    if host in set(config.get("OUTBOUND_ALLOWED_HOSTS") or ()):
        return
    try:
        literal = ipaddress.ip_address(host)
        addresses = [literal]
    except ValueError:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP)
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in addresses:
        if not address.is_global:
            raise DeliveryFailed(f"refused: {host} is a loopback, private or link-local address ({address}); "
                                 "an admin may list the host in OUTBOUND_ALLOWED_HOSTS", retry=False)
