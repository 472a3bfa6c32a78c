"""The push API: a property system keeps a lodging's stays in sync with one bearer token."""
import base64
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from plugins.push_api.models import ApiToken
from serasi_web.extensions import db
from serasi_web.stays.models import Stay

from .helpers import DENPASAR_SANUR, local_now, make_lodging


@pytest.fixture
def lodging(app, operator, offices):
    return make_lodging(operator)


@pytest.fixture
def token(app, lodging, operator):
    from plugins.push_api.tokens import create_token

    return create_token(lodging, "Front desk PMS", operator)


def stay_body(**changes):
    body = {
        "guest": {"surname": "Tanaka", "given_names": "Yui", "sex": "F", "date_of_birth": "1992-04-05", "place_of_birth": "Osaka", "nationality": "JPN"},
        "document": {"type": "passport", "number": "TZ1234567", "issuing_state": "JPN", "expiry_date": (date.today() + timedelta(days=1500)).isoformat()},
        "permit": {"kind": "bvk", "entry_date": (date.today() - timedelta(days=2)).isoformat(), "port_of_entry": "Ngurah Rai"},
        "stay": {"check_in": local_now(delta_hours=-2) + ":00+08:00", "room": "101", "purpose": "tourism"},
    }
    for path, value in changes.items():
        section, name = path.split("__")
        body[section][name] = value
    return body


def call(client, method, path, token, body=None, **kwargs):
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en", **kwargs.pop("headers", {})}
    if body is not None:
        kwargs.setdefault("data", json.dumps(body))
        kwargs.setdefault("content_type", "application/json")
    return getattr(client, method)("/api/v1" + path, headers=headers, **kwargs)


def test_operator_creates_a_token_shown_once_and_stored_hashed(operator_client, lodging):
    page = operator_client.post(f"/lodgings/{lodging.id}/api-tokens", data={"name": "Opera PMS"}).get_data(as_text=True)
    secret = page.split('id="new-token">')[1].split("<")[0]
    row = db.session.execute(select(ApiToken)).scalar_one()
    assert secret.startswith("srs_") and row.token_hash != secret and secret not in json.dumps(row.__dict__, default=str)
    assert secret not in operator_client.get(f"/lodgings/{lodging.id}/api-tokens").get_data(as_text=True)


def test_put_creates_then_same_body_changes_nothing_then_a_change_corrects(client, token, lodging):
    first = call(client, "put", "/stays/RES-1", token, stay_body())
    assert first.status_code == 201, first.json
    stay = first.json
    assert stay["status"] == "reported" and stay["receipt_number"].startswith("STT-") and stay["late"] is False
    assert stay["links"]["receipt_verification"].startswith("http://localhost/verify/")
    again = call(client, "put", "/stays/RES-1", token, stay_body())
    assert again.status_code == 200 and again.json == stay
    changed = call(client, "put", "/stays/RES-1", token, stay_body(stay__room="102"))
    assert changed.status_code == 200 and changed.json["version"] == 2
    row = db.session.execute(select(Stay)).scalar_one()
    assert row.room == "102" and row.versions[-1].reason == "updated by api:Front desk PMS" and row.source == "api"
    assert db.session.scalar(select(func.count()).select_from(Stay)) == 1


def test_the_self_link_is_given_only_for_stays_this_api_wrote(client, token, lodging, operator_client):
    from .helpers import report_guest

    report_guest(operator_client, lodging, document_number="FM1234567")  # through the form: no external id
    db.session.execute(update(Stay).values(source="spreadsheet", external_id="RES-1"))  # as an import writes it
    db.session.commit()
    put = call(client, "put", "/stays/RES-1", token, stay_body())  # the PMS's own RES-1 is another stay
    assert put.status_code == 201 and call(client, "get", put.json["links"]["self"].replace("http://localhost/api/v1", ""), token).json["id"] == put.json["id"]
    listed = {(s["external_id"], s["id"]): s["links"] for s in call(client, "get", "/stays", token).json["items"]}
    assert len(listed) == 2
    for (external_id, stay_id), links in listed.items():
        assert ("self" in links) == (stay_id == put.json["id"])


