"""The OpenAPI 3.1 description of ``/api/v1`` (served at ``/api/v1/openapi.json``)."""
from __future__ import annotations

from flask import request

from serasi_web.reference.permits import DOCUMENT_TYPES, PURPOSES, SEXES, STAY_PERMITS

from serasi_web.reference import countries

DATE = {"type": "string", "format": "date", "examples": ["2026-11-20"]}
# Letters (the server takes any script's; this pattern, which code generators can check, names
# the Latin ones), with spaces, hyphens, apostrophes, dots or commas between them.
LETTERS = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
NAME_PATTERN = f"^[{LETTERS}]+(?:[ '\\-.,][{LETTERS}]*)*$"


def _object(properties: dict, required: list[str] = ()) -> dict:
    schema = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _text(max_length: int, **extra) -> dict:
    return {"type": "string", "maxLength": max_length, **extra}


def _optional(schema: dict) -> dict:
    """A field that may be left out or sent as null (null is the same as leaving it out)."""
    kind = schema.get("type", "string")
    return {**schema, "type": [kind, "null"]} if "enum" not in schema else {**schema, "enum": [*schema["enum"], None], "type": [kind, "null"]}


def _country() -> dict:
    return {"type": "string", "enum": countries.codes(),
            "description": "ICAO code: ISO 3166 alpha-3, or D, GBD, UNO, XXA ..."}


def stay_body_properties() -> dict:
    return {
        "guest": _object({
            "surname": _text(100, minLength=1, pattern=NAME_PATTERN), "given_names": _optional(_text(100, pattern=f"^$|{NAME_PATTERN}")),
            "sex": {"type": "string", "enum": list(SEXES)}, "date_of_birth": DATE, "place_of_birth": _optional(_text(100)),
            "nationality": _country(),
        }, ["surname", "sex", "date_of_birth", "nationality"]),
        "document": _object({
            "type": _optional({"type": "string", "enum": list(DOCUMENT_TYPES)}),
            "number": {"type": "string", "pattern": "^[A-Z0-9]{3,20}$", "description": "3-20 letters and digits, as in the MRZ."},
            "issuing_state": _country(), "expiry_date": DATE,
        }, ["number", "issuing_state", "expiry_date"]),
        "permit": _object({
            "kind": _optional({"type": "string", "enum": list(STAY_PERMITS), "description": "Stay permit; suggested from visa_index when missing."}),
            "visa_index": _optional(_text(12, pattern="^$|^[A-Z][0-9]{1,2}[A-Z]?$", examples=["C1", "E33G"])),
            "number": _optional(_text(40, pattern="^$|^[A-Z0-9][A-Z0-9/.\\-]{0,39}$")), "entry_date": DATE,
            "port_of_entry": _optional(_text(100)), "valid_until": _optional(DATE), "entry_stamp_qr": _optional(_text(4000)),
        }, ["entry_date"]),
        "stay": _object({
            "check_in": {"type": "string", "format": "date-time", "description": "With an offset, or the lodging's local time without one."},
            "planned_check_out": _optional(DATE), "room": _optional(_text(40)), "purpose": {"type": "string", "enum": list(PURPOSES)},
            "notes": _optional(_text(2000)),
        }, ["check_in", "purpose"]),
    }


STAY_BODY = _object(stay_body_properties(), ["guest", "document", "permit", "stay"])
# A batch item is a stay body with its external id beside it: one flat object (not allOf), so a
# strict validator or a generated client accepts external_id.
BATCH_ITEM = _object({"external_id": {"type": "string", "minLength": 1, "maxLength": 100}, **stay_body_properties()},
                     ["external_id", "guest", "document", "permit", "stay"])

# What POST /stays:validate takes: a stay body, with the external id PUT would use if the client
# has one (then the answer says whether PUT would create, correct or leave the stay alone).
VALIDATE_ITEM = _object({"external_id": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[\\x21-\\x7e]+$"},
                         **stay_body_properties()}, ["guest", "document", "permit", "stay"])
