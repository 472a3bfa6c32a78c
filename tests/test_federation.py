"""Federation that keeps identity: a sending instance (the ``app`` fixture, SQLite and PostgreSQL)
and a receiving office instance served over real HTTP. Each lodging arrives mirrored in its own
district and routed to the receiver's office; stays keep their receipt numbers; corrections,
check-outs and voids follow; repeats and late older versions change nothing; a revoked peer is
refused; a backfill interrupted halfway and resumed neither loses nor doubles a report."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
import requests
from sqlalchemy import delete, func, select

from plugins.forwarders.federation import peer_event_body
from serasi_web.accounts.models import User
from serasi_web.audit.models import AuditEvent
from serasi_web.delivery.dispatcher import deliver_everything
from serasi_web.delivery.models import Delivery, OutboxEvent
from serasi_web.extensions import db
from serasi_web.federation import backfill
from serasi_web.federation.models import (
    BackfillStatus,
    FederatedLodging,
    FederatedStay,
    FederationBackfill,
    FederationPeer,
)
from serasi_web.federation.peers import create_peer, revoke, rotate_token
from serasi_web.lodgings.models import Lodging
from serasi_web.stays.models import Stay

from .helpers import (
    DENPASAR_SANUR,
    KUTA_SELATAN_JIMBARAN,
    guest_form,
    local_now,
    login,
    make_lodging,
    make_offices,
    make_user,
    report_guest,
)

# Buleleng (Sukasada): a real district no office of these tests covers.
BULELENG_SUKASADA = {"province_code": "51", "regency_code": "51.08", "district_code": "51.08.05", "village_code": "51.08.05.2003"}


@pytest.fixture
def office_instance(served_instance):
    """The immigration office's instance: the same offices, an admin, officers of Ngurah Rai and
    Denpasar, and a peer (with its token) for the sending instance."""
    def setup(instance):
        make_offices()
        admin = make_user("admin.kanim@example.com", role="admin")
        offices = make_offices()
        make_user("officer.kuta@example.com", role="officer", office_id=offices["ngurah_rai"].id)
        make_user("officer.sanur@example.com", role="officer", office_id=offices["denpasar"].id)
        peer, instance.token = create_peer("SERASI Hotel Chain", "Kanim Chain Office", admin)
        instance.peer_id = peer.id

    return served_instance("office", setup)


@pytest.fixture
def sender(another_app, office_instance):
    """The sending instance's worker: the test's database, with the peer token."""
    return another_app(FEDERATION_URL=office_instance.base_url, FEDERATION_TOKEN=office_instance.token)


@pytest.fixture
def two_lodgings(app, operator, offices):
    """Lodging A in Kuta Selatan (Kanim Ngurah Rai), lodging B in Denpasar Selatan's Sanur (Kanim Denpasar)."""
    first = make_lodging(operator, KUTA_SELATAN_JIMBARAN, name="Villa Jimbaran")
    second = make_lodging(operator, DENPASAR_SANUR, name="Hotel Sanur", nib="9120009999999")
    for lodging in (first, second):
        lodging.status = "verified"
    db.session.commit()
    return first, second


def deliveries() -> set:
    return {(d.status, d.last_status_code) for d in db.session.execute(select(Delivery)).scalars()}


def mirrored(office_instance):
    """{origin stay id: (stay, its FederatedStay, lodging, office name)} on the receiver."""
    with office_instance.app_context():
        rows = db.session.execute(select(Stay, FederatedStay, Lodging).join(FederatedStay, FederatedStay.stay_id == Stay.id)
                                  .join(Lodging, Lodging.id == Stay.lodging_id)).all()
        found = {link.origin_stay_id: (stay, link, lodging, lodging.office.name if lodging.office else None) for stay, link, lodging in rows}
        db.session.expunge_all()
        return found


def post_event(office_instance, body: dict, token: str | None = None):
    return requests.post(f"{office_instance.base_url}/api/v1/federation/events", json=body, timeout=10,
                         headers={"Authorization": f"Bearer {token or office_instance.token}"})


