"""RFC 9457 problem details: every API error names what went wrong and, for bad input, each field."""
from __future__ import annotations

from flask import jsonify

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
