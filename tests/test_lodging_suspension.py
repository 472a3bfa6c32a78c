"""A rejected or suspended lodging obtains no receipt by any way of reporting (the form, a group,
the push API, a spreadsheet import, a company mess roster), and the receipts it already has say
so on the public check page (issue #13.9). A lodging waiting for verification still reports."""
import io
import re

import pytest
from sqlalchemy import func, select

from serasi_web.audit.models import AuditEvent
from serasi_web.extensions import db
from serasi_web.lodgings.models import Lodging
from serasi_web.stays.models import Stay
from serasi_web.stays.receipts import verification_token

from .helpers import guest_form, local_now, login, make_lodging, make_user, report_guest
from .test_api import call, stay_body
from .test_spreadsheet_import import check, csv_file, guest, latest_job

EN = {"Accept-Language": "en"}
SUSPENDED = "The immigration office suspended this lodging"
REJECTED = "The immigration office rejected this lodging"


@pytest.fixture
def app_config(app_config):
    """Imports run inside the request, so a test sees the finished job right away."""
    return {**app_config, "IMPORT_RUN_INLINE": True}


@pytest.fixture
def lodging(app, operator, offices):
    lodging = make_lodging(operator, name="Villa Kerobokan", lodging_type="company_mess", extra={"employer_name": "PT Nikel"})
    lodging.status = "verified"
    db.session.commit()
    return lodging


@pytest.fixture
def token(lodging, operator):
    from plugins.push_api.tokens import create_token

    return create_token(lodging, "PMS", operator)


def suspend(client, lodging, reason="Operating licence revoked (letter 12/2026)"):
    return client.post(f"/officer/lodgings/{lodging.id}/suspend", data={"reason": reason}, headers=EN)


def text(response) -> str:
    return response.get_data(as_text=True)


def reported() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Stay).where(Stay.receipt_number.is_not(None)))


def test_an_officer_suspends_a_verified_lodging_with_a_reason_and_lifts_it(officer_client, officer, operator_client, lodging):
    missing = suspend(officer_client, lodging, reason="  ")
    assert missing.status_code == 200 and "Say why the lodging is suspended" in text(missing)
    assert suspend(officer_client, lodging).status_code == 303
    db.session.expire_all()
    assert lodging.status == "suspended" and lodging.suspended_at is not None
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "lodging.suspended")).scalar_one()
    assert event.actor_id == officer.id and event.object_id == lodging.id and event.changes["reason"].startswith("Operating licence")
    # The operator reads it on the lodging's page; editing the lodging does not end it.
    page = text(operator_client.get(f"/lodgings/{lodging.id}", headers=EN))
    assert "Suspended" in page and "Operating licence revoked" in page and SUSPENDED in page
    assert "Suspended (1)" in text(officer_client.get("/officer/lodgings?status=suspended", headers=EN))
    from serasi_web.lodgings.services import EDITABLE_FIELDS, update_lodging

    update_lodging(lodging, {name: getattr(lodging, name) for name in EDITABLE_FIELDS} | {"street_address": "Jl. Baru 1",
                                                                                          "district_code": "51.03.01", "village_code": "51.03.01.1004"})
    assert db.session.get(Lodging, lodging.id).status == "suspended"
    # Lifted: verified again, audited.
    lifted = officer_client.post(f"/officer/lodgings/{lodging.id}/lift-suspension", headers=EN)
    assert lifted.status_code == 303
    db.session.expire_all()
    assert lodging.status == "verified" and lodging.suspended_at is None and lodging.suspension_reason is None
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "lodging.suspension_lifted")).scalar_one().actor_id == officer.id


