"""Supervision teams (Timpora, police) read the console for their regions only and change
nothing; admins create them and browse and export the audit log, and see guests only when also
given an office role."""
import csv
import io
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from serasi_web.accounts.models import SupervisionRegion, User
from serasi_web.audit.models import AuditEvent
from serasi_web.extensions import db
from serasi_web.officer.services import create_supervisor

from .helpers import DENPASAR_SANUR, KUTA_SELATAN_JIMBARAN, TEST_PASSWORD, csrf_token, login, make_lodging, report_guest, search

EN = {"Accept-Language": "en"}
KUTA_LEGIAN = dict(province_code="51", regency_code="51.03", district_code="51.03.01", village_code="51.03.01.1004")


@pytest.fixture
def area(app, operator, offices, operator_client):
    lodgings = SimpleNamespace(
        jimbaran=make_lodging(operator, KUTA_SELATAN_JIMBARAN, name="Villa Jimbaran"),
        legian=make_lodging(operator, KUTA_LEGIAN, name="Hotel Legian"),
        sanur=make_lodging(operator, DENPASAR_SANUR, name="Villa Sanur"),
    )
    lodgings.jimbaran.status = lodgings.legian.status = lodgings.sanur.status = "verified"
    pending = make_lodging(operator, KUTA_SELATAN_JIMBARAN, name="Kos Menunggu")
    db.session.commit()
    lodgings.pending = pending
    lodgings.jimbaran_guest = report_guest(operator_client, lodgings.jimbaran, surname="Jimbaranson", document_number="JB1234567")
    lodgings.legian_guest = report_guest(operator_client, lodgings.legian, surname="Legianson", document_number="LG1234567")
    lodgings.sanur_guest = report_guest(operator_client, lodgings.sanur, surname="Sanurson", document_number="SN1234567")
    return lodgings


@pytest.fixture
def timpora(app, area):
    """A Timpora team for Kuta Selatan only (a district of Kanim Ngurah Rai's area)."""
    user = create_supervisor(email="timpora@example.com", password=TEST_PASSWORD, full_name="Timpora Kuta Selatan",
                             region_codes=["51.03.05"])
    client = app.test_client()
    login(client, user.email)
    return SimpleNamespace(user=user, client=client)


def text(response) -> str:
    return response.get_data(as_text=True)


def events_of(response) -> str:
    """The event list of the audit page (its filter form names every action)."""
    return text(response).split('id="audit-events"', 1)[1]


def test_a_supervision_team_sees_its_district_only(timpora, area):
    client = timpora.client
    page = text(client.get("/officer/stays", headers=EN))
    assert "Jimbaranson" in page and "Legianson" not in page and "Sanurson" not in page
    assert client.get(f"/officer/stays/{area.jimbaran_guest}").status_code == 200
    assert client.get(f"/officer/stays/{area.legian_guest}").status_code == 404
    assert client.get(f"/officer/stays/{area.sanur_guest}/timeline").status_code == 404
    assert client.get(f"/officer/lodgings/{area.legian.id}").status_code == 404
    statistics = text(client.get("/officer/statistics", headers=EN))
    assert "Kuta Selatan" in statistics and "› Kuta<" not in statistics and "Denpasar" not in statistics
    assert "Area: Kuta Selatan" in page


def test_a_supervision_team_logs_in_to_the_console(app, timpora):
    client = app.test_client()
    response = client.post("/login", data={"email": timpora.user.email, "password": TEST_PASSWORD}, follow_redirects=True)
    assert response.status_code == 200 and response.request.path == "/officer/inbox"


def test_a_supervision_team_reads_but_never_decides(timpora, area):
    client = timpora.client
    page = text(client.get(f"/officer/lodgings/{area.pending.id}", headers=EN))
    assert "Kos Menunggu" in page and "/verify" not in page and "/reject" not in page
    for action in ("verify", "reject", "reopen"):
        assert client.post(f"/officer/lodgings/{area.pending.id}/{action}", data={"reason": "x"}).status_code == 404
    db.session.refresh(area.pending)
    assert area.pending.status == "pending"
    assert "Read only" in text(client.get("/officer/lodgings", headers=EN))


