"""The national console: three instances over real HTTP. The Jakarta office's instance and the
Bali office's instance (each on its own SQLite database) forward to the national instance (the
``app`` fixture, SQLite and PostgreSQL), where an office stands for each of them. A foreigner
reported in Jakarta and then in Bali is one timeline there, both lodgings in their real
districts; statistics count them by office and province; a Kanwil for Bali and the office of
the Jakarta instance see only their own; every view is in the access log."""
from __future__ import annotations

import csv
import io
import re
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from serasi_web import create_app
from serasi_web.accounts.models import User
from serasi_web.audit.models import AuditEvent, AuditSubject
from serasi_web.config import ConfigurationError
from serasi_web.delivery.dispatcher import deliver_everything
from serasi_web.extensions import db
from serasi_web.federation.models import FederatedStay, FederationPeer
from serasi_web.federation.peers import create_peer
from serasi_web.lodgings.models import Lodging
from serasi_web.offices.models import ImmigrationOffice
from serasi_web.stays.models import Stay

from .conftest import BASE_CONFIG
from .helpers import (JAKARTA_BARAT, KUTA_SELATAN_JIMBARAN, local_now, login, make_lodging, make_offices, make_user,
                      recorded_statements, report_guest, search, selects)

PASSPORT = {"document_number": "N7310552", "issuing_state": "NLD", "nationality": "NLD", "surname": "Van Dijk",
            "given_names": "Maarten", "date_of_birth": "1981-03-05"}


@pytest.fixture
def app_config(app_config):
    return {**app_config, "INSTANCE_LEVEL": "national"}


@pytest.fixture
def national(app):
    """The national instance (the test's database) served over real HTTP on loopback."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.base_url = f"http://127.0.0.1:{server.server_port}"
    yield app
    server.shutdown()


@pytest.fixture
def national_admin(national):
    make_user("admin.ditjen@example.com", role="admin")
    client = national.test_client()
    login(client, "admin.ditjen@example.com")
    return client


@pytest.fixture
def peers(national, national_admin):
    """The two sending instances as peers of the national one: {name: token}."""
    admin = db.session.scalar(select(User).where(User.email == "admin.ditjen@example.com"))
    tokens = {}
    for name, office in (("SERASI Jakarta", "Kanim Jakarta Barat"), ("SERASI Bali", "Kanim Ngurah Rai")):
        _peer, tokens[name] = create_peer(name, office, admin)
    db.session.commit()
    return tokens


def save_office(client, **values):
    """Create an office through the administrator's form; answers the response."""
    data = {"code": "", "name": "", "office_class": "", "letterhead": "", "address": "", "phone": "", "email": "",
            "region_codes": "", "level": "office", "federation_peer_id": "0"} | values
    return client.post("/admin/offices/new", data=data)


@pytest.fixture
def national_offices(national, national_admin, peers):
    """On the national instance: an office for each instance, the Kanwil of Bali (province 51) and
    the Directorate General (national); one officer each."""
    peer_ids = {peer.name: peer.id for peer in db.session.scalars(select(FederationPeer))}
    for values in (
        {"code": "INST-JAKARTA", "name": "Instansi Kanim Jakarta Barat", "federation_peer_id": str(peer_ids["SERASI Jakarta"])},
        {"code": "INST-BALI", "name": "Instansi Kanim Ngurah Rai", "federation_peer_id": str(peer_ids["SERASI Bali"])},
        {"code": "KANWIL-BALI", "name": "Kanwil Bali", "level": "regional", "region_codes": "51"},
        {"code": "DITJEN", "name": "Ditjen Imigrasi", "level": "national"},
    ):
        assert save_office(national_admin, **values).status_code == 303, values
    offices = {office.code: office for office in db.session.scalars(select(ImmigrationOffice))}
    make_user("officer.ditjen@example.com", role="officer", office_id=offices["DITJEN"].id)
    make_user("officer.kanwil.bali@example.com", role="officer", office_id=offices["KANWIL-BALI"].id)
    make_user("officer.inst.jakarta@example.com", role="officer", office_id=offices["INST-JAKARTA"].id)
    return offices