def test_only_a_verified_lodging_of_the_area_is_suspended_and_only_by_an_officer(app, officer_client, operator, offices, lodging):
    waiting = make_lodging(operator, name="Kos Waiting")
    assert suspend(officer_client, waiting).status_code == 303
    assert db.session.get(Lodging, waiting.id).status == "pending"
    assert "Only a verified lodging can be suspended" in text(officer_client.get(f"/officer/lodgings/{waiting.id}", headers=EN))
    assert officer_client.post(f"/officer/lodgings/{lodging.id}/lift-suspension").status_code == 303
    assert db.session.get(Lodging, lodging.id).status == "verified"
    denpasar = app.test_client()
    make_user("denpasar@example.com", role="officer", office_id=offices["denpasar"].id)
    login(denpasar, "denpasar@example.com")
    assert suspend(denpasar, lodging).status_code == 404
    supervisor = app.test_client()
    make_user("timpora@example.com", role="supervisor")
    login(supervisor, "timpora@example.com")
    assert suspend(supervisor, lodging).status_code == 404  # read only: a decision route is not theirs
    assert db.session.get(Lodging, lodging.id).status == "verified"


def test_a_suspended_lodging_gets_no_receipt_from_the_form_a_draft_or_a_group(officer_client, operator_client, lodging):
    stay_id = report_guest(operator_client, lodging, document_number="OK1234567")
    draft = operator_client.post(f"/lodgings/{lodging.id}/stays/new", data=guest_form(document_number="DR1234567", action="draft"))
    assert draft.status_code == 303
    draft_id = int(draft.location.rsplit("/", 1)[1])
    group = operator_client.post(f"/lodgings/{lodging.id}/groups/new", data={"name": "Family", "check_in_at": local_now(delta_hours=-1), "room": "3", "purpose": "family"})
    group_id = int(group.location.rsplit("/", 1)[1])
    member = {k: v for k, v in guest_form(document_number="GR1234567").items() if k not in ("check_in_at", "planned_check_out", "room", "purpose", "notes", "action")}
    assert operator_client.post(f"/groups/{group_id}/guests/new", data=member).status_code == 303
    suspend(officer_client, lodging)
    before = reported()

    page = operator_client.post(f"/lodgings/{lodging.id}/stays/new", data=guest_form(document_number="NW1234567"), headers=EN)
    assert page.status_code == 200 and SUSPENDED in text(page)
    operator_client.post(f"/stays/{draft_id}/submit")
    assert SUSPENDED in text(operator_client.get(f"/stays/{draft_id}/edit", headers=EN))
    operator_client.post(f"/groups/{group_id}/submit")
    assert SUSPENDED in text(operator_client.get(f"/groups/{group_id}", headers=EN))
    assert reported() == before
    # Drafts can still be saved, and a guest already reported can leave.
    saved = operator_client.post(f"/lodgings/{lodging.id}/stays/new", data=guest_form(document_number="SV1234567", action="draft"))
    assert saved.status_code == 303
    assert operator_client.post(f"/stays/{stay_id}/check-out", data={"checked_out_at": local_now()}).status_code == 303
    assert db.session.get(Stay, stay_id).status == "checked_out"


def test_a_suspended_lodging_gets_no_receipt_through_the_api(client, officer_client, lodging, token):
    suspend(officer_client, lodging)
    response = call(client, "put", "/stays/RES-1", token, stay_body())
    assert response.status_code == 403 and response.mimetype == "application/problem+json"
    assert response.json["type"] == "urn:serasi-web:problem:lodging-refused" and SUSPENDED in response.json["detail"]
    batch = call(client, "post", "/stays:batch", token, {"items": [dict(stay_body(document__number="BT1234567"), external_id="B-1")]})
    assert batch.status_code == 200
    item, = batch.json["results"]
    assert item["status"] == 403 and item["problem"]["type"] == "urn:serasi-web:problem:lodging-refused"
    roster = call(client, "put", "/roster", token, {"residents": [dict(stay_body(document__number="RS1234567"), external_id="R-1")]})
    assert roster.status_code == 403 and roster.json["type"] == "urn:serasi-web:problem:lodging-refused"
    assert reported() == 0