def outbox_bodies(sender, stay_id: int) -> list[dict]:
    """The federation bodies of a stay's outbox events, oldest first (built as the forwarder does)."""
    with sender.app_context():
        payloads = db.session.execute(select(OutboxEvent.payload).where(OutboxEvent.stay_id == stay_id).order_by(OutboxEvent.id)).scalars().all()
        return [peer_event_body(payload) for payload in payloads]


def test_reports_in_two_districts_arrive_as_two_mirrored_lodgings_routed_to_their_offices(
        app, sender, operator_client, two_lodgings, office_instance):
    jimbaran, sanur = two_lodgings
    first = report_guest(operator_client, jimbaran)
    second = report_guest(operator_client, sanur, document_number="X7777777", surname="Other")
    with sender.app_context():
        deliver_everything()
    assert deliveries() == {("delivered", 201)}
    receipts = {stay.id: stay.receipt_number for stay in db.session.execute(select(Stay)).scalars()}
    found = mirrored(office_instance)
    assert set(found) == {first, second}
    stay_a, link_a, lodging_a, office_a = found[first]
    _, link_b, lodging_b, office_b = found[second]
    assert (lodging_a.name, lodging_a.district_code, office_a) == ("Villa Jimbaran", "51.03.05", "Kanim Ngurah Rai")
    assert (lodging_b.name, lodging_b.district_code, lodging_b.nib, office_b) == ("Hotel Sanur", "51.71.01", "9120009999999", "Kanim Denpasar")
    assert lodging_a.federation_peer_id == office_instance.peer_id and lodging_a.status == "verified"
    # The receipt numbers are the sender's, beside (never in) the receiver's own receipt column.
    assert (link_a.origin_receipt_number, link_b.origin_receipt_number) == (receipts[first], receipts[second])
    assert stay_a.receipt_number is None and stay_a.status == "reported" and stay_a.surname.upper() == "ERIKSSON"
    with office_instance.app_context():
        link = db.session.execute(select(FederatedLodging).where(FederatedLodging.origin_lodging_id == jimbaran.id)).scalar_one()
        assert link.origin_office == "Kanim Ngurah Rai"
        # No outbox event on the receiver: mirrored stays are not forwarded onward.
        assert db.session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
        db.session.remove()


def test_corrections_check_outs_and_voids_follow_and_repeats_change_nothing(app, sender, operator_client, two_lodgings, office_instance):
    jimbaran, _ = two_lodgings
    kept = report_guest(operator_client, jimbaran)
    operator_client.post(f"/stays/{kept}/correct", data=guest_form(room="9") | {"reason": "room"})
    operator_client.post(f"/stays/{kept}/check-out", data={"checked_out_at": local_now()})
    voided = report_guest(operator_client, jimbaran, document_number="X7777777", surname="Mistake")
    operator_client.post(f"/stays/{voided}/void", data={"reason": "wrong guest"})
    with sender.app_context():
        deliver_everything()
    assert {status for status, _ in deliveries()} == {"delivered"}
    found = mirrored(office_instance)
    stay, link, _, _ = found[kept]
    assert (stay.status, stay.room, link.origin_version, stay.version) == ("checked_out", "9", 3, 3)
    assert stay.checked_out_at is not None
    assert found[voided][0].status == "voided" and found[voided][0].void_reason == "wrong guest"
    # The same event twice: 200 "unchanged", nothing written.
    again = post_event(office_instance, outbox_bodies(sender, kept)[-1])
    assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
    assert mirrored(office_instance)[kept][0].version == 3


def test_an_older_version_arriving_late_never_overwrites_a_newer_one(app, sender, operator_client, two_lodgings, office_instance):
    jimbaran, _ = two_lodgings
    stay_id = report_guest(operator_client, jimbaran)
    operator_client.post(f"/stays/{stay_id}/correct", data=guest_form(room="9") | {"reason": "room"})
    operator_client.post(f"/stays/{stay_id}/correct", data=guest_form(room="12") | {"reason": "moved"})
    reported, room_9, room_12 = outbox_bodies(sender, stay_id)
    assert post_event(office_instance, room_12).status_code == 201  # the newest first: the stay is made from it
    assert post_event(office_instance, room_9).json()["outcome"] == "unchanged"
    assert post_event(office_instance, reported).json()["outcome"] == "unchanged"
    stay, link, _, _ = mirrored(office_instance)[stay_id]
    assert (stay.room, link.origin_version) == ("12", 3)