def office_instance(served_instance, name: str, address: dict, lodging_name: str, national, token: str):
    """An office's instance forwarding to the national one, with a verified lodging at ``address``."""
    def setup(instance):
        make_offices()
        operator = make_user(f"operator.{name}@example.com")
        lodging = make_lodging(operator, address, name=lodging_name)
        lodging.status = "verified"
        db.session.commit()
        instance.lodging_id = lodging.id

    return served_instance(name, setup, FEDERATION_URL=national.base_url, FEDERATION_TOKEN=token)


def report_on(instance, name: str, **form):
    """The instance's operator reports the guest; returns the stay id there."""
    client = instance.test_client()
    login(client, f"operator.{name}@example.com")
    with instance.app_context():
        lodging = db.session.get(Lodging, instance.lodging_id)
        stay_id = report_guest(client, lodging, **PASSPORT, **form)
        db.session.remove()
    return client, stay_id


def deliver(instance) -> None:
    with instance.app_context():
        deliver_everything()
        db.session.remove()


@pytest.fixture
def moved_guest(national, national_offices, peers, served_instance):
    """The guest checked in at Hotel Kembang in Jakarta Barat, checked out, then checked in at
    Villa Jimbaran in Kuta Selatan (Bali); both instances delivered to the national one.
    Returns the national stay ids {"jakarta": id, "bali": id}."""
    jakarta = office_instance(served_instance, "jakarta", JAKARTA_BARAT, "Hotel Kembang", national, peers["SERASI Jakarta"])
    bali = office_instance(served_instance, "bali", KUTA_SELATAN_JIMBARAN, "Villa Jimbaran", national, peers["SERASI Bali"])
    client, jakarta_stay = report_on(jakarta, "jakarta", check_in_at=local_now("Asia/Jakarta", -8), port_of_entry="Soekarno-Hatta")
    assert client.post(f"/stays/{jakarta_stay}/check-out", data={"checked_out_at": local_now("Asia/Jakarta", -5)}).status_code == 303
    report_on(bali, "bali", check_in_at=local_now("Asia/Makassar", -1))
    deliver(jakarta)
    deliver(bali)
    db.session.expire_all()
    found = {link.peer.name: link.stay_id for link in db.session.scalars(select(FederatedStay))}
    assert set(found) == {"SERASI Jakarta", "SERASI Bali"}
    return {"jakarta": found["SERASI Jakarta"], "bali": found["SERASI Bali"]}


def officer_client(app, email: str):
    client = app.test_client()
    login(client, email)
    return client


def statistics_csv(client, table: str) -> dict[str, int]:
    response = client.get(f"/officer/statistics/{table}.csv")
    assert response.status_code == 200, response.status_code
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    return {row[0]: int(row[1]) for row in rows[1:]}


def test_a_foreigner_reported_in_jakarta_then_bali_is_one_timeline_on_the_national_console(national, moved_guest):
    # Mirrored lodgings are grouped under the office of the instance that sent them, in their real districts.
    lodgings = {lodging.name: lodging for lodging in db.session.scalars(select(Lodging))}
    assert (lodgings["Hotel Kembang"].district_code, lodgings["Hotel Kembang"].office.code) == ("31.73.01", "INST-JAKARTA")
    assert (lodgings["Villa Jimbaran"].district_code, lodgings["Villa Jimbaran"].office.code) == ("51.03.05", "INST-BALI")
    director = officer_client(national, "officer.ditjen@example.com")
    page = director.get(f"/officer/stays/{moved_guest['bali']}/timeline")
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    text = page.get_data(as_text=True)
    # One guest, two lodgings, in check-in order, each in its district and province by name (Indonesian).
    assert text.index("Hotel Kembang") < text.index("Villa Jimbaran")
    assert "Cengkareng, Daerah Khusus Ibukota Jakarta" in text and "Kuta Selatan, Bali" in text
    assert "Dilaporkan di instansi SERASI Jakarta (Kanim Jakarta Barat)" in text
    assert "Dilaporkan di instansi SERASI Bali (Kanim Ngurah Rai)" in text
    # The access log has the timeline with both stays shown.
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "console.timeline_viewed")).one()
    assert event.actor_label == "officer.ditjen@example.com" and event.changes["document_number"] == "N7310552"
    shown = set(db.session.scalars(select(AuditSubject.stay_id).where(AuditSubject.event_id == event.id)))
    assert shown == {moved_guest["jakarta"], moved_guest["bali"]}


