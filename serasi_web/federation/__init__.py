"""Federation between SERASI Web instances: per-peer credentials and the receiving API (the
other instance's lodgings mirrored here, its stays keeping their receipt numbers), and the
sending side's backfill. The forwarder itself is plugins/forwarders/federation.py; see
docs/delivery.md, "Federation"."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from ..extensions import csrf
    from . import models  # noqa: F401  (the federation tables)
    from .api import api
    from .routes import blueprint

    csrf.exempt(api)  # every request carries the peer's token
    app.register_blueprint(api)
    app.register_blueprint(blueprint)
    app.add_template_global(lodging_origin)
    app.add_template_global(stay_origin)


def lodging_origin(lodging):
    """(peer, the sending office's name) of a mirrored lodging, or None for this instance's own."""
    if not getattr(lodging, "federation_peer_id", None):
        return None
    from sqlalchemy import select

    from ..extensions import db
    from .models import FederatedLodging, FederationPeer

    row = db.session.execute(select(FederationPeer, FederatedLodging.origin_office).join(
        FederatedLodging, FederatedLodging.peer_id == FederationPeer.id).where(FederatedLodging.lodging_id == lodging.id)).first()
    return (row[0], row[1] or row[0].office_name) if row else None


def stay_origin(stay):
    """The ``FederatedStay`` of a stay another instance sent (its receipt number there), or None."""
    if stay.source != "federation":
        return None
    from sqlalchemy import select

    from ..extensions import db
    from .models import FederatedStay

    return db.session.execute(select(FederatedStay).where(FederatedStay.stay_id == stay.id)).scalar_one_or_none()