def test_check_out_and_void(client, token, lodging):
    call(client, "put", "/stays/RES-2", token, stay_body())
    moment = local_now() + ":00+08:00"
    response = call(client, "post", "/stays/RES-2/check-out", token, {"checked_out_at": moment})
    assert response.status_code == 200 and response.json["status"] == "checked_out"
    assert call(client, "post", "/stays/RES-2/check-out", token, {"checked_out_at": moment}).status_code == 200  # same again
    call(client, "put", "/stays/RES-3", token, stay_body(document__number="TZ7654321"))
    assert call(client, "delete", "/stays/RES-3", token).status_code == 422  # a reason is required
    response = call(client, "delete", "/stays/RES-3?reason=Booking%20cancelled", token)
    assert response.status_code == 200 and response.json["status"] == "voided"
    assert call(client, "put", "/stays/RES-3", token, stay_body(document__number="TZ7654321", stay__room="9")).status_code == 409


def test_batch_gives_one_result_per_item_and_bad_items_do_not_block_good_ones(client, token, lodging):
    items = [dict(stay_body(document__number=f"TB{n:07d}"), external_id=f"B-{n}") for n in range(3)]
    items[1]["guest"]["nationality"] = "ZZZ"
    items.append({"guest": {}})  # no external_id
    response = call(client, "post", "/stays:batch", token, {"items": items})
    assert response.status_code == 200
    statuses = [r["status"] for r in response.json["results"]]
    assert statuses == [201, 422, 201, 422]
    assert response.json["results"][1]["problem"]["errors"] == [{"pointer": "/items/1/guest/nationality", "detail": "Choose a country from the list."}]
    again = call(client, "post", "/stays:batch", token, {"items": [items[0], items[2]]})
    assert [r["status"] for r in again.json["results"]] == [200, 200]
    assert db.session.scalar(select(func.count()).select_from(Stay)) == 2
    too_many = call(client, "post", "/stays:batch", token, {"items": [items[0]] * 501})
    assert too_many.status_code == 422 and too_many.json["errors"][0]["pointer"] == "/items"


def test_a_batch_sees_its_own_items_as_single_requests_would(client, token, lodging, caplog):
    """New stays of a batch are written together at its end; a later item of the same batch must
    still meet them (same document, same external id) and a correction made earlier in it."""
    call(client, "put", "/stays/OLD-1", token, stay_body(document__number="TO0000001"))
    items = [
        dict(stay_body(document__number="TR0000001"), external_id="R-1"),
        dict(stay_body(document__number="TR0000001"), external_id="R-2"),  # the same guest again: conflict
        dict(stay_body(document__number="TR0000002"), external_id="R-3"),
        dict(stay_body(document__number="TR0000002", stay__room="7"), external_id="R-3"),  # R-3 again, changed
        dict(stay_body(document__number="TR0000003"), external_id="OLD-1"),  # corrects OLD-1 to a new document ...
        dict(stay_body(document__number="TR0000003"), external_id="R-4"),  # ... which this one then repeats
        dict(stay_body(document__number="TO0000001"), external_id="R-5"),  # the document OLD-1 no longer has
    ]
    results = call(client, "post", "/stays:batch", token, {"items": items}).json["results"]
    assert [r["status"] for r in results] == [201, 409, 201, 200, 200, 409, 201]
    assert "retrying item by item" not in caplog.text  # answered by the one-transaction path
    assert results[3]["stay"]["id"] == results[2]["stay"]["id"] and results[3]["stay"]["version"] == 2
    assert all(r["stay"]["id"] and r["stay"]["receipt_number"] for r in results if "stay" in r)
    rows = {s.external_id: s for s in db.session.execute(select(Stay)).scalars()}
    assert set(rows) == {"OLD-1", "R-1", "R-3", "R-5"}
    assert rows["R-3"].room == "7" and [v.version for v in rows["R-3"].versions] == [1, 2]
    assert rows["OLD-1"].document_number == "TR0000003"
    for stay in rows.values():  # every new stay has its version, audit event and outbox event
        assert stay.versions[0].action == "submitted" and stay.versions[0].snapshot["document_number"]
    from serasi_web.audit.models import AuditEvent
    from serasi_web.delivery.models import OutboxEvent

    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "stay.submitted")) == 4
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.event == "reported")) == 4