def test_statistics_by_office_and_province_count_both_instances(national, moved_guest):
    director = officer_client(national, "officer.ditjen@example.com")
    page = director.get("/officer/statistics").get_data(as_text=True)
    assert "Check-in menurut kantor" in page and "Check-in menurut provinsi" in page
    assert statistics_csv(director, "office") == {"Instansi Kanim Jakarta Barat": 1, "Instansi Kanim Ngurah Rai": 1}
    assert statistics_csv(director, "province") == {"Daerah Khusus Ibukota Jakarta": 1, "Bali": 1}
    viewed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "console.statistics_viewed")).one()
    assert "office" in viewed.changes["tables"] and viewed.actor_label == "officer.ditjen@example.com"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "console.export").limit(1)) is not None


def test_the_kanwil_of_bali_sees_only_bali_and_an_instances_office_only_its_own(national, moved_guest):
    kanwil = officer_client(national, "officer.kanwil.bali@example.com")
    text = kanwil.get(f"/officer/stays/{moved_guest['bali']}/timeline").get_data(as_text=True)
    assert "Villa Jimbaran" in text and "Hotel Kembang" not in text
    assert kanwil.get(f"/officer/stays/{moved_guest['jakarta']}").status_code == 404
    assert kanwil.get(f"/officer/stays/{moved_guest['jakarta']}/timeline").status_code == 404
    assert statistics_csv(kanwil, "province") == {"Bali": 1}
    assert statistics_csv(kanwil, "office") == {"Instansi Kanim Ngurah Rai": 1}
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "console.timeline_viewed")).one()
    assert set(db.session.scalars(select(AuditSubject.stay_id).where(AuditSubject.event_id == event.id))) == {moved_guest["bali"]}

    jakarta_office = officer_client(national, "officer.inst.jakarta@example.com")
    assert jakarta_office.get(f"/officer/stays/{moved_guest['bali']}/timeline").status_code == 404
    text = jakarta_office.get(f"/officer/stays/{moved_guest['jakarta']}/timeline").get_data(as_text=True)
    assert "Hotel Kembang" in text and "Villa Jimbaran" not in text
    # An office's console has no tables by office or province: one office, one row.
    assert "Check-in menurut kantor" not in jakarta_office.get("/officer/statistics").get_data(as_text=True)
    assert jakarta_office.get("/officer/statistics/office.csv").status_code == 404


def test_watch_lists_span_the_instances_for_the_national_office(national, moved_guest):
    director = officer_client(national, "officer.ditjen@example.com")
    # The Bali guest is still in the house: with the planned check-out long past, both watch it.
    stay = db.session.get(Stay, moved_guest["bali"])
    stay.planned_check_out = date.today() - timedelta(days=10)
    db.session.commit()
    page = director.get("/officer/watch/planned").get_data(as_text=True)
    assert "Villa Jimbaran" in page and "Instansi Kanim Ngurah Rai" in page
    assert "Villa Jimbaran" in officer_client(national, "officer.kanwil.bali@example.com").get("/officer/watch/planned").get_data(as_text=True)
    assert "Villa Jimbaran" not in officer_client(national, "officer.inst.jakarta@example.com").get("/officer/watch/planned").get_data(as_text=True)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "console.watch_list_viewed")).all()
    assert {event.actor_label for event in events} == {"officer.ditjen@example.com", "officer.kanwil.bali@example.com", "officer.inst.jakarta@example.com"}


