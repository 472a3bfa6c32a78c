"""``/api/v1``: property systems keep a lodging's stays in sync with one bearer token.

PUT creates or updates a stay by the system's own id (idempotent); POST .../check-out checks it
out; DELETE voids it; POST /stays:batch sends up to 500 at once; GET /stays lists them with a
cursor. Errors are RFC 9457 problem details naming each bad field by JSON pointer.
"""
from __future__ import annotations

import base64
from datetime import timezone

from flask import Blueprint, current_app, g, request
from sqlalchemy import and_, or_, select
from werkzeug.routing import PathConverter

from serasi_web.api.mapping import (
    check_in_as_local_text,
    is_unicode_text,
    pointer_errors,
    read_body,
    valid_external_id,
)
from serasi_web.api.problems import problem, problem_type
from serasi_web.extensions import db
from serasi_web.forms import parse_id
from serasi_web.links import public_url
from serasi_web.stays import services, sync
from serasi_web.stays.models import Stay, StayStatus
from serasi_web.stays.receipts import verification_token

from .auth import authenticate, json_body
from .openapi import openapi_document

api = Blueprint("api_v1", __name__, url_prefix="/api/v1")
SOURCE = "api"


class ExternalIdConverter(PathConverter):
    """A stay's external id in a path: it may hold ``/``, but a path ending in a sub-resource
    (``/check-out``) is that sub-resource, never the external id ``X/check-out``: such a request
    with another method answers 405 with ``Allow``."""

    regex = r"(?!.*/check-out$)[^/].*?"


api.record_once(lambda state: state.app.url_map.converters.setdefault("external_id", ExternalIdConverter))


@api.before_request
def _authenticate():
    if request.endpoint == "api_v1.openapi":
        return None  # the API's description is public
    return authenticate()


def _actor_label() -> str:
    return f"api:{g.api_token.name}"


# ---- representation -----------------------------------------------------------------------

def _iso(moment):
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if moment else None


def stay_json(stay: Stay) -> dict:
    # Only stays this API wrote are found again by their external id here (an imported or roster
    # stay has its own system's ids, which may equal a PMS's).
    links = {"self": public_url("api_v1.get_stay", external_id=stay.external_id)} if stay.source == SOURCE else {}
    if stay.receipt_number:
        links["receipt_verification"] = public_url("stays.verify", token=verification_token(stay.receipt_number))
    return {
        "id": stay.id, "external_id": stay.external_id, "status": stay.status, "version": stay.version,
        "receipt_number": stay.receipt_number, "deadline": _iso(stay.deadline_at), "reported_at": _iso(stay.reported_at),
        "late": stay.late, "checked_out_at": _iso(stay.checked_out_at), "check_out_late": stay.check_out_late,
        "updated_at": _iso(stay.updated_at), "links": links,
    }


def _own_external_stay(external_id: str) -> Stay | None:
    if not valid_external_id(external_id):
        return None  # no stay can have it (and PostgreSQL would refuse a NUL in the query)
    return sync.find_external(g.lodging, SOURCE, external_id)


# ---- one stay -----------------------------------------------------------------------------

def read_item(body, pointer_prefix: str = "") -> tuple[dict | None, dict | None]:
    """One stay body as the report form's raw values; (values, None) or (None, the problem's fields)."""
    values, errors = read_body(body, pointer_prefix, allowed_top={"external_id"} if pointer_prefix else set())
    if errors:
        return None, {"title": "Unprocessable Content", "detail": "The stay has invalid fields.", "errors": errors, "kind": "invalid-stay"}
    if "check_in_at" in values:
        values["check_in_at"] = check_in_as_local_text(values["check_in_at"], g.lodging)
    return values, None