VALIDATION = {"type": "object", "required": ["valid", "outcome", "warnings"], "properties": {
    "valid": {"type": "boolean", "const": True},
    "outcome": {"type": "string", "enum": ["created", "updated", "unchanged"], "description": "What PUT with these values would do."},
    "warnings": {"type": "array", "description": "Accepted, but worth telling the guest (a document or permit ending before the planned check-out).",
                 "items": {"type": "object", "required": ["pointer", "detail"],
                           "properties": {"pointer": {"type": "string"}, "detail": {"type": "string"}}}},
    "stay": {"$ref": "#/components/schemas/Stay"},
}}

STAY = {"type": "object", "properties": {
    "id": {"type": "integer"}, "external_id": {"type": ["string", "null"]},
    "status": {"type": "string", "enum": ["draft", "reported", "checked_out", "voided"]}, "version": {"type": "integer"},
    "receipt_number": {"type": ["string", "null"]}, "deadline": {"type": "string", "format": "date-time"},
    "reported_at": {"type": ["string", "null"], "format": "date-time"}, "late": {"type": "boolean"},
    "checked_out_at": {"type": ["string", "null"], "format": "date-time"}, "check_out_late": {"type": "boolean"},
    "updated_at": {"type": "string", "format": "date-time"}, "links": {"type": "object"},
}, "required": ["id", "status", "deadline", "late"]}

PROBLEM = {"type": "object", "properties": {
    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"},
    "errors": {"type": "array", "items": {"type": "object", "properties": {"pointer": {"type": "string"}, "detail": {"type": "string"}}}},
}, "required": ["type", "title", "status"]}


PROBLEM_DESCRIPTIONS = {
    401: "Problem details (RFC 9457): no token, or an unknown, revoked or expired one (type ...:token-expired)",
    403: "Problem details (RFC 9457): the lodging's account is disabled, or a write with a read-only token (type ...:read-only-token)",
}