def test_an_office_instance_offers_no_levels_and_an_unknown_instance_level_is_refused(national, national_admin, national_offices,
                                                                                      served_instance, tmp_path):
    assert 'name="level"' in national_admin.get("/admin/offices/new").get_data(as_text=True)
    answer = save_office(national_admin, code="KANWIL-X", name="Kanwil X", level="regional", region_codes="99")
    assert answer.status_code == 200 and "99" in answer.get_data(as_text=True)
    # One office per instance: a second office claiming the Jakarta instance is told which office has it.
    jakarta = db.session.scalar(select(FederationPeer).where(FederationPeer.name == "SERASI Jakarta"))
    answer = save_office(national_admin, code="INST-JAKARTA-2", name="Kedua", federation_peer_id=str(jakarta.id))
    assert answer.status_code == 200 and "Instansi Kanim Jakarta Barat sudah mewakili instansi ini." in answer.get_data(as_text=True)
    edit = national_admin.get(f"/admin/offices/{jakarta.office_id}/edit").get_data(as_text=True)
    assert f'<option selected value="{jakarta.id}">SERASI Jakarta</option>' in edit or f'value="{jakarta.id}" selected' in edit
    office = served_instance("plain", lambda instance: make_user("admin.plain@example.com", role="admin"))
    client = office.test_client()
    login(client, "admin.plain@example.com")
    assert 'name="level"' not in client.get("/admin/offices/new").get_data(as_text=True)
    with pytest.raises(ConfigurationError):
        create_app({**BASE_CONFIG, "INSTANCE_LEVEL": "country", "SQLALCHEMY_DATABASE_URI": "sqlite://", "INSTANCE_PATH": str(tmp_path / "country")})


def office_cells(page: str) -> list[str]:
    """The office named on each row of a console table, in order."""
    return re.findall(r'<td class="office">([^<]*)</td>', page)


def test_inbox_and_search_name_each_reports_office_where_the_scope_spans_offices(national, moved_guest):
    director = officer_client(national, "officer.ditjen@example.com")
    with recorded_statements() as statements:
        inbox = director.get("/officer/inbox").get_data(as_text=True)
    assert "<th>Kantor</th>" in inbox
    assert sorted(office_cells(inbox)) == ["Instansi Kanim Jakarta Barat", "Instansi Kanim Ngurah Rai"]
    # The rows' offices come in one query for the page, not one per row.
    # The rows' offices come in one query for the page, not one per row (the other read is the
    # officer's own office, for the page's "Area").
    office_reads = [statement for statement in selects(statements) if statement.startswith("SELECT immigration_office.id,")]
    assert len(office_reads) == 2 and len([statement for statement in office_reads if "immigration_office.id IN (" in statement]) == 1
    fragment = director.get("/officer/inbox", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.startswith('<div id="inbox-events">') or '<div id="inbox-events">' in fragment[:300]
    assert sorted(office_cells(fragment)) == ["Instansi Kanim Jakarta Barat", "Instansi Kanim Ngurah Rai"]

    # Every report, newest check-in first (the Bali one), each with its office; as a page and as htmx's fragment.
    results = director.get("/officer/stays").get_data(as_text=True)
    assert "<th>Kantor</th>" in results
    assert office_cells(results) == ["Instansi Kanim Ngurah Rai", "Instansi Kanim Jakarta Barat"]
    fragment = search(director, "/officer/stays", {"document_number": PASSPORT["document_number"]}, headers={"HX-Request": "true"})
    assert fragment.request.path.startswith("/officer/stays/s/")
    fragment = fragment.get_data(as_text=True)
    assert "<html" not in fragment and office_cells(fragment) == ["Instansi Kanim Ngurah Rai", "Instansi Kanim Jakarta Barat"]

    # The Kanwil of Bali spans offices too: its one report, named.
    kanwil = officer_client(national, "officer.kanwil.bali@example.com")
    assert office_cells(kanwil.get("/officer/inbox").get_data(as_text=True)) == ["Instansi Kanim Ngurah Rai"]
    assert office_cells(kanwil.get("/officer/stays").get_data(as_text=True)) == ["Instansi Kanim Ngurah Rai"]

    # An office's officers see their own reports as before: no office column.
    jakarta_office = officer_client(national, "officer.inst.jakarta@example.com")
    for path in ("/officer/inbox", "/officer/stays"):
        page = jakarta_office.get(path).get_data(as_text=True)
        assert "Hotel Kembang" in page and "Villa Jimbaran" not in page
        assert "<th>Kantor</th>" not in page and office_cells(page) == []
