"""A company mess: employer fields, and the HR roster that reports arrivals and proposes departures."""
import io
import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from plugins.company_mess.models import RosterSync
from serasi_web.extensions import db
from serasi_web.lodgings.models import Lodging
from serasi_web.stays.models import Stay

from .helpers import local_now, lodging_values, make_lodging
from .test_api import call, stay_body

EN = {"Accept-Language": "en"}


@pytest.fixture
def app_config(app_config):
    """Uploaded rosters are read inside the request here (the worker path has its own test below)."""
    return {**app_config, "ROSTER_RUN_INLINE": True}


def send_csv(operator_client, mess, content: bytes, headers=None):
    """The upload encoded here: the test client would spool a large body to a temporary file it
    never closes."""
    boundary, body = encode_multipart(MultiDict({"file": FileStorage(io.BytesIO(content), "roster.csv")}))
    return operator_client.post(f"/lodgings/{mess.id}/roster", data=body, content_type=f"multipart/form-data; boundary={boundary}",
                                headers=headers or {})


def roster_failure(operator_client, mess, content: bytes) -> str:
    """An upload the worker refused: the roster's page (in English) says why; nothing was applied."""
    response = send_csv(operator_client, mess, content)
    assert response.status_code == 303, response.status_code
    record = db.session.get(RosterSync, int(response.location.rsplit("/", 1)[1]))
    assert record.status == "failed" and record.arrived == [] and record.departing == []
    page = operator_client.get(response.location, headers=EN).get_data(as_text=True)
    assert "The roster was not applied" in page
    return page


@pytest.fixture
def mess(app, operator, offices):
    return make_lodging(operator, name="Mess PT Nikel", lodging_type="company_mess", extra={"employer_name": "PT Nikel Sejahtera"})


@pytest.fixture
def mess_token(mess, operator):
    from plugins.push_api.tokens import create_token

    return create_token(mess, "HR roster", operator)


def resident(external_id, number, **changes):
    return dict(stay_body(document__number=number, **changes), external_id=external_id)


def test_company_mess_asks_for_its_employer(operator_client, offices):
    page = operator_client.get("/lodgings/type-fields?lodging_type=company_mess", headers={"HX-Request": "true", **EN}).get_data(as_text=True)
    assert 'name="employer_name"' in page and "Sponsor of the stay permits" in page
    response = operator_client.post("/lodgings/new", data=lodging_values(lodging_type="company_mess"), headers=EN)
    assert response.status_code == 200 and "Enter the employer" in response.get_data(as_text=True)
    response = operator_client.post("/lodgings/new", data=lodging_values(lodging_type="company_mess", employer_name="PT Nikel", permit_sponsor="PT Nikel Group"))
    assert response.status_code == 303
    lodging = db.session.execute(select(Lodging)).scalar_one()
    assert lodging.extra == {"employer_name": "PT Nikel", "permit_sponsor": "PT Nikel Group", "hr_contact": None}
    assert "PT Nikel Group" in operator_client.get(response.location, headers=EN).get_data(as_text=True)


def test_roster_reports_arrivals_and_waits_to_check_out_those_no_longer_listed(client, operator_client, mess, mess_token):
    first = call(client, "put", "/roster", mess_token, {"residents": [resident("E-1", "MA0000001"), resident("E-2", "MA0000002")]})
    assert first.status_code == 200 and sorted(first.json["arrived"]) == ["E-1", "E-2"] and first.json["status"] == "applied"
    same = call(client, "put", "/roster", mess_token, {"residents": [resident("E-1", "MA0000001"), resident("E-2", "MA0000002")]})
    assert same.json["arrived"] == [] and same.json["unchanged"] == 2
    third = call(client, "put", "/roster", mess_token, {"residents": [resident("E-1", "MA0000001"), resident("E-3", "MA0000003")]})
    assert third.json["arrived"] == ["E-3"] and third.json["departing_awaiting_confirmation"] == ["E-2"]
    e2 = db.session.execute(select(Stay).where(Stay.external_id == "E-2")).scalar_one()
    assert e2.status == "reported"  # nothing checked out without a person's confirmation
    record = db.session.get(RosterSync, third.json["roster_id"])
    page = operator_client.get(f"/lodgings/{mess.id}/roster/{record.id}", headers=EN).get_data(as_text=True)
    assert "No longer listed (1)" in page and e2.full_name in page
    response = operator_client.post(f"/lodgings/{mess.id}/roster/{record.id}", data={"action": "confirm", "checked_out_at": local_now()})
    assert response.status_code == 303
    db.session.refresh(e2)
    assert e2.status == "checked_out" and db.session.get(RosterSync, record.id).status == "confirmed"