def test_a_check_out_before_its_report_creates_the_stay_checked_out(app, sender, operator_client, two_lodgings, office_instance):
    jimbaran, _ = two_lodgings
    stay_id = report_guest(operator_client, jimbaran)
    operator_client.post(f"/stays/{stay_id}/check-out", data={"checked_out_at": local_now()})
    reported, checked_out = outbox_bodies(sender, stay_id)
    answer = post_event(office_instance, checked_out)
    assert answer.status_code == 201 and answer.json()["status"] == "checked_out"
    assert post_event(office_instance, reported).json()["outcome"] == "unchanged"
    assert mirrored(office_instance)[stay_id][0].status == "checked_out"


def test_unknown_region_codes_are_refused_naming_the_fields_and_an_uncovered_district_is_accepted_unrouted(
        app, sender, operator, operator_client, offices, office_instance):
    singaraja = make_lodging(operator, BULELENG_SUKASADA, name="Villa Lovina")
    singaraja.status = "verified"
    db.session.commit()
    stay_id = report_guest(operator_client, singaraja)
    (body,) = outbox_bodies(sender, stay_id)
    bad = dict(body, lodging=dict(body["lodging"], district_code="51.03.99", village_code="99.99.99.9999"))
    refused = post_event(office_instance, bad)
    assert refused.status_code == 422 and refused.headers["Content-Type"] == "application/problem+json"
    assert {error["pointer"] for error in refused.json()["errors"]} == {"/lodging/district_code", "/lodging/village_code"}
    broken = dict(body, event="arrived", stay=dict(body["stay"], version="2", guest={"surname": 7}))
    pointers = {error["pointer"] for error in post_event(office_instance, broken).json()["errors"]}
    assert {"/event", "/stay/version", "/stay/guest/surname"} <= pointers
    accepted = post_event(office_instance, body)
    assert accepted.status_code == 201 and accepted.json()["office_id"] is None
    with office_instance.app_context():
        admin = office_instance.test_client()
        login(admin, "admin.kanim@example.com")
        assert "Villa Lovina" in admin.get("/admin/lodgings/no-office").get_data(as_text=True)
        db.session.remove()


def test_a_revoked_peer_is_refused_and_a_rotated_token_replaces_the_old_one(app, sender, operator_client, two_lodgings, office_instance):
    jimbaran, _ = two_lodgings
    stay_id = report_guest(operator_client, jimbaran)
    (body,) = outbox_bodies(sender, stay_id)
    with office_instance.app_context():
        peer = db.session.get(FederationPeer, office_instance.peer_id)
        revoke(peer, None)
        db.session.remove()
    with sender.app_context():
        deliver_everything()
    assert deliveries() == {("failed", 401)}
    answer = post_event(office_instance, body)
    assert answer.status_code == 401 and answer.json()["type"].endswith(":unauthorized")
    with office_instance.app_context():
        new_token = rotate_token(db.session.get(FederationPeer, office_instance.peer_id), None)
        db.session.remove()
    assert post_event(office_instance, body).status_code == 401  # the old token stays refused
    assert post_event(office_instance, body, token=new_token).status_code == 201
    assert requests.post(f"{office_instance.base_url}/api/v1/federation/events", json=body, timeout=10).status_code == 401