def answer(result: sync.UpsertResult, pointer_prefix: str = "") -> tuple[int, dict | Stay]:
    """(HTTP status, the stay or the problem's fields) for one upsert.

    Inside a batch a new stay is written when the batch ends: turn it into JSON after that."""
    if result.outcome == "invalid":
        return 422, {"title": "Unprocessable Content", "detail": "The stay has invalid fields.",
                     "errors": pointer_errors(result.errors, pointer_prefix), "kind": "invalid-stay"}
    if result.outcome == "refused":
        # The lodging, not the stay, is the problem (rejected or suspended by the office).
        return 403, {"title": "Forbidden", "detail": result.errors[""], "kind": "lodging-refused"}
    if result.outcome == "conflict":
        detail = next(iter(result.errors.values()), "Conflict.")
        extra = {"existing_stay": stay_json(result.existing) if result.existing is not None and result.existing.external_id else None}
        return 409, {"title": "Conflict", "detail": detail, "kind": "conflict", **({k: v for k, v in extra.items() if v})}
    return (201 if result.outcome == "created" else 200), result.stay


@api.put("/stays/<external_id:external_id>")
def put_stay(external_id: str):
    if not valid_external_id(external_id):
        return problem(422, "Unprocessable Content", "external_id must be 1-100 printable characters.", "invalid-stay",
                       errors=[{"pointer": "/external_id", "detail": "invalid"}])
    body, failure = json_body()
    if failure:
        return failure
    values, problem_fields = read_item(body)
    if problem_fields:
        status, payload = 422, problem_fields
    else:
        status, payload = answer(sync.upsert(g.lodging, SOURCE, external_id, values, _actor_label()))
    if status >= 400:
        return problem(status, payload.pop("title"), payload.pop("detail"), payload.pop("kind"), **payload)
    return stay_json(payload), status


@api.get("/stays/<external_id:external_id>")
def get_stay(external_id: str):
    stay = _own_external_stay(external_id)
    if stay is None:
        return problem(404, "Not Found", "No stay with this external id at this token's lodging.", "not-found")
    return stay_json(stay)


@api.post("/stays/<path:external_id>/check-out")
def check_out(external_id: str):
    stay = _own_external_stay(external_id)
    if stay is None:
        return problem(404, "Not Found", "No stay with this external id at this token's lodging.", "not-found")
    body, failure = json_body()
    if failure:
        return failure
    if not isinstance(body, dict) or set(body) - {"checked_out_at"} or not isinstance(body.get("checked_out_at"), str):
        errors = [{"pointer": f"/{key}", "detail": "unknown field"} for key in (body if isinstance(body, dict) else {}) if key != "checked_out_at"]
        errors.append({"pointer": "/checked_out_at", "detail": "required: an ISO 8601 date-time"})
        return problem(422, "Unprocessable Content", "Send {\"checked_out_at\": \"...\"}.", "invalid-check-out", errors=errors)
    moment = services.parse_moment(body["checked_out_at"])
    if moment is None:
        return problem(422, "Unprocessable Content", "checked_out_at is not an ISO 8601 date-time (years 1900-2200).", "invalid-check-out",
                       errors=[{"pointer": "/checked_out_at", "detail": "not an ISO 8601 date-time"}])
    moment = services.to_utc(moment, g.lodging) if moment.tzinfo is None else moment
    if stay.status == StayStatus.CHECKED_OUT and stay.checked_out_at == moment:
        return stay_json(stay)  # the same request again: same answer
    try:
        services.check_out([stay], moment, None, actor_label=_actor_label())
    except services.StayError as error:
        db.session.rollback()
        status = 409 if stay.status != StayStatus.REPORTED else 422
        return problem(status, "Conflict" if status == 409 else "Unprocessable Content", next(iter(error.field_errors.values())),
                       "invalid-check-out", errors=[{"pointer": "/checked_out_at", "detail": m} for m in error.field_errors.values()])
    return stay_json(stay)