def test_a_roster_with_a_bad_entry_changes_nothing(client, mess, mess_token):
    bad = resident("E-9", "MA0000009")
    bad["guest"]["nationality"] = 7
    response = call(client, "put", "/roster", mess_token, {"residents": [resident("E-1", "MA0000001"), bad, {"guest": {}}]})
    assert response.status_code == 422
    assert {e["pointer"] for e in response.json["errors"]} >= {"/residents/1/guest/nationality", "/residents/2/external_id"}
    assert db.session.execute(select(Stay)).first() is None


def test_roster_by_csv_and_dismissing_departures(operator_client, mess):
    header = "external_id,surname,given_names,sex,date_of_birth,nationality,document_type,document_number,issuing_state,document_expiry,entry_date,stay_permit,check_in_at,room,purpose\n"
    row = "{id},Wang,Wei,M,1985-03-02,CHN,passport,{doc},CHN,2031-01-01,2026-11-01,itas,{checkin},A{n},work\n"
    checkin = local_now(delta_hours=-5).replace("T", " ")
    text = header + "".join(row.format(id=f"H-{n}", doc=f"EC000000{n}", checkin=checkin, n=n) for n in range(3))
    response = operator_client.post(f"/lodgings/{mess.id}/roster", data={"file": (io.BytesIO(text.encode("utf-16")), "roster.csv")}, content_type="multipart/form-data")
    assert response.status_code == 303
    assert db.session.query(Stay).filter_by(status="reported").count() == 3
    text2 = header + row.format(id="H-0", doc="EC0000000", checkin=checkin, n=0)
    response = operator_client.post(f"/lodgings/{mess.id}/roster", data={"file": (io.BytesIO(text2.encode()), "roster.csv")}, content_type="multipart/form-data")
    record_id = int(response.location.rsplit("/", 1)[1])
    assert len(db.session.get(RosterSync, record_id).departing) == 2
    operator_client.post(f"/lodgings/{mess.id}/roster/{record_id}", data={"action": "dismiss"})
    assert db.session.query(Stay).filter_by(status="reported").count() == 3
    assert "needs an external_id column" in roster_failure(operator_client, mess, b"name,room\nx,1\n")


def test_roster_pages_belong_to_the_mess_owner_and_only_to_messes(app, operator_client, other_operator, mess, offices):
    from .helpers import login

    stranger = app.test_client()
    login(stranger, other_operator.email)
    assert stranger.get(f"/lodgings/{mess.id}/roster").status_code == 404
    kos = make_lodging(other_operator, name="Kos")
    assert stranger.get(f"/lodgings/{kos.id}/roster").status_code == 404  # not a mess
    record = RosterSync(lodging_id=mess.id, received_from="x", departing=[])
    db.session.add(record)
    db.session.commit()
    assert stranger.get(f"/lodgings/{mess.id}/roster/{record.id}").status_code == 404
    assert stranger.post(f"/lodgings/{mess.id}/roster/{record.id}", data={"action": "dismiss"}).status_code == 404


def test_roster_api_refuses_a_lodging_that_is_not_a_mess(client, app, operator, offices):
    from plugins.push_api.tokens import create_token

    token = create_token(make_lodging(operator, name="Kos"), "HR", operator)
    assert call(client, "put", "/roster", token, {"residents": []}).status_code == 409


