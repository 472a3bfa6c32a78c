"""RFC 9457 problem details: every API error names what went wrong and, for bad input, each field."""
from __future__ import annotations

import json

from flask import jsonify, request

# Stable identifiers that need no server of their own to resolve; each is listed in docs/api.md.
PROBLEM_TYPES = "urn:serasi-web:problem:"


def problem_type(kind: str) -> str:
    return PROBLEM_TYPES + kind


def problem(status: int, title: str, detail: str = "", kind: str = "", errors: list[dict] | None = None, **extra):
    body = {"type": problem_type(kind) if kind else "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors  # [{"pointer": "/guest/surname", "detail": "..."}]
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def json_body(max_bytes: int | None = None):
    """(the request's JSON, None), or (None, a problem response): 415 wrong type, 400 malformed,
    413 too large. ``max_bytes`` raises the limit for an endpoint that takes many items at once."""
    if max_bytes:
        request.max_content_length = max_bytes
    if request.mimetype != "application/json":
        return None, problem(415, "Unsupported Media Type", "Send the body as application/json.", "unsupported-media-type")
    if request.content_length and request.content_length > request.max_content_length:
        return None, problem(413, "Content Too Large", f"The body may be at most {request.max_content_length} bytes.", "too-large")
    raw = request.get_data(cache=True)  # raises 413 itself when there is no Content-Length
    try:
        return json.loads(raw or b"null"), None
    except ValueError as error:
        return None, problem(400, "Bad Request", f"Malformed JSON: {error}", "malformed-json")
    except RecursionError:  # tens of thousands of nested [ or { fit in the size limit
        return None, problem(400, "Bad Request", "Malformed JSON: nested too deeply.", "malformed-json")