@api.delete("/stays/<external_id:external_id>")
def void(external_id: str):
    stay = _own_external_stay(external_id)
    if stay is None:
        return problem(404, "Not Found", "No stay with this external id at this token's lodging.", "not-found")
    reason = request.args.get("reason", "")
    if request.mimetype == "application/json":
        body, failure = json_body()
        if failure:
            return failure
        if isinstance(body, dict) and isinstance(body.get("reason"), str):
            reason = body["reason"]
    reason = reason.replace("\x00", "").strip()  # a NUL is no text (and PostgreSQL refuses it)
    if len(reason) > 1000:
        return problem(422, "Unprocessable Content", "The reason may be at most 1000 characters.", "invalid-void",
                       errors=[{"pointer": "/reason", "detail": "at most 1000 characters"}])
    if not reason:
        return problem(422, "Unprocessable Content", "Voiding needs a reason (?reason=... or {\"reason\": \"...\"}).", "invalid-void",
                       errors=[{"pointer": "/reason", "detail": "required"}])
    if not is_unicode_text(reason):
        return problem(422, "Unprocessable Content", "The reason is not Unicode text.", "invalid-void",
                       errors=[{"pointer": "/reason", "detail": "must be Unicode text (a lone surrogate escape such as \\udcff is not)"}])
    services.void(stay, reason, None, actor_label=_actor_label())
    return stay_json(stay)


@api.post("/stays:validate")
def validate():
    """Check a stay as PUT would (the same rules, the same problem details) and save nothing:
    for a property system to test its mapping, or to show a desk clerk what is missing before
    the guest leaves the counter. With an external id, the answer says what PUT would do."""
    body, failure = json_body()
    if failure:
        return failure
    external_id = body.get("external_id") if isinstance(body, dict) else None
    if external_id is not None and not valid_external_id(external_id):
        return problem(422, "Unprocessable Content", "external_id must be 1-100 printable characters.", "invalid-stay",
                       errors=[{"pointer": "/external_id", "detail": "invalid"}])
    item = {key: value for key, value in body.items() if key != "external_id"} if isinstance(body, dict) else body
    values, problem_fields = read_item(item)
    if problem_fields:
        return problem(422, problem_fields.pop("title"), problem_fields.pop("detail"), problem_fields.pop("kind"), **problem_fields)
    result = sync.check(g.lodging, SOURCE, external_id, values)
    status, payload = answer(result)
    if status >= 400:  # what PUT would answer
        return problem(status, payload.pop("title"), payload.pop("detail"), payload.pop("kind"), **payload)
    checked = {"valid": True, "outcome": result.outcome, "warnings": pointer_errors(result.warnings)}
    if result.stay is not None:
        checked["stay"] = stay_json(result.stay)
    return checked


# ---- batch and list -----------------------------------------------------------------------

@api.post("/stays:batch")
def batch():
    body, failure = json_body(current_app.config["API_MAX_BATCH_BODY"])
    if failure:
        return failure
    limit = current_app.config["API_MAX_BATCH_ITEMS"]
    if not isinstance(body, dict) or not isinstance(body.get("items"), list) or set(body) - {"items"}:
        return problem(422, "Unprocessable Content", "Send {\"items\": [...]}.", "invalid-batch", errors=[{"pointer": "/items", "detail": "required: an array"}])
    if len(body["items"]) > limit:
        return problem(422, "Unprocessable Content", f"A batch holds at most {limit} items; this one has {len(body['items'])}.",
                       "invalid-batch", errors=[{"pointer": "/items", "detail": f"at most {limit} items"}])
    results: list[dict] = []
    writable: list[tuple[int, str, dict]] = []  # (index in results, external id, raw values)
    for index, item in enumerate(body["items"]):
        prefix = f"/items/{index}"
        external_id = item.get("external_id") if isinstance(item, dict) else None
        if not valid_external_id(external_id):
            results.append({"external_id": external_id if isinstance(external_id, str) else None, "status": 422, "problem": _item_problem(422, {
                "title": "Unprocessable Content", "detail": "The stay has invalid fields.", "kind": "invalid-stay",
                "errors": [{"pointer": prefix + "/external_id", "detail": "required: 1-100 printable characters"}]})})
            continue
        values, problem_fields = read_item(item, prefix)
        if problem_fields:
            results.append({"external_id": external_id, "status": 422, "problem": _item_problem(422, problem_fields)})
        else:
            writable.append((len(results), external_id, values))
            results.append({"external_id": external_id})
    # Every valid item in one transaction (refused items write nothing); if the database refuses
    # it, each item is retried on its own (sync.upsert_many).
    upserted = sync.upsert_many(g.lodging, SOURCE, [(external_id, values) for _, external_id, values in writable], _actor_label())
    for (index, _, _), result in zip(writable, upserted):
        status, payload = answer(result, f"/items/{index}")
        if status >= 400:
            results[index] |= {"status": status, "problem": _item_problem(status, payload)}
        else:  # the stays are written (and have their ids) only now
            results[index] |= {"status": status, "stay": stay_json(payload)}
    return {"results": results}