def test_a_departure_is_dated_when_a_roster_first_showed_the_resident_gone(client, operator_client, mess, mess_token):
    from datetime import timedelta

    from serasi_web.database import utcnow

    everyone = [resident("E-1", "MA0000001"), resident("E-2", "MA0000002"), resident("E-3", "MA0000003")]
    call(client, "put", "/roster", mess_token, {"residents": everyone})
    first_gone = call(client, "put", "/roster", mess_token, {"residents": everyone[:1]}).json["roster_id"]
    # That roster arrived 90 minutes ago (the residents checked in 2 hours ago); nobody confirmed it.
    earlier = (utcnow() - timedelta(minutes=90)).replace(microsecond=0)
    record = db.session.get(RosterSync, first_gone)
    record.created_at, record.departing_since = earlier, {key: earlier.isoformat() for key in record.departing_since}
    db.session.commit()
    # E-3 is listed again (an HR slip); E-2 is still missing: gone since the earlier roster, not since this one.
    latest = call(client, "put", "/roster", mess_token, {"residents": [everyone[0], everyone[2]]})
    assert latest.json["departing_awaiting_confirmation"] == ["E-2"]
    assert latest.json["departing_since"] == {"E-2": earlier.isoformat()}
    assert db.session.get(RosterSync, first_gone).status == "superseded"
    url = f"/lodgings/{mess.id}/roster/{latest.json['roster_id']}"
    page = operator_client.get(url, headers=EN).get_data(as_text=True)
    assert "gone since" in page and 'name="checked_out_at" type="datetime-local" value=""' in page  # nothing to type
    assert operator_client.post(url, data={"action": "confirm", "checked_out_at": ""}).status_code == 303
    e2, e3 = (db.session.execute(select(Stay).where(Stay.external_id == key)).scalar_one() for key in ("E-2", "E-3"))
    assert e2.status == "checked_out" and e2.checked_out_at == earlier and not e2.check_out_late
    assert e3.status == "reported"
    # A dismissed roster's residents were there after all: the next roster without them starts the clock again.
    dismissed = call(client, "put", "/roster", mess_token, {"residents": everyone[:1]}).json["roster_id"]
    record = db.session.get(RosterSync, dismissed)
    record.created_at, record.departing_since = earlier, {key: earlier.isoformat() for key in record.departing_since}
    db.session.commit()
    operator_client.post(f"/lodgings/{mess.id}/roster/{dismissed}", data={"action": "dismiss"})
    again = call(client, "put", "/roster", mess_token, {"residents": everyone[:1]}).json
    assert again["departing_awaiting_confirmation"] == ["E-3"]
    assert datetime.fromisoformat(again["departing_since"]["E-3"]) > utcnow() - timedelta(minutes=1)


def test_json_roster_ids_are_unique(client, mess, mess_token):
    response = call(client, "put", "/roster", mess_token, {"residents": [resident("E-1", "MA0000001"), resident("E-1", "MA0000002")]})
    assert response.status_code == 422 and json.dumps(response.json).count("/residents/1/external_id") == 1


def test_confirming_departures_at_an_impossible_time_says_why_and_keeps_the_roster_pending(client, operator_client, mess, mess_token):
    call(client, "put", "/roster", mess_token, {"residents": [resident("E-1", "MA0000001"), resident("E-2", "MA0000002")]})
    record_id = call(client, "put", "/roster", mess_token, {"residents": [resident("E-1", "MA0000001")]}).json["roster_id"]
    url = f"/lodgings/{mess.id}/roster/{record_id}"
    for moment, message in ((local_now(delta_hours=-30), "cannot be before the check-in"), (local_now(delta_hours=5), "cannot be in the future")):
        response = operator_client.post(url, data={"action": "confirm", "checked_out_at": moment}, headers=EN)
        assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert db.session.get(RosterSync, record_id).status == "pending"
    assert db.session.execute(select(Stay).where(Stay.external_id == "E-2")).scalar_one().status == "reported"