def test_a_supervision_team_views_are_recorded(timpora, area):
    timpora.client.get(f"/officer/stays/{area.jimbaran_guest}")
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "console.stay_viewed")).scalar_one()
    assert event.actor_id == timpora.user.id and event.object_id == area.jimbaran_guest


def test_a_supervision_team_with_no_region_sees_nothing(app, area):
    user = create_supervisor(email="empty@example.com", password=TEST_PASSWORD, full_name="Nobody", region_codes=[])
    client = app.test_client()
    login(client, user.email)
    page = text(client.get("/officer/stays", headers=EN))
    assert "No report matches" in page and "No region assigned yet" in page
    assert client.get(f"/officer/stays/{area.jimbaran_guest}").status_code == 404


def test_a_regency_scope_covers_its_districts(app, area):
    user = create_supervisor(email="polres@example.com", password=TEST_PASSWORD, full_name="Polres Badung", region_codes=["51.03"])
    client = app.test_client()
    login(client, user.email)
    page = text(client.get("/officer/stays", headers=EN))
    assert "Jimbaranson" in page and "Legianson" in page and "Sanurson" not in page


def test_admin_creates_a_supervision_team_and_sets_its_regions(admin_client, area):
    response = admin_client.post("/admin/supervisors/new", data={
        "full_name": "Timpora Kuta", "email": "Timpora.Kuta@example.com", "password": TEST_PASSWORD,
        "region_codes": "51.03.05  # Kuta Selatan\n5103.01"}, headers=EN)
    assert response.status_code == 303
    user = db.session.execute(select(User).where(User.email == "timpora.kuta@example.com")).scalar_one()
    assert user.role == "supervisor" and user.office_id is None
    assert [region.region_code for region in user.supervision_regions] == ["51.03.01", "51.03.05"]
    page = text(admin_client.get("/admin/users", headers=EN))
    assert "Supervision team" in page and f"/admin/supervisors/{user.id}/regions" in page
    admin_client.post(f"/admin/supervisors/{user.id}/regions", data={"region_codes": "51.71"})
    db.session.expire_all()
    assert db.session.scalars(select(SupervisionRegion.region_code).where(SupervisionRegion.user_id == user.id)).all() == ["51.71"]


@pytest.mark.parametrize("codes, message", [
    ("", "at least one region code"), ("99.99", "not a Kemendagri region code"), ("51", "not a regency/city or district code"),
    ("51.03.05.1006", "not a regency/city or district code"), ("x" * 30000, "at most 20000 characters"),
])
def test_bad_region_codes_come_back_with_a_message(admin_client, area, codes, message):
    response = admin_client.post("/admin/supervisors/new", data={
        "full_name": "Timpora", "email": "t@example.com", "password": TEST_PASSWORD, "region_codes": codes}, headers=EN)
    assert response.status_code == 200 and message in text(response) and 't@example.com' in text(response)


def test_regions_page_is_only_for_supervision_teams(admin_client, officer, area):
    assert admin_client.get(f"/admin/supervisors/{officer.id}/regions").status_code == 404
    assert admin_client.get("/admin/supervisors/999999/regions").status_code == 404


def test_an_admin_sees_no_guest_data_until_given_an_office_role(admin_client, admin, offices, area):
    """Running the instance is not a reason to read passports (UU PDP): the console answers 404
    to an admin without an office; given Kanim Ngurah Rai's role, the admin sees that office's
    guests only, and still decides nothing about lodgings."""
    assert admin_client.get("/officer/stays", headers=EN).status_code == 404
    assert admin_client.get(f"/officer/stays/{area.jimbaran_guest}").status_code == 404
    assert 'href="/officer/stays"' not in text(admin_client.get("/admin/", headers=EN))

    page = text(admin_client.get("/admin/users", headers=EN))
    assert "None: sees no guest data" in page
    response = admin_client.post(f"/admin/users/{admin.id}/office", data={
        "office_id": offices["ngurah_rai"].id, "csrf_token": csrf_token(admin_client, "/admin/users")})
    assert response.status_code == 303
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "account.office_role_changed")).scalar_one()
    assert event.actor_id == admin.id and event.changes["office"] == ["", offices["ngurah_rai"].name]

    page = text(admin_client.get("/officer/stays", headers=EN))
    assert "Jimbaranson" in page and "Legianson" in page and "Sanurson" not in page
    assert admin_client.get(f"/officer/stays/{area.jimbaran_guest}").status_code == 200
    assert admin_client.get(f"/officer/stays/{area.sanur_guest}").status_code == 404
    assert admin_client.post(f"/officer/lodgings/{area.pending.id}/verify").status_code == 404  # officers decide

    admin_client.post(f"/admin/users/{admin.id}/office", data={"office_id": "0", "csrf_token": csrf_token(admin_client, "/admin/users")})
    assert admin_client.get("/officer/stays", headers=EN).status_code == 404


