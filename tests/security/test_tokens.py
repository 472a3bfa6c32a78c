"""API tokens: every token expires (30 days to a year, chosen at creation), may be read-only, is
shown once, and is listed with its scope, expiry and last use (written at most once a minute)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy import inspect as sa_inspect

from plugins.push_api.models import ApiToken
from serasi_web.database import utcnow
from serasi_web.extensions import db
from serasi_web.stays.models import Stay

from ..helpers import make_lodging
from ..test_api import call, stay_body

EN = {"Accept-Language": "en"}


@pytest.fixture
def lodging(app, operator, offices):
    return make_lodging(operator)


def only_token() -> ApiToken:
    db.session.expire_all()
    return db.session.execute(select(ApiToken)).scalar_one()


def test_the_operator_chooses_expiry_and_scope_and_sees_the_secret_once(operator_client, lodging):
    page = operator_client.get(f"/lodgings/{lodging.id}/api-tokens", headers=EN).get_data(as_text=True)
    assert '<option selected value="90">' in page  # 90 days unless chosen otherwise
    assert "never" not in page.lower()  # no token lives for ever
    created = operator_client.post(f"/lodgings/{lodging.id}/api-tokens", data={"name": "Channel manager", "valid_days": "30", "scope": "read"},
                                   headers=EN).get_data(as_text=True)
    secret = created.split('id="new-token">')[1].split("<")[0]
    row = only_token()
    assert row.scope == "read" and row.token_hash != secret
    assert timedelta(days=30) - timedelta(minutes=1) < row.expires_at - row.created_at <= timedelta(days=30)
    listing = operator_client.get(f"/lodgings/{lodging.id}/api-tokens", headers=EN).get_data(as_text=True)
    assert secret not in listing and row.prefix in listing
    row_html = listing.split(row.prefix)[1].split("</tr>")[0]
    assert "Read only" in row_html and "—" in row_html  # never used yet
    assert row_html.count("WITA") == 2  # created and expires, in the lodging's time


@pytest.mark.parametrize("changes, message", [
    ({"valid_days": "0"}, "Not a valid choice"),
    ({"valid_days": "never"}, "Not a valid choice"),
    ({"scope": "admin"}, "Not a valid choice"),
    ({"valid_days": ""}, "Choose how long the token is valid."),
])
def test_an_expiry_or_scope_not_offered_is_refused_at_the_field(operator_client, lodging, changes, message):
    data = {"name": "PMS", "valid_days": "90", "scope": "write", **changes}
    response = operator_client.post(f"/lodgings/{lodging.id}/api-tokens", data=data, headers=EN)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and message in page and 'value="PMS"' in page
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_an_expired_token_answers_401_saying_it_expired(client, lodging, operator):
    from plugins.push_api.tokens import create_token

    token = create_token(lodging, "Old PMS", operator, valid_days=30)
    assert call(client, "get", "/stays", token).status_code == 200
    db.session.execute(db.update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    for method, body in (("get", None), ("put", stay_body())):
        response = call(client, method, "/stays" if method == "get" else "/stays/RES-1", token, body)
        assert response.status_code == 401 and response.mimetype == "application/problem+json"
        assert response.json["type"] == "urn:serasi-web:problem:token-expired"
        assert "expired on" in response.json["detail"] and "create a new one" in response.json["detail"]
    indonesian = call(client, "get", "/stays", token, headers={"Accept-Language": "id"})
    assert "kedaluwarsa" in indonesian.json["detail"]
    assert db.session.scalar(select(func.count()).select_from(Stay)) == 0


def test_a_read_only_token_reads_but_every_write_answers_403(client, lodging, operator):
    from plugins.push_api.tokens import create_token

    writer = create_token(lodging, "PMS", operator)
    reader = create_token(lodging, "Dashboard", operator, scope="read")
    assert call(client, "put", "/stays/RES-1", writer, stay_body()).status_code == 201
    assert call(client, "get", "/stays", reader).json["items"][0]["external_id"] == "RES-1"
    assert call(client, "get", "/stays/RES-1", reader).status_code == 200
    writes = [("put", "/stays/RES-2", stay_body(document__number="TZ7654321")), ("post", "/stays:batch", {"items": []}),
              ("post", "/stays/RES-1/check-out", {"checked_out_at": "2030-01-01T10:00:00+08:00"}),
              ("delete", "/stays/RES-1?reason=mistake", None)]
    for method, path, body in writes:
        response = call(client, method, path, reader, body)
        assert response.status_code == 403, (method, path)
        assert response.json["type"] == "urn:serasi-web:problem:read-only-token" and "read-only" in response.json["detail"]
    stays = db.session.execute(select(Stay)).scalars().all()
    assert [(stay.external_id, stay.status) for stay in stays] == [("RES-1", "reported")]  # nothing changed


def test_a_read_only_token_cannot_send_a_roster(client, operator, offices):
    from plugins.push_api.tokens import create_token

    mess = make_lodging(operator, name="Mess PT Nikel", lodging_type="company_mess", extra={"employer_name": "PT Nikel Sejahtera"})
    reader = create_token(mess, "HR reader", operator, scope="read")
    response = call(client, "put", "/roster", reader, {"residents": []})
    assert response.status_code == 403 and response.json["type"] == "urn:serasi-web:problem:read-only-token"


def test_the_last_use_is_written_at_most_once_a_minute(client, lodging, operator):
    from plugins.push_api.tokens import create_token

    token = create_token(lodging, "PMS", operator)
    assert only_token().last_used_at is None
    call(client, "get", "/stays", token)
    first = only_token().last_used_at
    assert first is not None and utcnow() - first < timedelta(minutes=1)
    call(client, "get", "/stays", token)
    assert only_token().last_used_at == first  # within the minute: no write
    earlier = first - timedelta(seconds=61)
    db.session.execute(db.update(ApiToken).values(last_used_at=earlier))
    db.session.commit()
    call(client, "get", "/stays", token)
    assert only_token().last_used_at > first  # a minute later: written again


def test_a_refused_token_is_not_marked_as_used(client, lodging, operator):
    from plugins.push_api.tokens import create_token

    token = create_token(lodging, "PMS", operator, scope="read")
    call(client, "put", "/stays/RES-1", token, stay_body())
    assert only_token().last_used_at is None


def test_the_openapi_document_states_the_scopes_and_the_403(client):
    document = client.get("/api/v1/openapi.json").json
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert "read-only-token" in scheme["description"] and "token-expired" in scheme["description"]
    for path, method in (("/stays/{external_id}", "put"), ("/stays/{external_id}", "delete"),
                         ("/stays/{external_id}/check-out", "post"), ("/stays:batch", "post")):
        operation = document["paths"][path][method]
        assert operation["security"] == [{"bearer": ["write"]}]
        assert "read-only" in operation["responses"]["403"]["description"]
    assert "security" not in document["paths"]["/stays"]["get"]  # any token may read
    assert "expired" in document["paths"]["/stays"]["get"]["responses"]["401"]["description"]


def test_tokens_from_before_the_upgrade_expire_90_days_after_it_and_keep_writing(app, lodging, operator):
    """Downgrade the push API's branch to its first revision (tokens had no expiry nor scope),
    upgrade again: the token left is given 90 days from the upgrade and the write scope, so the
    system using it keeps working."""
    from flask_migrate import downgrade

    from plugins.push_api.tokens import create_token
    from serasi_web.database import upgrade_schema

    create_token(lodging, "Old PMS", operator, valid_days=30)
    db.session.remove()
    downgrade(revision="push_api_0001")
    with db.engine.connect() as connection:
        assert "expires_at" not in {column["name"] for column in sa_inspect(connection).get_columns("api_token")}
    upgrade_schema()
    row = only_token()
    assert row.scope == "write" and row.name == "Old PMS"
    assert timedelta(days=89) < row.expires_at - utcnow() <= timedelta(days=90)