def test_an_officer_of_the_receiver_sees_mirrored_stays_only_in_the_office_area(app, sender, operator_client, two_lodgings, office_instance):
    jimbaran, sanur = two_lodgings
    in_kuta = report_guest(operator_client, jimbaran)
    in_sanur = report_guest(operator_client, sanur, document_number="X7777777", surname="Other")
    with sender.app_context():
        deliver_everything()
    found = mirrored(office_instance)
    kuta_stay, sanur_stay = found[in_kuta][0], found[in_sanur][0]
    officer = office_instance.test_client()
    login(officer, "officer.kuta@example.com")
    page = officer.get(f"/officer/stays/{kuta_stay.id}")
    assert page.status_code == 200 and "SERASI Hotel Chain" in page.get_data(as_text=True)
    assert found[in_kuta][1].origin_receipt_number in page.get_data(as_text=True)
    assert officer.get(f"/officer/stays/{sanur_stay.id}").status_code == 404
    listing = officer.get("/officer/stays").get_data(as_text=True)
    assert f"/officer/stays/{kuta_stay.id}\"" in listing and f"/officer/stays/{sanur_stay.id}\"" not in listing
    lodging_page = officer.get(f"/officer/lodgings/{kuta_stay.lodging_id}").get_data(as_text=True)
    assert 'id="lodging-origin"' in lodging_page and "Kanim Ngurah Rai" in lodging_page
    assert f"/officer/lodgings/{kuta_stay.lodging_id}/suspend" not in lodging_page
    # Read only here: the receiver's office cannot suspend another instance's lodging.
    assert officer.post(f"/officer/lodgings/{kuta_stay.lodging_id}/suspend", data={"reason": "inspection"}).status_code == 409
    with office_instance.app_context():
        assert db.session.get(Lodging, kuta_stay.lodging_id).status == "verified"
        db.session.remove()


def test_a_backfill_interrupted_halfway_and_resumed_sends_every_report_once(
        app, another_app, operator_client, two_lodgings, office_instance):
    jimbaran, sanur = two_lodgings
    stays = [report_guest(operator_client, jimbaran if number % 2 else sanur, document_number=f"X{number:07d}", surname="Guest" + "ABCDE"[number])
             for number in range(5)]
    operator_client.post(f"/stays/{stays[0]}/check-out", data={"checked_out_at": local_now()})
    # Reported before federation was switched on: their events went elsewhere and were purged.
    db.session.execute(delete(OutboxEvent))
    db.session.commit()
    sender = another_app(FEDERATION_URL=office_instance.base_url, FEDERATION_TOKEN=office_instance.token)
    with sender.app_context():
        run = backfill.start(date.today() - timedelta(days=1), None)
        run_id = run.id
        assert run.total == 5
        assert backfill.step(run_id, limit=2) == 2  # then the worker stops
        deliver_everything()
    assert len(mirrored(office_instance)) == 2
    restarted = another_app(FEDERATION_URL=office_instance.base_url, FEDERATION_TOKEN=office_instance.token)
    with restarted.app_context():
        assert backfill.run_running() == 3
        assert backfill.run_running() == 0
        deliver_everything()
        run = db.session.get(FederationBackfill, run_id)
        assert (run.status, run.enqueued, run.cursor_stay_id) == (BackfillStatus.DONE, 5, max(stays))
        assert backfill.progress(run) == {"total": 5, "enqueued": 5, "delivered": 5, "pending": 0, "refused": 0}
    events = db.session.execute(select(OutboxEvent.stay_id)).scalars().all()
    assert sorted(events) == sorted(stays)  # one event per stay: nothing doubled
    found = mirrored(office_instance)
    assert set(found) == set(stays) and found[stays[0]][0].status == "checked_out"
    # A second backfill over the same days: the receiver keeps what it has.
    with restarted.app_context():
        again = backfill.start(date.today() - timedelta(days=1), None)
        backfill.run(again.id)
        deliver_everything()
    assert deliveries() == {("delivered", 201), ("delivered", 200)}
    with office_instance.app_context():
        assert db.session.scalar(select(func.count()).select_from(FederatedStay)) == 5
        assert db.session.scalar(select(func.count()).select_from(Stay)) == 5
        db.session.remove()


def test_reports_before_the_backfill_date_and_drafts_are_not_sent(app, another_app, operator_client, two_lodgings, office_instance):
    jimbaran, _ = two_lodgings
    sent = report_guest(operator_client, jimbaran)
    operator_client.post(f"/lodgings/{jimbaran.id}/stays/new", data=guest_form(document_number="D1234567", action="draft"))
    db.session.execute(delete(OutboxEvent))
    db.session.commit()
    sender = another_app(FEDERATION_URL=office_instance.base_url, FEDERATION_TOKEN=office_instance.token)
    with sender.app_context():
        assert backfill.start(date.today() + timedelta(days=1), None).total == 0
        run = backfill.start(date.today() - timedelta(days=1), None)
        assert run.total == 1 and backfill.run(run.id) == 1
    assert db.session.execute(select(OutboxEvent.stay_id)).scalars().all() == [sent]


