"""``GET /healthz`` for load balancers and monitoring (JSON), and for a person (HTML)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request
from sqlalchemy import text

from .extensions import db
from .plugins import plugin_failures
from .replica import health as replica_health

blueprint = Blueprint("health", __name__)


@blueprint.route("/healthz")
def healthz():
    """``ok``; ``degraded`` (200: still serving) when plugins failed to load in a degraded start
    or the console's replica is behind or down (its reads then go to the primary);
    ``error`` (503) when the database cannot be reached."""
    database = "ok"
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure to reach the database is "down", never a 500
        current_app.logger.warning("health check: database unreachable", exc_info=True)
        try:
            db.session.rollback()  # on a dead connection this can fail too
        except Exception:  # noqa: BLE001
            db.session.remove()
        database = "error"
    failures = plugin_failures()
    replica = replica_health() if database == "ok" else {}
    replica_unusable = replica.get("replica") in ("lagging", "down", "unknown")
    status = "error" if database == "error" else "degraded" if failures or replica_unusable else "ok"
    code = 503 if database == "error" else 200
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        return render_template("health.html", status=status, database=database, failures=failures, replica=replica), code
    return jsonify(status=status, database=database, plugins="degraded" if failures else "ok",
                   plugin_failures=failures, **replica), code