def test_list_with_status_filter_and_cursor(client, token, lodging):
    for n in range(5):
        call(client, "put", f"/stays/L-{n}", token, stay_body(document__number=f"TL{n:07d}"))
    call(client, "post", "/stays/L-0/check-out", token, {"checked_out_at": local_now() + ":00+08:00"})
    page1 = call(client, "get", "/stays?status=in_house&limit=2", token)
    assert page1.status_code == 200 and len(page1.json["items"]) == 2 and page1.json["next_cursor"]
    page2 = call(client, "get", f"/stays?status=in_house&limit=2&cursor={page1.json['next_cursor']}", token)
    seen = [s["external_id"] for s in page1.json["items"] + page2.json["items"]]
    assert sorted(seen) == ["L-1", "L-2", "L-3", "L-4"] and "next_cursor" not in page2.json
    assert [s["external_id"] for s in call(client, "get", "/stays?status=checked_out", token).json["items"]] == ["L-0"]
    bad = call(client, "get", "/stays?status=nope&limit=9999&updated_since=yesterday&cursor=%%%", token)
    assert bad.status_code == 422 and {e["pointer"] for e in bad.json["errors"]} == {"?status", "?limit", "?updated_since", "?cursor"}
    forged = base64.urlsafe_b64encode(b"2026-01-01T00:00:00+00:00|" + b"9" * 30).decode()
    bad = call(client, "get", f"/stays?updated_since=0001-01-01T00:00:00%2B05:00&cursor={forged}", token)
    assert bad.status_code == 422 and {e["pointer"] for e in bad.json["errors"]} == {"?updated_since", "?cursor"}
    bad = call(client, "post", "/stays/L-1/check-out", token, {"checked_out_at": "0001-01-01T00:00:00+01:00"})
    assert bad.status_code == 422 and bad.json["errors"][0]["pointer"] == "/checked_out_at"


@pytest.mark.parametrize("mutate, pointer", [
    (lambda b: b["guest"].update(nationality="ZZZ"), "/guest/nationality"),
    (lambda b: b["guest"].update(eye_colour="blue"), "/guest/eye_colour"),
    (lambda b: b.update(extra={}), "/extra"),
    (lambda b: b["guest"].pop("surname"), "/guest/surname"),
    (lambda b: b["document"].update(number="AB#123"), "/document/number"),
    (lambda b: b["guest"].update(date_of_birth=19920405), "/guest/date_of_birth"),
    (lambda b: b["stay"].update(check_in="2099-01-01T10:00:00+08:00"), "/stay/check_in"),
    (lambda b: b["guest"].update(date_of_birth="1992-02-30"), "/guest/date_of_birth"),
    (lambda b: b["stay"].update(check_in="0001-01-01T00:00:00+14:00"), "/stay/check_in"),  # overflows when moved to UTC
    (lambda b: b["stay"].update(notes="late\x00 arrival", check_in="0001-01-01T00:00:00"), "/stay/check_in"),
])
def test_bad_fields_are_named_by_json_pointer(client, token, lodging, mutate, pointer):
    body = stay_body()
    mutate(body)
    response = call(client, "put", "/stays/BAD", token, body)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert pointer in [e["pointer"] for e in response.json["errors"]]
    assert db.session.scalar(select(func.count()).select_from(Stay)) == 0