def test_a_suspended_lodging_gets_no_receipt_from_an_import_or_a_roster_file(officer_client, operator_client, lodging):
    job = check(operator_client, lodging, csv_file([guest(1), guest(2)]))
    assert job.valid_rows == 2
    suspend(officer_client, lodging)
    refused = operator_client.post(f"/lodgings/{lodging.id}/import/{job.id}/import", data={"rows": "all"}, headers=EN)
    assert refused.status_code == 303 and latest_job().status == "checked"  # not started
    assert SUSPENDED in text(operator_client.get(f"/lodgings/{lodging.id}/import/{job.id}", headers=EN))
    refused = operator_client.post(f"/lodgings/{lodging.id}/import", data={"file": (io.BytesIO(csv_file([guest(3)])), "guests.csv")},
                                   content_type="multipart/form-data", headers=EN)
    assert refused.status_code == 200 and SUSPENDED in text(refused)
    roster = "external_id,surname,sex,date_of_birth,nationality,document_type,document_number,issuing_state,document_expiry,entry_date,stay_permit,check_in_at,purpose\n"
    roster += f"H-1,Wang,M,1985-03-02,CHN,passport,EC0000001,CHN,2031-01-01,2026-11-01,itas,{local_now(delta_hours=-5).replace('T', ' ')},work\n"
    page = operator_client.post(f"/lodgings/{lodging.id}/roster", data={"file": (io.BytesIO(roster.encode()), "roster.csv")},
                                content_type="multipart/form-data", headers=EN)
    assert page.status_code == 200 and SUSPENDED in text(page)
    assert reported() == 0


def test_the_service_rule_holds_for_rows_written_after_the_check(officer_client, lodging):
    """A sync that reaches the services however it came (here the roster's and import's own
    writer, ``sync.upsert_many``) is refused there too, row by row."""
    from serasi_web.stays import sync
    from serasi_web.stays.services import receipt_refusal

    suspend(officer_client, lodging)
    raw = {"surname": "Eriksson", "given_names": "Anna", "sex": "F", "date_of_birth": "1974-08-12", "nationality": "SWE",
           "document_type": "passport", "document_number": "SE0000009", "issuing_state": "SWE", "document_expiry": "2031-01-01",
           "entry_date": local_now(delta_hours=-48)[:10], "stay_permit": "bvk", "check_in_at": local_now(delta_hours=-2), "purpose": "tourism"}
    result, = sync.upsert_many(db.session.get(Lodging, lodging.id), "import", [("X-2", raw)], "test")
    assert result.outcome == "refused" and result.errors[""] == receipt_refusal(db.session.get(Lodging, lodging.id))
    assert reported() == 0


def test_receipts_of_a_suspended_or_rejected_lodging_say_so_on_the_check_page(client, officer_client, operator_client, lodging):
    stay_id = report_guest(operator_client, lodging)
    number = db.session.get(Stay, stay_id).receipt_number
    url = f"/verify/{verification_token(number)}"
    assert "Valid receipt" in text(client.get(url, headers=EN))
    suspend(officer_client, lodging)
    page = text(client.get(url, headers=EN))
    assert "Lodging suspended." in page and "Valid receipt" not in page and re.search(r"suspended this lodging on \S", page)
    assert "Operating licence" not in page  # the reason is for the operator and the office, not for the public
    officer_client.post(f"/officer/lodgings/{lodging.id}/lift-suspension")
    assert "Valid receipt" in text(client.get(url, headers=EN))
    officer_client.post(f"/officer/lodgings/{lodging.id}/reject", data={"reason": "Not a lodging"})
    page = text(client.get(url, headers=EN))
    assert "Lodging rejected." in page and "Valid receipt" not in page


def test_a_rejected_lodging_gets_no_receipt_and_a_waiting_one_still_does(client, officer_client, operator_client, operator, lodging, token):
    officer_client.post(f"/officer/lodgings/{lodging.id}/reject", data={"reason": "Address unknown"})
    page = operator_client.post(f"/lodgings/{lodging.id}/stays/new", data=guest_form(), headers=EN)
    assert page.status_code == 200 and REJECTED in text(page)
    response = call(client, "put", "/stays/RES-1", token, stay_body())
    assert response.status_code == 403 and REJECTED in response.json["detail"]
    assert reported() == 0
    # Waiting for verification: the 24 hours do not wait for the office.
    waiting = make_lodging(operator, name="Kos Waiting")
    stay_id = report_guest(operator_client, waiting)
    stay = db.session.get(Stay, stay_id)
    assert stay.status == "reported" and stay.receipt_number and stay.lodging_pending_at_report
