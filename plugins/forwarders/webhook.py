"""The webhook forwarder: each event as a JSON POST, signed with HMAC-SHA256.

Headers: ``X-Serasi-Timestamp`` (Unix seconds), ``X-Serasi-Signature: v1=<hex>`` where the hex
is HMAC-SHA256 with the shared secret over ``"<timestamp>.<raw body>"``, ``Idempotency-Key``
and ``X-Serasi-Event``. The receiver checks the signature and the timestamp (reject anything
older than 5 minutes) and drops repeats by the idempotency key (``verify_signature`` below is
the recipe; docs/delivery.md has it for other languages).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time

from flask import current_app

from serasi_web.delivery.destinations import check_destination
from serasi_web.delivery.forwarders import check_http_response

from .http import session

SIGNATURE_TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def verify_signature(secret: str, timestamp: str, body: bytes, header: str, now: float | None = None,
                     tolerance: int = SIGNATURE_TOLERANCE_SECONDS) -> bool:
    """What a receiver does: constant-time compare, and refuse old or future timestamps (replays)."""
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header or "")


def encode(event: dict) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


class WebhookForwarder:
    name = "webhook"

    def configured(self, app) -> bool:
        return bool(app.config.get("WEBHOOK_URL") and app.config.get("WEBHOOK_SECRET"))

    def deliver(self, event: dict):
        config = current_app.config
        body = encode(event)
        timestamp = str(int(time.time()))
        check_destination(config["WEBHOOK_URL"])
        response = session().post(config["WEBHOOK_URL"], data=body, timeout=config["DELIVERY_TIMEOUT_SECONDS"], allow_redirects=False, headers={
            "Content-Type": "application/json", "Idempotency-Key": event["idempotency_key"], "X-Serasi-Event": event["event"],
            "X-Serasi-Timestamp": timestamp, "X-Serasi-Signature": signature(config["WEBHOOK_SECRET"], timestamp, body)})
        return check_http_response(response)