def test_only_admin_accounts_get_an_office_role_and_bad_offices_change_nothing(admin_client, officer, admin, area):
    token = csrf_token(admin_client, "/admin/users")
    assert admin_client.post(f"/admin/users/{officer.id}/office", data={"office_id": "0", "csrf_token": token}).status_code == 404
    assert admin_client.post("/admin/users/999999/office", data={"office_id": "0", "csrf_token": token}).status_code == 404
    for bad in ("999999", "x", ""):
        response = admin_client.post(f"/admin/users/{admin.id}/office", data={"office_id": bad, "csrf_token": token})
        assert response.status_code == 303
        db.session.refresh(admin)
        assert admin.office_id is None
    db.session.refresh(officer)
    assert officer.office_id is not None


def test_admin_browses_filters_and_exports_the_audit_log(admin_client, officer_client, admin, officer, area):
    officer_client.get(f"/officer/stays/{area.jimbaran_guest}")
    search(officer_client, "/officer/stays", "name==HYPERLINK")
    # The events are named in the reader's language, never by their codes.
    page = events_of(admin_client.get("/admin/audit", headers=EN))
    assert "Officer viewed a report" in page and "Report submitted" in page and officer.email in page
    assert "console.stay_viewed" not in page and "stay.submitted" not in page
    page = events_of(admin_client.get("/admin/audit?action=access", headers=EN))
    assert "Officer searched reports" in page and "Report submitted" not in page
    assert "HYPERLINK" not in page and "Jimbaranson" not in page  # what names guests is the DPO's to read
    kept = admin_client.post("/admin/audit", data={"actor": officer.email, "action": "console.stay_viewed"}, headers=EN)
    assert kept.status_code == 303 and officer.email not in kept.location  # a staff member's e-mail stays out of URLs
    page = events_of(admin_client.get(kept.location, headers=EN))
    assert "Officer viewed a report" in page and "Officer searched reports" not in page
    response = admin_client.get("/admin/audit.csv?action=access")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(text(response).lstrip("\ufeff"))))
    assert rows[0] == ["at_utc", "actor", "action", "object_type", "object_id", "lodging_id", "details"]
    assert {row[2] for row in rows[1:]} == {"console.stay_viewed", "console.search", "admin.audit_export"}
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    assert "HYPERLINK" not in text(response)
    exported = db.session.execute(select(AuditEvent).where(AuditEvent.action == "admin.audit_export")).scalar_one()
    assert exported.actor_id == admin.id and exported.changes["filters"] == {"action": "access"}


@pytest.mark.parametrize("query", ["start=2026-05-10&end=2026-05-01", "start=nonsense", "action=drop table", "actor=" + "x" * 5000,
                                   "page=-1", "actor=%25_%25"])
def test_bad_audit_filters_never_fail(admin_client, area, query):
    assert admin_client.get(f"/admin/audit?{query}", headers=EN).status_code == 200
    assert admin_client.get(f"/admin/audit.csv?{query}").status_code in (200, 303)


def test_only_admins_reach_the_audit_log_and_team_accounts(officer_client, timpora, operator_client, area):
    for client in (officer_client, timpora.client, operator_client):
        for path in ("/admin/audit", "/admin/audit.csv", "/admin/supervisors/new"):
            assert client.get(path).status_code == 404, path
