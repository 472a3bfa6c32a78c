"""The office's data-protection officer: reads who saw which guest's data (filtered by staff,
guest, lodging and day, in Indonesian and English, exported as CSV) and answers data access
requests, without the operational console; the log cannot be changed through any route."""
import csv
import io
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from serasi_web.audit.models import AuditEvent, AuditSubject
from serasi_web.extensions import db

from .helpers import DENPASAR_SANUR, KUTA_SELATAN_JIMBARAN, csrf_token, login, make_lodging, make_user, report_guest, search

EN = {"Accept-Language": "en"}
ID = {"Accept-Language": "id"}


@pytest.fixture
def world(app, operator, offices, operator_client, officer_client, officer):
    jimbaran = make_lodging(operator, KUTA_SELATAN_JIMBARAN, name="Villa Jimbaran")
    sanur = make_lodging(operator, DENPASAR_SANUR, name="Villa Sanur")
    jimbaran.status = sanur.status = "verified"
    db.session.commit()
    world = SimpleNamespace(jimbaran=jimbaran, sanur=sanur, officer=officer, officer_client=officer_client)
    world.tanaka = report_guest(operator_client, jimbaran, surname="Tanaka", given_names="Yui", document_number="TZ1234567")
    world.muller = report_guest(operator_client, jimbaran, surname="Müller", given_names="Jonas", document_number="C01X00T47")
    world.sanur_guest = report_guest(operator_client, sanur, surname="Sanurson", document_number="SN1234567")
    # The Ngurah Rai officer reads one report, then a search by document number lists another.
    officer_client.get(f"/officer/stays/{world.tanaka}")
    search(officer_client, "/officer/stays", {"document_number": "C01X00T47"})
    dpo = make_user("dpo.ngurahrai@example.com", role="dpo", office_id=offices["ngurah_rai"].id)
    world.dpo = dpo
    world.client = app.test_client()
    login(world.client, dpo.email)
    return world


def text(response) -> str:
    return response.get_data(as_text=True)


def rows_of(page: str) -> str:
    """The table of events (the filter form above names every lodging)."""
    return page.split("<tbody>", 1)[1] if "<tbody>" in page else ""


def filter_log(client, headers=EN, **fields):
    data = {"csrf_token": csrf_token(client, "/officer/access-log/"), **fields}
    return client.post("/officer/access-log/", data=data, headers=headers)


def test_the_dpo_lands_on_the_access_log_and_reads_who_saw_whom(world):
    response = world.client.get("/officer/access-log/", headers=EN)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    events = rows_of(text(response))
    assert "Officer viewed a report" in events and "Officer searched reports" in events
    assert world.officer.email in events
    assert "Yui Tanaka" in events and "TZ1234567 (SWE)" in events and "Villa Jimbaran" in events
    assert "console.stay_viewed" not in events
    # Reporting is the operators' history, not an access: it stays in the audit log.
    assert "Report submitted" not in events


def test_the_log_reads_in_indonesian_with_times_in_the_offices_zone(world):
    events = rows_of(text(world.client.get("/officer/access-log/", headers=ID)))
    assert "Petugas melihat laporan" in events and "WITA" in events
    assert "Officer viewed a report" not in events


def test_filters_by_guest_document_or_name_by_lodging_and_by_staff(world, app, offices):
    by_document = rows_of(text(filter_log(world.client, guest="tz 1234567")))
    assert "Officer viewed a report" in by_document and "Officer searched reports" not in by_document
    by_name = rows_of(text(filter_log(world.client, guest="muller")))  # accents and case ignored
    assert "Officer searched reports" in by_name and "Officer viewed a report" not in by_name
    nobody = rows_of(text(filter_log(world.client, guest="Sanurson")))  # another office's guest
    assert nobody == ""
    by_lodging = rows_of(text(filter_log(world.client, lodging_id=str(world.jimbaran.id))))
    assert "Officer viewed a report" in by_lodging
    other = make_user("other.officer@example.com", role="officer", office_id=offices["ngurah_rai"].id)
    assert rows_of(text(filter_log(world.client, actor=other.email))) == ""
    # Looking a person up in the log is itself an access, and the term is in no URL.
    searched = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "privacy.access_log_searched")).all()
    assert len(searched) == 3 and all(event.actor_id == world.dpo.id for event in searched)
    assert all("tz" not in str(event.changes).lower() for event in searched)


