"""``GET /healthz`` for load balancers and monitoring."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from .extensions import db

blueprint = Blueprint("health", __name__)


@blueprint.route("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure to reach the database is "down", never a 500
        current_app.logger.warning("health check: database unreachable", exc_info=True)
        try:
            db.session.rollback()  # on a dead connection this can fail too
        except Exception:  # noqa: BLE001
            db.session.remove()
        return jsonify(status="error", database="error"), 503
    return jsonify(status="ok", database="ok")
