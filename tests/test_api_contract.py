"""The push API keeps its contract: what the OpenAPI document and docs/api.md say is what the
server does (405 with Allow, sub-resources never taken as external ids, complete problems)."""
from pathlib import Path

import pytest

from .test_api import call, lodging, stay_body, token  # noqa: F401  (fixtures)


@pytest.mark.parametrize("method, path, allowed", [
    ("put", "/stays/RES-1/check-out", {"POST"}),
    ("delete", "/stays/RES-1/check-out", {"POST"}),
    ("get", "/stays/RES-1/check-out", {"POST"}),
    ("patch", "/stays/RES-1", {"GET", "HEAD", "PUT", "DELETE"}),
    ("get", "/stays:batch", {"POST"}),
    ("put", "/stays", {"GET", "HEAD"}),
])
def test_a_method_the_address_does_not_take_answers_405_with_allow(client, token, method, path, allowed):
    response = call(client, method, path, token, stay_body())
    assert response.status_code == 405 and response.mimetype == "application/problem+json"
    assert allowed <= {name.strip() for name in response.headers["Allow"].split(",")}
    assert response.json["type"] == "about:blank" and response.json["status"] == 405


def test_a_sub_resource_path_is_never_taken_as_an_external_id(client, token, lodging):
    assert call(client, "put", "/stays/RES-1/check-out", token, stay_body()).status_code == 405
    assert call(client, "get", "/stays", token).json["items"] == []  # nothing was created as "RES-1/check-out"
    created = call(client, "put", "/stays/2026/11/RES-1", token, stay_body())  # a slash inside an id is still an id
    assert created.status_code == 201 and created.json["external_id"] == "2026/11/RES-1"
    assert call(client, "get", "/stays/2026/11/RES-1", token).json["id"] == created.json["id"]


def test_a_voided_stay_answers_its_last_body_with_200_and_any_other_with_409(client, token, lodging):
    body = stay_body()
    call(client, "put", "/stays/RES-1", token, body)
    assert call(client, "delete", "/stays/RES-1?reason=Booking%20cancelled", token).status_code == 200
    replay = call(client, "put", "/stays/RES-1", token, body)  # a retry of the last request: the same answer, nothing changes
    assert replay.status_code == 200 and replay.json["status"] == "voided"
    changed = call(client, "put", "/stays/RES-1", token, stay_body(stay__room="7"))
    assert changed.status_code == 409 and changed.json["type"] == "urn:serasi-web:problem:conflict"


def test_every_problem_has_a_documented_type_and_batch_items_have_complete_problems(client, token, lodging):
    bad = call(client, "put", "/stays/RES-1", token, stay_body(guest__nationality="ZZZ"))
    assert bad.json["type"] == "urn:serasi-web:problem:invalid-stay" and bad.json["status"] == 422
    items = [dict(stay_body(guest__nationality="ZZZ"), external_id="B-1"), {"guest": {}},
             dict(stay_body(), external_id="B-3"), dict(stay_body(stay__room="2"), external_id="B-4")]
    results = call(client, "post", "/stays:batch", token, {"items": items}).json["results"]
    assert [result["status"] for result in results] == [422, 422, 201, 409]
    for result in (results[0], results[1], results[3]):
        problem = result["problem"]
        assert problem["type"].startswith("urn:serasi-web:problem:") and problem["status"] == result["status"]
        assert problem["title"] and problem["detail"]
    assert results[3]["problem"]["type"] == "urn:serasi-web:problem:conflict"
    documented = (Path(__file__).parent.parent / "docs" / "api.md").read_text(encoding="utf-8")
    for kind in ("invalid-stay", "conflict", "not-found", "unauthorized", "forbidden", "rate-limited", "malformed-json",
                 "too-large", "unsupported-media-type", "invalid-batch", "invalid-check-out", "invalid-void", "invalid-query"):
        assert f"`urn:serasi-web:problem:{kind}`" in documented, kind


def test_a_void_reason_over_1000_characters_is_refused_not_cut(client, token, lodging):
    call(client, "put", "/stays/RES-1", token, stay_body())
    long = call(client, "delete", "/stays/RES-1", token, {"reason": "x" * 1001})
    assert long.status_code == 422 and long.json["errors"] == [{"pointer": "/reason", "detail": "at most 1000 characters"}]
    assert call(client, "delete", "/stays/RES-1", token, {"reason": "Booking cancelled"}).json["status"] == "voided"


def test_a_batch_item_is_one_flat_object_that_strict_json_schema_accepts(client):
    from jsonschema_rs import Draft202012Validator

    document = client.get("/api/v1/openapi.json").json
    schemas = document["components"]["schemas"]
    item = dict(stay_body(), external_id="RES-1")
    Draft202012Validator(schemas["BatchItem"]).validate(item)  # external_id is no "additional property"
    assert "external_id" in schemas["BatchItem"]["required"]
    Draft202012Validator(schemas["StayBody"]).validate(stay_body())
    assert not Draft202012Validator(schemas["StayBody"]).is_valid(stay_body(guest__nationality="ZZZ"))
    assert not Draft202012Validator(schemas["StayBody"]).is_valid(stay_body(document__number="TZ-1"))
    Draft202012Validator(schemas["StayBody"]).validate(stay_body(permit__valid_until=None))  # null is accepted: the docs send it
