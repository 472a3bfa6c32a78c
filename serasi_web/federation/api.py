"""``/api/v1/federation``: another SERASI Web instance sends its lodgings and stay events here
with the token this instance's admin issued for it (Admin › Federation)."""
from __future__ import annotations

from flask import Blueprint, current_app, g, request

from ..rate_limits import allow
from .peers import peer_for_token
from .receiving import Invalid, receive

# The name starts with "api": exempt from CSRF (every request carries its token).
api = Blueprint("api_federation", __name__, url_prefix="/api/v1/federation")


def _problem(*args, **kwargs):
    from serasi_web.api.problems import problem

    return problem(*args, **kwargs)


@api.before_request
def _authenticate():
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _problem(401, "Unauthorized", "Send the peer token as 'Authorization: Bearer <token>'.", "unauthorized")
    peer = peer_for_token(token.strip())
    if peer is None:
        return _problem(401, "Unauthorized", "This peer token is unknown, was replaced or has been revoked.", "unauthorized")
    allowed, retry_after = allow(current_app.config["API_RATE_LIMIT"], "federation-peer", str(peer.id))
    if not allowed:
        response = _problem(429, "Too Many Requests", "Rate limit per peer; retry later.", "rate-limited")
        response.headers["Retry-After"] = str(retry_after)
        return response
    g.federation_peer = peer
    request.max_content_length = current_app.config["API_MAX_BODY"]
    return None


@api.post("/events")
def events():
    """Apply one stay event with its lodging: 201 created, 200 updated or unchanged (the same
    event twice, or an older version than the one applied), 422 naming each bad field."""
    from serasi_web.api.problems import json_body

    body, failure = json_body()
    if failure:
        return failure
    try:
        applied = receive(g.federation_peer, body)
    except Invalid as invalid:
        return _problem(422, "Unprocessable Content", "The event has invalid fields.", "invalid-federation-event", errors=invalid.errors)
    stay = applied.stay
    answer = {"outcome": applied.outcome, "stay_id": stay.id, "lodging_id": stay.lodging_id, "office_id": stay.lodging.office_id,
              "origin_stay_id": applied.record.origin_stay_id, "origin_version": applied.record.origin_version, "status": stay.status}
    return answer, 201 if applied.outcome == "created" else 200