def test_roster_ids_that_cannot_travel_in_a_url_and_overlong_cells_are_refused(client, operator_client, mess, mess_token, app):
    for bad in ("x" * 101, "bad\nid"):
        response = call(client, "put", "/roster", mess_token, {"residents": [resident(bad, "MA0000001")]})
        assert response.status_code == 422 and response.json["errors"][0]["pointer"] == "/residents/0/external_id"
    header = "external_id,surname\n"
    for text, message in ((header + "x" * 101 + ",Wang\n", "Line 2: the external_id must be 1 to 100 printable characters."),
                          (header + "E-1,\"" + "x" * 140_000 + "\n", "A cell on line 2 is longer than 2000 characters")):
        assert message in roster_failure(operator_client, mess, text.encode())
    assert db.session.execute(select(Stay)).first() is None
    # A roster may be larger than one stay's body limit (the batch limit applies, as for stays:batch).
    app.config["API_MAX_BODY"] = 2_000
    response = call(client, "put", "/roster", mess_token, {"residents": [resident(f"E-{n}", f"MA000000{n}") for n in range(3)]})
    assert response.status_code == 200 and len(response.json["arrived"]) == 3


def test_a_roster_is_applied_in_one_transaction(app, client, mess, mess_token):
    """Residents go in together (one commit for all of them), not one commit each."""
    from .helpers import recorded_commits

    with recorded_commits() as commits:
        response = call(client, "put", "/roster", mess_token, {"residents": [resident(f"E-{n}", f"MT000000{n}") for n in range(1, 8)]})
    assert response.status_code == 200 and len(response.json["arrived"]) == 7
    assert len(commits) <= 3  # the token's last use, the residents, the roster's record


def test_an_uploaded_roster_is_read_by_the_worker_and_the_page_says_so_until_then(app, operator_client, mess, huey_worker):
    """Through the real queue and worker: the request only stores the file and redirects to the
    roster's page, which says "being read" (and reloads itself without JavaScript) until the
    worker has applied it; the file is gone afterwards."""
    import time

    app.config["ROSTER_RUN_INLINE"] = False
    header = "external_id,surname,given_names,sex,date_of_birth,nationality,document_type,document_number,issuing_state,document_expiry,entry_date,stay_permit,check_in_at,room,purpose\n"
    checkin = local_now(delta_hours=-5).replace("T", " ")
    text = header + "".join(f"W-{n},Wang,Wei,M,1985-03-02,CHN,passport,EW000000{n},CHN,2031-01-01,2026-11-01,itas,{checkin},A{n},work\n" for n in range(2))
    response = send_csv(operator_client, mess, text.encode())
    assert response.status_code == 303
    record_id = int(response.location.rsplit("/", 1)[1])
    deadline = time.monotonic() + 60
    while True:
        db.session.expire_all()
        record = db.session.get(RosterSync, record_id)
        if record.status != "reading" or time.monotonic() > deadline:
            break
        page = operator_client.get(response.location, headers=EN).get_data(as_text=True)
        if db.session.get(RosterSync, record_id).status == "reading" and "being read" in page:
            assert 'http-equiv="refresh"' in page and 'hx-trigger="every 2s"' in page
        time.sleep(0.05)
    assert record.status == "applied" and len(record.arrived) == 2 and record.failure is None
    assert db.session.query(Stay).filter_by(status="reported").count() == 2
    page = operator_client.get(response.location, headers=EN).get_data(as_text=True)
    assert "Arrived and reported (2)" in page and "being read" not in page
    assert not list((Path(app.instance_path) / "rosters").glob("*.csv"))


def test_a_roster_the_worker_cannot_read_says_why_on_its_page(app, operator_client, mess, huey_worker):
    import time

    app.config.update(ROSTER_RUN_INLINE=False, ROSTER_PARSE_MEMORY_MB=16)
    response = send_csv(operator_client, mess, b"external_id,surname\nE-1,Wang" + b"," * 4_000_000 + b"\n")
    record_id = int(response.location.rsplit("/", 1)[1])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        db.session.expire_all()
        if db.session.get(RosterSync, record_id).status != "reading":
            break
        time.sleep(0.05)
    assert db.session.get(RosterSync, record_id).status == "failed"
    page = operator_client.get(f"/lodgings/{mess.id}/roster", headers=EN).get_data(as_text=True)
    assert "Not read: nothing changed" in page
    assert "needs more than 16 MB of memory" in operator_client.get(response.location, headers=EN).get_data(as_text=True)
    assert db.session.execute(select(Stay)).first() is None