def test_malformed_wrong_type_and_oversized_bodies(client, token, lodging):
    assert call(client, "put", "/stays/X", token, data="{not json", content_type="application/json").status_code == 400
    assert call(client, "put", "/stays/X", token, data="<xml/>", content_type="application/xml").status_code == 415
    huge = call(client, "put", "/stays/X", token, data=b"{" + b" " * (10 * 1024 * 1024) + b"}", content_type="application/json")
    assert huge.status_code == 413 and huge.mimetype == "application/problem+json"


def test_tokens_missing_wrong_revoked_or_for_another_lodging(client, app, token, lodging, operator):
    from plugins.push_api.tokens import create_token

    assert client.put("/api/v1/stays/X", json=stay_body()).status_code == 401
    assert call(client, "put", "/stays/X", "srs_wrong", stay_body()).status_code == 401
    other = create_token(make_lodging(operator, DENPASAR_SANUR, name="Villa Sanur"), "Other PMS", operator)
    call(client, "put", "/stays/MINE", token, stay_body())
    assert call(client, "get", "/stays/MINE", other).status_code == 404
    assert call(client, "delete", "/stays/MINE?reason=x", other).status_code == 404
    assert call(client, "get", "/stays", other).json["items"] == []
    db.session.execute(db.update(ApiToken).where(ApiToken.name == "Front desk PMS").values(revoked_at=db.func.now()))
    db.session.commit()
    assert call(client, "get", "/stays", token).status_code == 401


def test_same_document_twice_at_one_lodging_is_a_conflict(client, token, lodging):
    call(client, "put", "/stays/A", token, stay_body())
    response = call(client, "put", "/stays/B", token, stay_body())
    assert response.status_code == 409 and response.json["existing_stay"]["external_id"] == "A"


