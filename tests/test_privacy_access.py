"""A data subject's access request (docs/privacy.md): an officer records it and hands over what
the office holds about the document, with its history and who saw it; audited each time."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from serasi_web.audit.models import AuditEvent
from serasi_web.extensions import db
from serasi_web.privacy.models import SubjectAccessRequest
from serasi_web.privacy.retention import run_retention
from serasi_web.database import utcnow

from .helpers import DENPASAR_SANUR, login, make_lodging, report_guest, search

EN = {"Accept-Language": "en"}


@pytest.fixture
def lodgings(app, operator, offices):
    jimbaran = make_lodging(operator, name="Villa Jimbaran")  # Kanim Ngurah Rai
    sanur = make_lodging(operator, DENPASAR_SANUR, name="Villa Sanur")  # Kanim Denpasar
    jimbaran.status = sanur.status = "verified"
    db.session.commit()
    return jimbaran, sanur


def request_form(**overrides) -> dict:
    values = {"document_number": "l8989 02c3", "issuing_state": "SWE", "received_on": date.today().isoformat(), "channel": "email",
              "reference": "Letter 7/2026"}
    values.update(overrides)
    return values


def record(client, **overrides) -> int:
    response = client.post("/officer/requests/", data=request_form(**overrides))
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    return int(response.location.rstrip("/").split("/")[-1])


def actions() -> list[str]:
    return db.session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars().all()


def test_an_officer_answers_a_request_with_the_offices_reports_history_and_accesses(app, operator_client, officer_client, officer, lodgings):
    jimbaran, sanur = lodgings
    here = report_guest(operator_client, jimbaran, notes="Late arrival")
    report_guest(operator_client, sanur)  # the same guest later in Denpasar's area
    other_guest = report_guest(operator_client, jimbaran, surname="Tanaka", document_number="TK1234567", issuing_state="JPN")
    assert officer_client.get(f"/officer/stays/{here}").status_code == 200  # the office looked at it
    assert "Eriksson" in search(officer_client, "/officer/stays", "surname=eriksson").get_data(as_text=True)  # and found it in a list

    request_id = record(officer_client)
    saved = db.session.get(SubjectAccessRequest, request_id)
    assert (saved.document_number, saved.issuing_state, saved.channel, saved.reference) == ("L898902C3", "SWE", "email", "Letter 7/2026")
    assert saved.office_id == officer.office_id and saved.recorded_by_id == officer.id

    page = officer_client.get(f"/officer/requests/{request_id}", headers=EN)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Anna María Eriksson" in text and "Villa Jimbaran" in text and "Late arrival" in text
    assert "Officer viewed a report" in text and officer.email in text  # who accessed it, readable
    assert "Tanaka" not in text  # another guest
    assert "Kanim Denpasar" in text and "1 report" in text  # named and counted, nothing of theirs shown
    assert "Villa Sanur" not in text
    assert "console.stay_viewed" not in text
    assert "<script>" not in text and " style=" not in text and " onclick=" not in text
    db.session.refresh(saved)
    assert saved.answered_at is not None

    indonesian = officer_client.get(f"/officer/requests/{request_id}").get_data(as_text=True)
    assert "Petugas melihat laporan" in indonesian

    exported = officer_client.get(f"/officer/requests/{request_id}/answer.json")
    assert exported.status_code == 200 and exported.headers["Cache-Control"] == "no-store"
    assert "attachment" in exported.headers["Content-Disposition"]
    body = exported.json
    assert body["request"]["document_number"] == "L898902C3" and body["office"] == "Kanim Ngurah Rai"
    assert [stay["data"]["surname"] for stay in body["stays"]] == ["Eriksson"]
    assert body["stays"][0]["versions"][0]["action"] == "submitted"
    accessed = body["stays"][0]["accessed"]
    assert any(access["action"] == "console.stay_viewed" and access["by"] == officer.email for access in accessed)
    assert any(access["action"] == "console.search" and access["by"] == officer.email for access in accessed)  # a list showed it too
    assert any(access["action"] == "privacy.request_answered" for access in accessed)  # so did the answers before this one
    assert body["other_offices"] == [{"office": "Kanim Denpasar", "reports": 1}]
    assert other_guest not in [stay["data"].get("id") for stay in body["stays"]]

    logged = actions()
    assert logged.count("privacy.request_recorded") == 1 and logged.count("privacy.request_answered") == 3


def test_a_request_for_a_document_nobody_holds_has_an_answer_too(app, officer_client, lodgings):
    request_id = record(officer_client, document_number="ZZ0000000", issuing_state="NZL")
    page = officer_client.get(f"/officer/requests/{request_id}", headers=EN).get_data(as_text=True)
    assert "This office holds no report of this travel document." in page and "Other offices" not in page
    assert officer_client.get(f"/officer/requests/{request_id}/answer.json").json["stays"] == []
    assert actions().count("privacy.request_answered") == 2


def test_a_report_under_a_legal_hold_is_left_out_and_the_officer_is_told(app, operator_client, officer_client, lodgings):
    jimbaran, _sanur = lodgings
    held = report_guest(operator_client, jimbaran)
    assert officer_client.post(f"/officer/stays/{held}/hold", data={"reason": "Case 12/2026"}).status_code == 303
    request_id = record(officer_client)
    page = officer_client.get(f"/officer/requests/{request_id}", headers=EN).get_data(as_text=True)
    assert "1 report of this document is under a legal hold" in page and "Eriksson" not in page
    assert officer_client.get(f"/officer/requests/{request_id}/answer.json").json["stays"] == []


def test_a_pseudonymised_report_is_no_longer_found(app, operator_client, officer_client, officer, lodgings):
    jimbaran, _sanur = lodgings
    report_guest(operator_client, jimbaran)
    run_retention(now=utcnow() + timedelta(days=5 * 365 + 1))
    login(officer_client, officer.email)  # five years on, the session has gone too
    request_id = record(officer_client)
    assert officer_client.get(f"/officer/requests/{request_id}/answer.json").json["stays"] == []


@pytest.mark.parametrize("field, value, message", [
    ("document_number", "", "Enter the document number."),
    ("document_number", "--- ---", "A document number has letters or digits."),
    ("issuing_state", "", "Choose the issuing state."),
    ("issuing_state", "QQQ", "Not a valid choice"),
    ("channel", "pigeon", "Not a valid choice"),
    ("received_on", (date.today() + timedelta(days=3)).isoformat(), "The request cannot arrive in the future."),
    ("received_on", "30-02-2026", "Not a valid date value."),
    ("reference", "x" * 121, "120"),
])
def test_a_bad_request_form_comes_back_with_the_message_and_records_nothing(app, officer_client, lodgings, field, value, message):
    response = officer_client.post("/officer/requests/", data=request_form(**{field: value}), headers=EN)
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and message in text
    assert "Letter 7/2026" in text or field == "reference"  # the typed values come back
    assert db.session.scalar(select(func.count()).select_from(SubjectAccessRequest)) == 0
    assert "privacy.request_recorded" not in actions()


def test_only_the_receiving_offices_officers_see_a_request(app, officer_client, denpasar_officer, admin, operator, lodgings):
    request_id = record(officer_client)
    for email in (denpasar_officer.email, admin.email, operator.email):
        client = app.test_client()
        login(client, email)
        assert client.get(f"/officer/requests/{request_id}").status_code == 404
        assert client.get(f"/officer/requests/{request_id}/answer.json").status_code == 404
    other = app.test_client()
    login(other, denpasar_officer.email)
    assert "Letter 7/2026" not in other.get("/officer/requests/").get_data(as_text=True)
    assert actions().count("privacy.request_answered") == 0