def _item_problem(status: int, fields: dict) -> dict:
    """A batch item's problem: the same members as a whole request's problem details."""
    fields = dict(fields)
    return {"type": problem_type(fields.pop("kind")), "title": fields.pop("title"), "status": status, **fields}


LIST_STATUSES = {"in_house", "reported", "checked_out", "voided", "draft"}


def _cursor_encode(stay: Stay) -> str:
    return base64.urlsafe_b64encode(f"{stay.updated_at.isoformat()}|{stay.id}".encode()).decode().rstrip("=")


def _cursor_decode(cursor: str):
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, stay_id = text.rsplit("|", 1)
        moment, stay_id = services.parse_moment(moment), parse_id(stay_id)
    except (ValueError, UnicodeDecodeError):
        return None
    return (moment, stay_id) if moment is not None and moment.tzinfo and stay_id else None


@api.get("/stays")
def list_stays():
    errors = []
    status = request.args.get("status", "")
    if status and status not in LIST_STATUSES:
        errors.append({"pointer": "?status", "detail": f"one of {', '.join(sorted(LIST_STATUSES))}"})
    try:
        limit = int(request.args.get("limit", "100"))
        if not 1 <= limit <= 500:
            raise ValueError
    except ValueError:
        errors.append({"pointer": "?limit", "detail": "a whole number from 1 to 500"})
        limit = 100
    since = None
    if request.args.get("updated_since"):
        since = services.parse_moment(request.args["updated_since"])
        if since is None:
            errors.append({"pointer": "?updated_since", "detail": "an ISO 8601 date-time"})
        elif since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
    after = None
    if request.args.get("cursor"):
        after = _cursor_decode(request.args["cursor"])
        if after is None:
            errors.append({"pointer": "?cursor", "detail": "not a cursor from this API"})
    if errors:
        return problem(422, "Unprocessable Content", "Invalid query parameters.", "invalid-query", errors=errors)

    query = select(Stay).where(Stay.lodging_id == g.lodging.id)
    if status == "in_house":
        query = query.where(Stay.status == StayStatus.REPORTED)
    elif status == "reported":
        query = query.where(Stay.reported_at.is_not(None))
    elif status:
        query = query.where(Stay.status == status)
    if since is not None:
        query = query.where(Stay.updated_at >= since)
    if after is not None:
        moment, stay_id = after  # aware: _cursor_decode refuses others
        query = query.where(or_(Stay.updated_at > moment, and_(Stay.updated_at == moment, Stay.id > stay_id)))
    rows = db.session.execute(query.order_by(Stay.updated_at, Stay.id).limit(limit + 1)).scalars().all()
    page, more = rows[:limit], len(rows) > limit
    body = {"items": [stay_json(stay) for stay in page]}
    if more:
        body["next_cursor"] = _cursor_encode(page[-1])
        body["links"] = {"next": public_url("api_v1.list_stays", status=status or None, updated_since=request.args.get("updated_since"),
                                             limit=limit, cursor=body["next_cursor"])}
    return body


@api.get("/openapi.json")
def openapi():
    return openapi_document()
