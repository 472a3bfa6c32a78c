"""Bundled plugin: the forwarders that deliver stay events onward (see docs/delivery.md).

- ``webhook``: a JSON POST signed with HMAC-SHA256 (``SERASI_WEBHOOK_URL``, ``SERASI_WEBHOOK_SECRET``);
- ``federation``: another SERASI Web's push API (``SERASI_FEDERATION_URL``, ``SERASI_FEDERATION_TOKEN``);
- ``email``: a message per event over SMTP (``SERASI_DELIVERY_EMAIL_TO`` and the ``SERASI_SMTP_*`` settings).

Each is skipped while its settings are missing.
"""
from __future__ import annotations

from serasi_web import hookimpl


@hookimpl(trylast=True)
def serasi_register_forwarders(register):
    from .email import EmailForwarder
    from .federation import FederationForwarder
    from .webhook import WebhookForwarder

    register(WebhookForwarder())
    register(FederationForwarder())
    register(EmailForwarder())