def test_an_other_offices_officer_and_lodging_are_not_in_this_log(app, world, offices):
    denpasar = make_user("officer.denpasar@example.com", role="officer", office_id=offices["denpasar"].id)
    client = app.test_client()
    login(client, denpasar.email)
    client.get(f"/officer/stays/{world.sanur_guest}")
    events = rows_of(text(world.client.get("/officer/access-log/", headers=EN)))
    assert denpasar.email not in events and "Sanurson" not in events
    # The Sanur lodging is not in this office's lodging filter: choosing it is refused at the field.
    response = filter_log(world.client, lodging_id=str(world.sanur.id))
    assert response.status_code == 200 and "Villa Sanur" not in text(response)
    assert 'class="error' in text(response) or "error" in text(response)


def test_the_export_spells_out_every_report_each_event_showed_and_is_logged(world):
    response = world.client.post("/officer/access-log/export", data={"csrf_token": csrf_token(world.client, "/officer/access-log/")},
                                 headers=EN)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(text(response).lstrip("\ufeff"))))
    assert rows[0] == ["at_utc", "who", "action", "purpose", "subjects"]
    search = next(row for row in rows[1:] if row[2] == "Officer searched reports")
    assert "Jonas Müller C01X00T47" in search[4]
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "privacy.access_log_exported")) is not None


def test_bad_filters_come_back_with_the_values_and_a_message(world):
    response = filter_log(world.client, start="2026-05-10", end="2026-05-01", guest="Tanaka", page="-3")
    page = text(response)
    assert response.status_code == 200 and "The end of the period is before its start." in page and 'value="Tanaka"' in page
    for fields in ({"start": "nonsense"}, {"actor": "x" * 5000}, {"lodging_id": "x"}, {"page": "99999999999"}, {"guest": "%_%"}):
        assert filter_log(world.client, **fields).status_code == 200


def test_the_dpo_answers_data_access_requests_but_has_no_console(world):
    client = world.client
    assert client.get("/officer/requests/", headers=EN).status_code == 200
    response = client.post("/officer/requests/", data={
        "document_number": "TZ1234567", "issuing_state": "SWE", "received_on": "2026-12-01", "channel": "email",
        "csrf_token": csrf_token(client, "/officer/requests/")})
    assert response.status_code == 303
    answer = text(client.get(response.location, headers=EN))
    assert "Villa Jimbaran" in answer and world.officer.email in answer
    for path in ("/officer/stays", f"/officer/stays/{world.tanaka}", "/officer/inbox", "/officer/statistics", "/admin/"):
        assert client.get(path).status_code == 404, path


def test_officers_and_operators_do_not_read_the_access_log(world, operator_client):
    for client in (world.officer_client, operator_client):
        assert client.get("/officer/access-log/").status_code == 404
        assert client.post("/officer/access-log/export").status_code in (400, 404)


def test_no_route_changes_or_deletes_the_log(app):
    """Append-only: the log's routes only read, and no route of any blueprint is named for
    editing or deleting audit events."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("access_log."):
            assert rule.methods - {"HEAD", "OPTIONS"} <= {"GET", "POST"}
        assert "audit" not in rule.rule or not (rule.methods & {"PUT", "PATCH", "DELETE"}), rule.rule


def test_each_view_and_list_records_the_reports_it_showed(world):
    viewed = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "console.stay_viewed"))
    searched = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "console.search"))
    subjects = db.session.execute(select(AuditSubject.event_id, AuditSubject.stay_id)).all()
    assert (viewed.id, world.tanaka) in subjects and (searched.id, world.muller) in subjects


def test_admins_create_a_data_protection_officer(admin_client, offices):
    response = admin_client.post("/admin/officers/new", data={
        "role": "dpo", "full_name": "Dewi Pelindung", "email": "dpo.denpasar@example.com", "office_id": offices["denpasar"].id,
        "password": "a long enough passphrase 7", "csrf_token": csrf_token(admin_client, "/admin/officers/new")})
    assert response.status_code == 303
    from serasi_web.accounts.services import find_user_by_email

    user = find_user_by_email("dpo.denpasar@example.com")
    assert user.role == "dpo" and user.office_id == offices["denpasar"].id
    assert "Data-protection officer" in text(admin_client.get("/admin/users", headers=EN))
    response = admin_client.post("/admin/officers/new", data={
        "role": "chief", "full_name": "X", "email": "x@example.com", "office_id": offices["denpasar"].id,
        "password": "a long enough passphrase 7", "csrf_token": csrf_token(admin_client, "/admin/officers/new")}, headers=EN)
    assert response.status_code == 200 and "Choose the role." in text(response)
