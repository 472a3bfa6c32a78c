"""The purpose of access (docs/privacy.md): given once per session, written with every access-log
entry; an office can make it mandatory before searches, timelines and exports."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from serasi_web.audit.models import AuditEvent
from serasi_web.extensions import db
from serasi_web.offices.models import ImmigrationOffice

from .helpers import make_officer_area, report_guest, search

EN = {"Accept-Language": "en"}


@pytest.fixture
def stay_id(app, operator_client, operator, offices):
    area = make_officer_area(operator)
    return report_guest(operator_client, area.jimbaran, surname="Mover", document_number="MV1234567", nationality="AUS", issuing_state="AUS")


def last_access(action: str) -> AuditEvent:
    return db.session.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()


def require_purpose(office_id: int) -> None:
    db.session.get(ImmigrationOffice, office_id).access_purpose_required = True
    db.session.commit()


def test_the_purpose_given_goes_into_every_access_log_entry_of_the_session(app, officer_client, stay_id):
    search(officer_client, "/officer/stays", "document_number=MV1234567")
    assert "purpose" not in last_access("console.search").changes  # not asked: none recorded
    response = officer_client.post("/officer/purpose/", data={"purpose": "investigation", "text": "Case 12/2026", "next": "/officer/stays"})
    assert response.status_code == 303 and response.location.endswith("/officer/stays")
    page = search(officer_client, "/officer/stays", "document_number=MV1234567", headers=EN).get_data(as_text=True)
    assert "Purpose of access: Investigating a case: Case 12/2026" in page
    assert last_access("console.search").changes["purpose"] == {"code": "investigation", "text": "Case 12/2026"}
    officer_client.get(f"/officer/stays/{stay_id}/timeline")
    assert last_access("console.timeline_viewed").changes["purpose"]["code"] == "investigation"
    officer_client.get(f"/officer/stays/{stay_id}")
    assert last_access("console.stay_viewed").changes["purpose"]["text"] == "Case 12/2026"


def test_an_office_that_asks_for_a_purpose_gets_it_before_searches_timelines_and_exports(app, officer_client, officer, stay_id):
    require_purpose(officer.office_id)
    for path in ("/officer/stays?name=mover", f"/officer/stays/{stay_id}/timeline", "/officer/statistics/per_day.csv"):
        response = officer_client.get(path)
        assert response.status_code == 303 and "/officer/purpose/?next=" in response.location, path
        assert "mover" not in response.location  # the search terms stay out of the address
    htmx = search(officer_client, "/officer/stays", "name=mover", headers={"HX-Request": "true"})
    assert htmx.status_code == 204 and htmx.headers["HX-Redirect"].startswith("/officer/purpose/")
    assert not db.session.execute(select(AuditEvent).where(AuditEvent.action.like("console.%"))).first()

    form = officer_client.get("/officer/purpose/?next=/officer/stays", headers=EN).get_data(as_text=True)
    assert 'value="/officer/stays"' in form and "Purpose of access" in form
    officer_client.post("/officer/purpose/", data={"purpose": "supervision", "text": "", "next": "/officer/stays"})
    assert search(officer_client, "/officer/stays", "name=mover").status_code == 200
    assert last_access("console.search").changes["purpose"] == {"code": "supervision", "text": ""}


@pytest.mark.parametrize("values, message", [
    ({"purpose": "", "text": "x"}, "Choose why you need these data."),
    ({"purpose": "gossip", "text": ""}, "Not a valid choice"),
    ({"purpose": "other", "text": ""}, "Describe the purpose."),
    ({"purpose": "other", "text": "x" * 201}, "200"),
])
def test_a_bad_purpose_comes_back_with_the_message(app, officer_client, officer, values, message):
    require_purpose(officer.office_id)
    response = officer_client.post("/officer/purpose/", data=values | {"next": "/officer/stays"}, headers=EN)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert officer_client.get("/officer/stays").status_code == 303  # still not given


@pytest.mark.parametrize("next_value", ["https://evil.example/", "//evil.example/officer/", "/officer/stays?name=mover", "/dashboard"])
def test_the_way_back_is_only_a_console_path(app, officer_client, next_value):
    response = officer_client.post("/officer/purpose/", data={"purpose": "statistics", "text": "", "next": next_value})
    assert response.status_code == 303 and response.location.endswith("/officer/stays")


def test_the_admin_makes_an_office_ask_for_a_purpose(app, admin_client, offices):
    office = offices["ngurah_rai"]
    form = {"code": office.code, "name": office.name, "region_codes": "51.03.01\n51.03.05\n51.03.06", "access_purpose_required": "y"}
    assert admin_client.post(f"/admin/offices/{office.id}/edit", data=form).status_code == 303
    db.session.expire_all()
    assert db.session.get(ImmigrationOffice, office.id).access_purpose_required is True
    form.pop("access_purpose_required")
    admin_client.post(f"/admin/offices/{office.id}/edit", data=form)
    db.session.expire_all()
    assert db.session.get(ImmigrationOffice, office.id).access_purpose_required is False
