"""Bearer-token authentication and JSON bodies, shared by every machine interface of a lodging
(the push API, and other plugins' APIs such as the company mess roster)."""
from __future__ import annotations

import hashlib

from flask import current_app, g, request
from flask_babel import gettext as _
from sqlalchemy import select

from serasi_web.api.problems import json_body, problem  # noqa: F401  (json_body: imported from here by the plugins)
from serasi_web.database import utcnow
from serasi_web.extensions import db
from serasi_web.lodgings.models import Lodging
from serasi_web.rate_limits import allow

from .models import ApiToken


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


READ_METHODS = ("GET", "HEAD", "OPTIONS")
LAST_USE_RESOLUTION_SECONDS = 60


def authenticate():
    """A blueprint's ``before_request``: sets ``g.api_token`` and ``g.lodging``, or answers 401
    (no, unknown, revoked or expired token) / 403 (disabled account, a write with a read-only
    token) / 429 as problem details; also sets the body size limit for one stay (``json_body``)."""
    header = request.headers.get("Authorization", "")
    scheme, _space, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return problem(401, "Unauthorized", "Send the lodging's API token as 'Authorization: Bearer <token>'.", "unauthorized")
    row = db.session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(token.strip()))).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return problem(401, "Unauthorized", "This token is unknown or has been revoked.", "unauthorized")
    now = utcnow()
    if row.expires_at <= now:
        return problem(401, "Unauthorized", _("This token expired on %(date)s (UTC). The lodging's operator can create a new one on the "
                                              "lodging's API tokens page.", date=row.expires_at.strftime("%Y-%m-%d %H:%M")), "token-expired")
    lodging = db.session.get(Lodging, row.lodging_id)
    if lodging is None or not lodging.owner.enabled:
        return problem(403, "Forbidden", "The account that owns this lodging is disabled.", "forbidden")
    if row.scope != "write" and request.method not in READ_METHODS:
        return problem(403, "Forbidden", _("This token is read-only: it may read (GET) but not change anything. "
                                           "Use a token with read and write access."), "read-only-token")
    allowed, retry_after = allow(current_app.config["API_RATE_LIMIT"], "api-token", str(row.id))
    if not allowed:
        response = problem(429, "Too Many Requests", f"Rate limit {current_app.config['API_RATE_LIMIT']} per token; retry later.", "rate-limited")
        response.headers["Retry-After"] = str(retry_after)
        return response
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() >= LAST_USE_RESOLUTION_SECONDS:
        row.last_used_at = now  # coarse: at most one write a minute per token, so reads do not all become writes
        db.session.commit()
    g.api_token, g.lodging = row, lodging
    request.max_content_length = current_app.config["API_MAX_BODY"]
    return None


