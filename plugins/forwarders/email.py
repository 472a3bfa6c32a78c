"""The e-mail forwarder: one message per stay event to ``DELIVERY_EMAIL_TO`` over SMTP.

The Message-ID is made from the idempotency key, so a mail system (or a person) can tell a
repeat from a new event; the event's JSON is attached.
"""
from __future__ import annotations

import json

from flask import current_app, render_template
from flask_babel import force_locale

from serasi_web.delivery.forwarders import DeliveryResult
from serasi_web.notifications.mail import build_message, send_message


class EmailForwarder:
    name = "email"

    def configured(self, app) -> bool:
        return bool(app.config.get("DELIVERY_EMAIL_TO") and app.config.get("SMTP_HOST"))

    def deliver(self, event: dict):
        config = current_app.config
        recipients = [address.strip() for address in config["DELIVERY_EMAIL_TO"].split(",") if address.strip()]
        with force_locale(config.get("BABEL_DEFAULT_LOCALE", "id")):
            subject = render_template("emails/stay_event_subject.txt", event=event).strip()
            text_body = render_template("emails/stay_event.txt", event=event)
        message = build_message(recipients, subject, text_body, headers={"X-Serasi-Idempotency-Key": event["idempotency_key"]})
        del message["Message-ID"]
        message["Message-ID"] = f"<{event['idempotency_key']}@serasi.invalid>"
        message.add_attachment(json.dumps(event, ensure_ascii=False, indent=1).encode(), maintype="application",
                               subtype="json", filename=f"{event['idempotency_key']}.json")
        send_message(message)  # any SMTP or network error is raised: retried with backoff
        return DeliveryResult(250)