# ---- admin pages ---------------------------------------------------------------------------------

def test_admin_creates_rotates_and_revokes_a_peer_with_the_token_shown_once(app, admin_client, operator_client):
    page = admin_client.post("/admin/federation/peers", data={"name": "SERASI Kanim Ngurah Rai", "office_name": "Kanim Ngurah Rai"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    token = re.search(r'id="new-token">(srf_[^<]+)<', text).group(1)
    peer = db.session.execute(select(FederationPeer)).scalar_one()
    assert peer.token_hash != token and token not in admin_client.get("/admin/federation/").get_data(as_text=True)
    assert "Salin token" in text  # Indonesian by default
    rotated = admin_client.post(f"/admin/federation/peers/{peer.id}/rotate").get_data(as_text=True)
    new_token = re.search(r'id="new-token">(srf_[^<]+)<', rotated).group(1)
    assert new_token != token
    assert admin_client.post(f"/admin/federation/peers/{peer.id}/revoke").status_code == 303
    db.session.expire_all()
    assert db.session.get(FederationPeer, peer.id).revoked_at is not None
    actions = set(db.session.execute(select(AuditEvent.action).where(AuditEvent.object_type == "FederationPeer")).scalars())
    assert actions == {"federation.peer_created", "federation.peer_token_rotated", "federation.peer_revoked"}
    # An operator reaches none of it.
    assert operator_client.get("/admin/federation/").status_code in (403, 404)
    assert operator_client.post(f"/admin/federation/peers/{peer.id}/rotate").status_code in (403, 404)


def test_the_peer_form_comes_back_with_the_message_at_the_field(app, admin_client):
    page = admin_client.post("/admin/federation/peers", data={"name": "x" * 200, "office_name": ""})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'value="' + "x" * 200 in text and 'id="new-token"' not in text
    assert "Gunakan maksimal 120 karakter." in text and "Sebutkan kantor yang menjalankan instans pengirim." in text
    assert db.session.scalar(select(func.count()).select_from(FederationPeer)) == 0


def field_error(page: str, field: str) -> str:
    """The message shown at a field of a form page ('' when none)."""
    found = re.search(rf'id="{field}-error">([^<]*)<', page)
    return found.group(1) if found else ""


def test_a_name_another_peer_has_is_refused_on_create_and_on_rename_keeping_what_was_typed(app, admin_client, operator_client):
    assert admin_client.post("/admin/federation/peers", data={"name": "SERASI Kanim Ngurah Rai", "office_name": "Kanim Ngurah Rai"}).status_code == 200
    # The same name, other case and spaces around: refused at the name, the values typed kept, no token.
    page = admin_client.post("/admin/federation/peers", data={"name": "  serasi kanim NGURAH rai ", "office_name": "Kanim Lain"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="new-token"' not in text
    assert field_error(text, "name") == "Sudah ada instans lain bernama SERASI Kanim Ngurah Rai: beri instans ini nama yang berbeda."
    assert 'value="serasi kanim NGURAH rai"' in text and 'value="Kanim Lain"' in text
    assert db.session.scalar(select(func.count()).select_from(FederationPeer)) == 1
    english = admin_client.post("/admin/federation/peers", data={"name": "SERASI KANIM NGURAH RAI", "office_name": "X"},
                                headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert field_error(english, "name") == "Another instance is already called SERASI Kanim Ngurah Rai: give this one a name of its own."

    admin_client.post("/admin/federation/peers", data={"name": "SERASI Denpasar", "office_name": "Kanim Denpasar"})
    first, second = db.session.scalars(select(FederationPeer).order_by(FederationPeer.id)).all()
    assert "Ganti nama" in admin_client.get("/admin/federation/").get_data(as_text=True)
    form = admin_client.get(f"/admin/federation/peers/{second.id}/edit").get_data(as_text=True)
    assert 'value="SERASI Denpasar"' in form and 'value="Kanim Denpasar"' in form
    # Renamed to the first one's name: refused the same way, nothing changed.
    page = admin_client.post(f"/admin/federation/peers/{second.id}/edit", data={"name": " Serasi Kanim Ngurah Rai", "office_name": "Kanim Sanur"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert field_error(text, "name") == "Sudah ada instans lain bernama SERASI Kanim Ngurah Rai: beri instans ini nama yang berbeda."
    assert 'value="Serasi Kanim Ngurah Rai"' in text and 'value="Kanim Sanur"' in text
    too_long = admin_client.post(f"/admin/federation/peers/{second.id}/edit", data={"name": "x" * 200, "office_name": ""}).get_data(as_text=True)
    assert field_error(too_long, "name") == "Gunakan maksimal 120 karakter."
    db.session.expire_all()
    assert (second.name, second.office_name) == ("SERASI Denpasar", "Kanim Denpasar")

    # A name of its own is saved; a peer may keep its own name in another case.
    answer = admin_client.post(f"/admin/federation/peers/{second.id}/edit", data={"name": "SERASI Kanim Denpasar", "office_name": "Kanim Sanur"})
    assert answer.status_code == 303 and answer.location.endswith("/admin/federation/")
    assert admin_client.post(f"/admin/federation/peers/{first.id}/edit",
                             data={"name": "SERASI KANIM NGURAH RAI", "office_name": "Kanim Ngurah Rai"}).status_code == 303
    db.session.expire_all()
    assert [(peer.name, peer.office_name) for peer in (first, second)] == [
        ("SERASI KANIM NGURAH RAI", "Kanim Ngurah Rai"), ("SERASI Kanim Denpasar", "Kanim Sanur")]
    assert db.session.get(User, second.account_id).full_name == "SERASI Kanim Denpasar"  # the mirrored lodgings' owner
    renamed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "federation.peer_renamed").order_by(AuditEvent.id)).all()
    assert [(event.object_id, event.changes["name"]) for event in renamed] == [
        (second.id, ["SERASI Denpasar", "SERASI Kanim Denpasar"]), (first.id, ["SERASI Kanim Ngurah Rai", "SERASI KANIM NGURAH RAI"])]
    assert admin_client.get("/admin/federation/peers/9999/edit").status_code == 404
    assert operator_client.get(f"/admin/federation/peers/{first.id}/edit").status_code in (403, 404)
    assert operator_client.post(f"/admin/federation/peers/{first.id}/edit", data={"name": "Mine", "office_name": "X"}).status_code in (403, 404)
    db.session.expire_all()
    assert first.name == "SERASI KANIM NGURAH RAI"


def test_admin_starts_a_backfill_and_sees_its_progress(app, another_app, admin, operator_client, two_lodgings, office_instance):
    jimbaran, _ = two_lodgings
    report_guest(operator_client, jimbaran)
    sender = another_app(FEDERATION_URL=office_instance.base_url, FEDERATION_TOKEN=office_instance.token, HUEY_IMMEDIATE=True)
    client = sender.test_client()
    login(client, admin.email)
    bad = client.post("/admin/federation/backfills", data={"since": "yesterday"})
    assert bad.status_code == 200 and 'value="yesterday"' in bad.get_data(as_text=True)
    answer = client.post("/admin/federation/backfills", data={"since": (date.today() - timedelta(days=1)).isoformat()})
    assert answer.status_code == 303
    with sender.app_context():
        deliver_everything()
    page = client.get("/admin/federation/").get_data(as_text=True)
    row = re.search(r'<tr id="backfill-\d+">(.*?)</tr>', page, re.DOTALL).group(1)
    assert "1 / 1" in row and "<td>1</td>" in row
    # Without a peer token this instance sends nowhere: the page says so, and nothing starts.
    plain = app.test_client()
    login(plain, admin.email)
    refused = plain.post("/admin/federation/backfills", data={"since": date.today().isoformat()}, follow_redirects=True)
    assert refused.status_code == 200 and "flash-error" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(FederationBackfill)) == 1


# ---- bad input on the receiving API --------------------------------------------------------------

def event_body(lodging_id: int = 7, stay_id: int = 70, version: int = 1) -> dict:
    """A valid event as a sending instance posts it (a lodging in Kuta Selatan)."""
    from .test_api import stay_body

    return {"event": "reported", "idempotency_key": f"stay-{stay_id}-v{version}-reported",
            "lodging": {"id": lodging_id, "name": "Villa Jimbaran", "type": "villa", "street_address": "Jl. Uluwatu 12",
                        **KUTA_SELATAN_JIMBARAN, "nib": "9120001234567", "office": "Kanim Ngurah Rai"},
            "stay": {"id": stay_id, "version": version, "status": "reported", "receipt_number": "STT-2345-6789-ABCD",
                     "reported_at": "2026-12-01T03:00:00Z", "late": False, "checked_out_at": None, "void_reason": None,
                     **stay_body(document__number=f"HF{stay_id:07d}")}}


def test_the_receiving_api_answers_hostile_json_with_problem_details_naming_each_field_and_writes_nothing(
        app, another_app, admin, offices):
    from .test_bad_input import API_VALUES, RAW_BODIES

    _, token = create_peer("SERASI Hotel Chain", "Kanim Chain Office", admin)
    client = another_app(API_RATE_LIMIT="1000000 per minute").test_client()
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}

    def counts():
        return tuple(db.session.scalar(select(func.count()).select_from(model)) for model in (Lodging, Stay, FederatedStay, AuditEvent))

    def send(body=None, raw=None):
        return client.post("/api/v1/federation/events", data=raw if raw is not None else json.dumps(body), content_type="application/json",
                           headers=headers)

    before, problems = counts(), []
    leaves = [("lodging", name) for name in event_body()["lodging"]] + [("stay", name) for name in event_body()["stay"]
                                                                        if not isinstance(event_body()["stay"][name], dict)]
    leaves += [("stay", f"{section}/{name}") for section in ("guest", "document", "permit", "stay") for name in event_body()["stay"][section]]
    for (part, path), (label, value) in ((leaf, item) for leaf in leaves for item in API_VALUES.items()):
        body = event_body()
        target = body[part]
        *parents, name = path.split("/")
        for parent in parents:
            target = target[parent]
        target[name] = value
        response = send(body)
        pointer = f"/{part}/{path}"
        if response.status_code >= 500 or response.status_code in (401, 429):
            problems.append(f"{pointer} = {label}: {response.status_code}")
        elif response.status_code >= 400:
            named = [error["pointer"] for error in response.get_json().get("errors", [])]
            if response.mimetype != "application/problem+json" or (response.status_code == 422 and pointer not in named):
                problems.append(f"{pointer} = {label}: {response.status_code} naming {named[:4]}")
            elif counts() != before:
                problems.append(f"{pointer} = {label}: refused, yet wrote")
        else:  # accepted (an optional field left empty): undo, so the next probe starts from nothing
            db.session.execute(delete(FederatedStay))
            db.session.execute(delete(Stay).where(Stay.source == "federation"))
            db.session.execute(delete(FederatedLodging))
            db.session.execute(delete(Lodging).where(Lodging.federation_peer_id.is_not(None)))
            db.session.commit()
            before = counts()
    for label, raw in RAW_BODIES.items():
        response = send(raw=raw)
        if response.status_code >= 500 or response.status_code < 400 or response.mimetype != "application/problem+json":
            problems.append(f"raw body {label}: {response.status_code} {response.mimetype}")
    assert not problems, "\n".join(problems)
    assert counts() == before
    assert send(event_body()).status_code == 201  # the valid body, for contrast


def test_mirrored_lodgings_are_nobodys_on_the_receiver(app, sender, operator_client, two_lodgings, office_instance):
    jimbaran, _ = two_lodgings
    report_guest(operator_client, jimbaran)
    with sender.app_context():
        deliver_everything()
    with office_instance.app_context():
        lodging = db.session.execute(select(Lodging).where(Lodging.federation_peer_id.is_not(None))).scalar_one()
        lodging_id, owner_email, owner_enabled = lodging.id, lodging.owner.email, lodging.owner.enabled
        make_user("operator.there@example.com")
        db.session.remove()
    assert owner_enabled is False and owner_email.endswith("@federation.invalid")
    operator = office_instance.test_client()
    login(operator, "operator.there@example.com")
    for path in (f"/lodgings/{lodging_id}", f"/lodgings/{lodging_id}/edit", f"/lodgings/{lodging_id}/stays/new"):
        assert operator.get(path).status_code == 404, path
