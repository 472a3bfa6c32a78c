"""RFC 9457 problem details: every API error names what went wrong and, for bad input, each field."""
from __future__ import annotations

from flask import jsonify

PROBLEM_TYPES = "https://serasi-web.example/problems/"  # stable identifiers; documented in docs/api.md


def problem(status: int, title: str, detail: str = "", kind: str = "", errors: list[dict] | None = None, **extra):
    body = {"type": PROBLEM_TYPES + (kind or str(status)), "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors  # [{"pointer": "/guest/surname", "detail": "..."}]
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response