def test_rate_limit_per_token(another_app, lodging, token):
    limited = another_app(API_RATE_LIMIT="3 per minute")
    client = limited.test_client()
    codes = [call(client, "get", "/stays", token).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_openapi_document_describes_every_route(app, client):
    import re

    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"] == "3.1.0"
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api_v1.") and rule.endpoint != "api_v1.openapi":  # the roster's API is its plugin's
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            routes.setdefault(path, set()).update(method.lower() for method in rule.methods - {"HEAD", "OPTIONS"})
    assert "/stays:validate" in routes and len(routes) >= 5
    assert {path: set(item) - {"parameters"} for path, item in document["paths"].items()} == routes
    assert document["components"]["schemas"]["StayBody"]["additionalProperties"] is False


def test_revoking_a_token_in_the_ui(operator_client, lodging, token, other_operator, app):
    row = db.session.execute(select(ApiToken)).scalar_one()
    from .helpers import login

    stranger = app.test_client()
    login(stranger, other_operator.email)
    assert stranger.post(f"/lodgings/{lodging.id}/api-tokens/{row.id}/revoke").status_code == 404
    assert stranger.get(f"/lodgings/{lodging.id}/api-tokens").status_code == 404
    assert operator_client.post(f"/lodgings/{lodging.id}/api-tokens/{row.id}/revoke").status_code == 303
    db.session.refresh(row)
    assert row.revoked_at is not None


def test_an_item_the_database_refuses_costs_only_itself(client, token, lodging, caplog, monkeypatch):
    """A batch is one transaction; when the database refuses it, its items are tried one by one
    and the refused one answers 422 (the others are written; no 500)."""
    from .helpers import refuse_upserts_of

    refuse_upserts_of(monkeypatch, "B-2")
    items = [dict(stay_body(document__number=f"TB000000{n}"), external_id=f"B-{n}") for n in (1, 2, 3)]
    response = call(client, "post", "/stays:batch", token, {"items": items})
    assert response.status_code == 200 and "retrying item by item" in caplog.text
    assert [r["status"] for r in response.json["results"]] == [201, 422, 201]
    assert response.json["results"][1]["problem"]["errors"][0]["detail"] == "This stay could not be saved (the error was logged)."
    assert sorted(db.session.execute(select(Stay.external_id)).scalars()) == ["B-1", "B-3"]


def test_a_change_is_one_commit_and_a_refused_change_is_refused_again(app, client, token, lodging):
    """The new content's hash is written with the correction; when the correction is refused the
    hash stays as it was, so the same refused body is checked (and refused) again, never taken
    for "unchanged"."""
    from .helpers import recorded_commits

    assert call(client, "put", "/stays/H-1", token, stay_body()).status_code == 201
    with recorded_commits() as commits:
        assert call(client, "put", "/stays/H-1", token, stay_body(stay__room="202")).status_code == 200
    assert len(commits) == 1
    entered_after_check_in = stay_body(permit__entry_date=date.today().isoformat(), stay__check_in=local_now(delta_hours=-50) + ":00+08:00")
    for _ in range(2):
        refused = call(client, "put", "/stays/H-1", token, entered_after_check_in)
        assert refused.status_code == 422, refused.json
    stay = db.session.execute(select(Stay).where(Stay.external_id == "H-1")).scalar_one()
    db.session.refresh(stay)
    assert (stay.room, stay.version) == ("202", 2)


def test_a_refused_change_in_a_batch_leaves_the_stay_untouched(client, token, lodging):
    """Nothing of a refused change is written, not even its content hash or the time of change
    (``updated_since`` would list the stay as changed)."""
    call(client, "put", "/stays/A-1", token, stay_body(document__number="TA0000001"))
    call(client, "put", "/stays/A-2", token, stay_body(document__number="TA0000002"))
    before = db.session.execute(select(Stay.updated_at, Stay.external_hash, Stay.version).where(Stay.external_id == "A-1")).one()
    item = dict(stay_body(document__number="TA0000002"), external_id="A-1")  # takes the document A-2 holds
    results = call(client, "post", "/stays:batch", token, {"items": [item]}).json["results"]
    assert [r["status"] for r in results] == [409]
    db.session.expire_all()
    assert db.session.execute(select(Stay.updated_at, Stay.external_hash, Stay.version).where(Stay.external_id == "A-1")).one() == before


def test_a_batch_answers_with_its_stays_read_in_a_fixed_number_of_queries(client, token, lodging):
    from .helpers import recorded_statements, selects

    items = [dict(stay_body(document__number=f"TQ{n:07d}"), external_id=f"Q-{n}") for n in range(20)]
    assert {r["status"] for r in call(client, "post", "/stays:batch", token, {"items": items}).json["results"]} == {201}
    with recorded_statements() as statements:
        again = call(client, "post", "/stays:batch", token, {"items": items}).json["results"]  # unchanged: 200 each
    assert {r["status"] for r in again} == {200} and all(r["stay"]["receipt_number"] for r in again)
    assert len([s for s in selects(statements) if " FROM stay " in s + " "]) <= 4  # not one per stay


def test_every_problem_of_a_body_comes_in_one_answer(client, token, lodging):
    """A field the form's validators refuse and a rule between fields (a document that expired
    before the check-in, a planned check-out before it) are named together, as on the form."""
    body = stay_body(guest__nationality="ZZZ", document__expiry_date="2020-01-01", stay__planned_check_out="2001-01-01")
    response = call(client, "put", "/stays/ONE-PASS", token, body)
    assert response.status_code == 422
    pointers = {error["pointer"] for error in response.json["errors"]}
    assert {"/guest/nationality", "/stay/planned_check_out"} <= pointers, response.json
    assert db.session.scalar(select(func.count()).select_from(Stay)) == 0


# ---- validation only ------------------------------------------------------------------------

def rows_written() -> tuple[int, ...]:
    """Every table a PUT writes to: a validation must leave each as it was."""
    from serasi_web.audit.models import AuditEvent
    from serasi_web.delivery.models import OutboxEvent
    from serasi_web.stays.models import StayVersion

    return tuple(db.session.scalar(select(func.count()).select_from(model)) for model in (Stay, StayVersion, AuditEvent, OutboxEvent))


def validate_then_put(client, token, external_id, body):
    """POST /stays:validate, check it wrote nothing, then PUT the same: both answers."""
    before = rows_written()
    checked = call(client, "post", "/stays:validate", token, {"external_id": external_id, **body})
    assert rows_written() == before, checked.json
    return checked, call(client, "put", f"/stays/{external_id}", token, body)


def test_validation_answers_as_put_would_and_saves_nothing(client, token, lodging):
    checked, put = validate_then_put(client, token, "RES-1", stay_body())
    assert checked.status_code == 200 and checked.json == {"valid": True, "outcome": "created", "warnings": []}
    assert put.status_code == 201

    checked, put = validate_then_put(client, token, "RES-1", stay_body())
    assert checked.json["outcome"] == "unchanged" and checked.json["stay"] == put.json and put.status_code == 200
    checked, put = validate_then_put(client, token, "RES-1", stay_body(stay__room="102"))
    assert checked.json["outcome"] == "updated" and checked.json["stay"]["version"] == 1 and put.json["version"] == 2

    # Bad fields: the same problem details, every field named in one answer.
    bad = stay_body(guest__date_of_birth="2999-01-01", document__number="x")
    checked, put = validate_then_put(client, token, "RES-2", bad)
    assert checked.status_code == put.status_code == 422 and checked.json == put.json
    assert {"/guest/date_of_birth", "/document/number"} <= {error["pointer"] for error in checked.json["errors"]}

    # The same guest under another external id while RES-1 is open: a conflict, as PUT says.
    checked, put = validate_then_put(client, token, "RES-3", stay_body())
    assert checked.status_code == put.status_code == 409 and checked.json == put.json

    assert call(client, "delete", "/stays/RES-1?reason=mistake", token).status_code == 200
    checked, put = validate_then_put(client, token, "RES-1", stay_body(stay__room="103"))  # a voided stay stays voided
    assert checked.status_code == put.status_code == 409 and checked.json == put.json


def test_validation_without_an_external_id_checks_a_new_stay_and_tells_the_warnings(client, token, lodging):
    expiry = (date.today() + timedelta(days=3)).isoformat()
    planned = (date.today() + timedelta(days=10)).isoformat()
    checked = call(client, "post", "/stays:validate", token, stay_body(document__expiry_date=expiry, stay__planned_check_out=planned))
    assert checked.status_code == 200 and checked.json["outcome"] == "created" and "stay" not in checked.json
    warning, = checked.json["warnings"]
    assert warning["pointer"] == "/document/expiry_date" and "before the planned check-out" in warning["detail"]
    assert db.session.scalar(select(func.count()).select_from(Stay)) == 0

    wrong_id = call(client, "post", "/stays:validate", token, {"external_id": "x" * 101, **stay_body()})
    assert wrong_id.status_code == 422 and wrong_id.json["errors"] == [{"pointer": "/external_id", "detail": "invalid"}]
    not_a_stay = call(client, "post", "/stays:validate", token, ["not", "an", "object"])
    assert not_a_stay.status_code == 422 and not_a_stay.json["errors"][0]["detail"] == "must be a JSON object"
    unknown = call(client, "post", "/stays:validate", token, {**stay_body(), "extra": {}})
    assert unknown.status_code == 422 and {"pointer": "/extra", "detail": "unknown field"} in unknown.json["errors"]


def test_validation_for_a_suspended_lodging_is_refused_as_its_reports_are(client, token, lodging):
    lodging.status = "suspended"
    db.session.commit()
    checked, put = validate_then_put(client, token, "RES-1", stay_body())
    assert checked.status_code == put.status_code == 403 and checked.json == put.json
    assert checked.json["type"] == "urn:serasi-web:problem:lodging-refused"