def _problems(*codes: int) -> dict:
    return {str(code): {"description": PROBLEM_DESCRIPTIONS.get(code, "Problem details (RFC 9457)"),
                        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for code in codes}


def _json(schema: dict, description: str = "OK", links: dict | None = None) -> dict:
    answer = {"description": description, "content": {"application/json": {"schema": schema}}}
    if links:
        answer["links"] = links
    return answer


# OpenAPI links: what a client (and schemathesis' stateful tests) may do next with a stay it has
# just written. The stay is addressed by the external id the client chose, so each link passes
# the request's own path parameter on.
_SAME_STAY = {"external_id": "$request.path.external_id"}
STAY_LINKS = {
    "GetStay": {"operationId": "getStay", "parameters": _SAME_STAY, "description": "Read the stay back."},
    "CheckOut": {"operationId": "checkOut", "parameters": _SAME_STAY, "description": "Check the guest out."},
    "VoidStay": {"operationId": "voidStay", "parameters": _SAME_STAY, "description": "Void the stay."},
}


EXTERNAL_ID = {"name": "external_id", "in": "path", "required": True, "description": "The property system's own id of the stay.",
               "schema": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[\\x21-\\x7e]+$"}}


# Every operation: no or a bad token (401), a disabled account (403), the rate limit (429), the
# database down (503). Each operation adds its own.
ALWAYS = (401, 403, 429, 503)
BODY = (400, 413, 415, 422)  # malformed JSON, too large, not JSON, invalid fields


def _statuses(*codes: int) -> dict:
    return _problems(*sorted(set(ALWAYS) | set(codes)))


# A token's scope as an OpenAPI 3.1 role of the bearer scheme: every operation takes a "read"
# or "write" token, except those that change something, which need "write".
WRITE_ONLY = [{"bearer": ["write"]}]


def openapi_document() -> dict:
    stay_ref = {"$ref": "#/components/schemas/Stay"}
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "SERASI Web push API", "version": "1",
                 "description": "Keep a lodging's foreign guests reported from a property system. One bearer token per lodging; see docs/api.md. "
                                "Problem types are URNs (urn:serasi-web:problem:...), listed in docs/api.md; a method an address does not "
                                "take answers 405 with Allow."},
        "servers": [{"url": request.host_url.rstrip("/") + "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description":
                "A lodging's token. Each expires (30 days to a year; an expired one answers 401, type "
                "urn:serasi-web:problem:token-expired) and has a scope: \"write\" may call every operation, \"read\" only "
                "GET; a read token on an operation that changes something answers 403 (type urn:serasi-web:problem:read-only-token)."}},
            "schemas": {"StayBody": STAY_BODY, "BatchItem": BATCH_ITEM, "ValidateItem": VALIDATE_ITEM, "Validation": VALIDATION,
                        "Stay": STAY, "Problem": PROBLEM},
        },
        "paths": {
            "/stays/{external_id}": {
                "parameters": [EXTERNAL_ID],
                "put": {"summary": "Create or update a stay (idempotent)", "operationId": "putStay", "security": WRITE_ONLY,
                        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StayBody"}}}},
                        "responses": {"201": _json(stay_ref, "Created and reported", STAY_LINKS),
                                      "200": _json(stay_ref, "Unchanged, or corrected", STAY_LINKS),
                                      **_statuses(*BODY, 409)}},
                "get": {"summary": "Read a stay", "operationId": "getStay", "responses": {"200": _json(stay_ref), **_statuses(404)}},
                "delete": {"summary": "Void a stay (reported by mistake)", "operationId": "voidStay", "security": WRITE_ONLY,
                           "description": "The reason comes as ?reason=... or as a JSON body {\"reason\": ...} (the body wins).",
                           "parameters": [{"name": "reason", "in": "query", "required": False,
                                           "schema": {"type": "string", "minLength": 1, "maxLength": 1000}}],
                           "requestBody": {"required": False, "content": {"application/json": {"schema": _object(
                               {"reason": {"type": "string", "minLength": 1, "maxLength": 1000}}, ["reason"])}}},
                           "responses": {"200": _json(stay_ref, "Voided (or already voided)"), **_statuses(400, 404, 413, 422)}},
            },
            "/stays/{external_id}/check-out": {
                "parameters": [EXTERNAL_ID],
                "post": {"summary": "Check a guest out", "operationId": "checkOut", "security": WRITE_ONLY,
                         "requestBody": {"required": True, "content": {"application/json": {"schema": _object(
                             {"checked_out_at": {"type": "string", "format": "date-time"}}, ["checked_out_at"])}}},
                         "responses": {"200": _json(stay_ref, links={"GetStay": STAY_LINKS["GetStay"], "VoidStay": STAY_LINKS["VoidStay"]}),
                                      **_statuses(*BODY, 404, 409)}},
            },
            "/stays:batch": {
                "post": {"summary": "Create or update up to 500 stays; one result per item", "operationId": "batch", "security": WRITE_ONLY,
                         "requestBody": {"required": True, "content": {"application/json": {"schema": _object({"items": {
                             "type": "array", "maxItems": 500, "items": {"$ref": "#/components/schemas/BatchItem"}}}, ["items"])}}},
                         "responses": {"200": _json({"type": "object", "required": ["results"], "properties": {"results": {"type": "array", "items": {
                             "type": "object", "required": ["external_id", "status"],
                             "properties": {"external_id": {"type": ["string", "null"]}, "status": {"type": "integer"},
                                            "stay": stay_ref, "problem": problem_ref}}}}}),
                                       **_statuses(*BODY)}},
            },
            "/stays:validate": {
                "post": {"summary": "Check a stay as PUT would, saving nothing", "operationId": "validateStay", "security": WRITE_ONLY,
                         "description": "The same rules and the same problem details as PUT /stays/{external_id} (422, 403 for a "
                                        "refused lodging, 409 for a conflict); nothing is written, reported or forwarded.",
                         "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ValidateItem"}}}},
                         "responses": {"200": _json({"$ref": "#/components/schemas/Validation"}, "The stay would be accepted"),
                                       **_statuses(*BODY, 409)}},
            },
            "/stays": {
                "get": {"summary": "List stays, oldest change first, with a cursor", "operationId": "listStays",
                        "parameters": [
                            {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["in_house", "reported", "checked_out", "voided", "draft"]}},
                            {"name": "updated_since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                            {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                        ],
                        "responses": {"200": _json({"type": "object", "required": ["items"], "properties": {
                            "items": {"type": "array", "items": stay_ref}, "next_cursor": {"type": "string"},
                            "links": {"type": "object", "properties": {"next": {"type": "string", "format": "uri"}},
                                      "description": "With next_cursor: the next page's address."}}}),
                                      **_statuses(422)}},
            },
        },
    }
