"""The OpenAPI 3.1 description of ``/api/v1`` (served at ``/api/v1/openapi.json``)."""
from __future__ import annotations

from flask import request

from serasi_web.reference.permits import DOCUMENT_TYPES, PURPOSES, SEXES, STAY_PERMITS

DATE = {"type": "string", "format": "date", "examples": ["2026-11-20"]}


def _object(properties: dict, required: list[str] = ()) -> dict:
    schema = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _text(max_length: int, **extra) -> dict:
    return {"type": "string", "maxLength": max_length, **extra}


STAY_BODY = _object({
    "guest": _object({
        "surname": _text(100, minLength=1), "given_names": _text(100), "sex": {"type": "string", "enum": list(SEXES)},
        "date_of_birth": DATE, "place_of_birth": _text(100),
        "nationality": _text(3, minLength=1, description="ICAO code: ISO 3166 alpha-3 or D, GBD, UNO, XXA ..."),
    }, ["surname", "sex", "date_of_birth", "nationality"]),
    "document": _object({
        "type": {"type": "string", "enum": list(DOCUMENT_TYPES)}, "number": _text(30, minLength=1),
        "issuing_state": _text(3, minLength=1), "expiry_date": DATE,
    }, ["number", "issuing_state", "expiry_date"]),
    "permit": _object({
        "kind": {"type": "string", "enum": list(STAY_PERMITS), "description": "Stay permit; suggested from visa_index when missing."},
        "visa_index": _text(12, examples=["C1", "E33G"]), "number": _text(40), "entry_date": DATE, "port_of_entry": _text(100),
        "valid_until": DATE, "entry_stamp_qr": _text(4000),
    }, ["entry_date"]),
    "stay": _object({
        "check_in": {"type": "string", "format": "date-time", "description": "With an offset, or the lodging's local time without one."},
        "planned_check_out": DATE, "room": _text(40), "purpose": {"type": "string", "enum": list(PURPOSES)}, "notes": _text(2000),
    }, ["check_in", "purpose"]),
}, ["guest", "document", "permit", "stay"])

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


def _problems(*codes: int) -> dict:
    return {str(code): {"description": "Problem details (RFC 9457)", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for code in codes}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


EXTERNAL_ID = {"name": "external_id", "in": "path", "required": True, "description": "The property system's own id of the stay.",
               "schema": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[\\x21-\\x7e]+$"}}


def openapi_document() -> dict:
    stay_ref = {"$ref": "#/components/schemas/Stay"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "SERASI Web push API", "version": "1",
                 "description": "Keep a lodging's foreign guests reported from a property system. One bearer token per lodging; see docs/api.md."},
        "servers": [{"url": request.host_url.rstrip("/") + "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"StayBody": STAY_BODY, "Stay": STAY, "Problem": PROBLEM},
        },
        "paths": {
            "/stays/{external_id}": {
                "parameters": [EXTERNAL_ID],
                "put": {"summary": "Create or update a stay (idempotent)", "operationId": "putStay",
                        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StayBody"}}}},
                        "responses": {"201": _json(stay_ref, "Created and reported"), "200": _json(stay_ref, "Unchanged, or corrected"),
                                      **_problems(400, 401, 403, 409, 413, 415, 422, 429)}},
                "get": {"summary": "Read a stay", "operationId": "getStay", "responses": {"200": _json(stay_ref), **_problems(401, 404, 429)}},
                "delete": {"summary": "Void a stay (reported by mistake)", "operationId": "voidStay",
                           "parameters": [{"name": "reason", "in": "query", "required": True, "schema": {"type": "string", "minLength": 1, "maxLength": 1000}}],
                           "responses": {"200": _json(stay_ref), **_problems(401, 404, 422, 429)}},
            },
            "/stays/{external_id}/check-out": {
                "parameters": [EXTERNAL_ID],
                "post": {"summary": "Check a guest out", "operationId": "checkOut",
                         "requestBody": {"required": True, "content": {"application/json": {"schema": _object(
                             {"checked_out_at": {"type": "string", "format": "date-time"}}, ["checked_out_at"])}}},
                         "responses": {"200": _json(stay_ref), **_problems(400, 401, 404, 409, 415, 422, 429)}},
            },
            "/stays:batch": {
                "post": {"summary": "Create or update up to 500 stays; one result per item", "operationId": "batch",
                         "requestBody": {"required": True, "content": {"application/json": {"schema": _object({"items": {
                             "type": "array", "maxItems": 500, "items": {"allOf": [{"$ref": "#/components/schemas/StayBody"}],
                                                                         "properties": {"external_id": {"type": "string"}}}}}, ["items"])}}},
                         "responses": {"200": _json({"type": "object", "properties": {"results": {"type": "array", "items": {
                             "type": "object", "properties": {"external_id": {"type": ["string", "null"]}, "status": {"type": "integer"},
                                                              "stay": stay_ref, "problem": {"type": "object"}}}}}}),
                                       **_problems(400, 401, 413, 415, 422, 429)}},
            },
            "/stays": {
                "get": {"summary": "List stays, oldest change first, with a cursor", "operationId": "listStays",
                        "parameters": [
                            {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["in_house", "reported", "checked_out", "voided", "draft"]}},
                            {"name": "updated_since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                            {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                        ],
                        "responses": {"200": _json({"type": "object", "properties": {"items": {"type": "array", "items": stay_ref},
                                                                                     "next_cursor": {"type": "string"}}}),
                                      **_problems(401, 422, 429)}},
            },
        },
    }
