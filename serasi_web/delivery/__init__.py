"""Delivery of stay events to other systems: the transactional outbox, the dispatcher that hands
events to every configured forwarder, and the admin's delivery page."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import models  # noqa: F401  (the delivery table)
    from .routes import blueprint, delivery_status

    app.register_blueprint(blueprint)
    app.add_template_global(delivery_status)
    app.add_template_global(delivery_status_label)


def delivery_status_label(status: str) -> str:
    """The status of a delivery in the reader's language."""
    from flask_babel import gettext as _

    labels = {"pending": _("waiting to be sent"), "delivered": _("delivered"), "failed": _("refused: needs a person"),
              "dead": _("gave up after many attempts"), "queued": _("queued")}
    return labels.get(status, status)
