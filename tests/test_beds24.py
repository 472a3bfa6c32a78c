"""The Beds24 pull adapter (plugins/beds24) against a local server that answers as Beds24's API V2
documentation describes (token from a refresh token, bookings page by page, info items), run
through the CLI: stays created with the mapped fields, a second pull unchanged, a changed booking
corrected, cancelled and Indonesian guests' bookings left out, a departure recorded as the
check-out, and every failure (credentials refused, a 500, not JSON, a redirect, a refused
address) one line for the operator."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from serasi_web.extensions import db
from serasi_web.stays import services
from serasi_web.stays.models import Stay

from .fake_pms import BEDS24_PROPERTY_ID as PROPERTY_ID
from .fake_pms import (
    REFRESH_TOKEN,
    TOKEN,
    Beds24,
    FakeApi,
    booking,
    identity,
    json_response,
    today,
)


def sync(app, lodging, *settings: str, property_id: str = PROPERTY_ID, refresh_token: str = REFRESH_TOKEN):
    return app.test_cli_runner().invoke(args=[
        "serasi", "sources", "sync", "beds24", "--lodging", str(lodging.id), "--setting", f"refresh_token={refresh_token}",
        "--setting", f"property_id={property_id}", *[part for setting in settings for part in ("--setting", setting)]])


def stay_of(external_id: str) -> Stay:
    db.session.expire_all()
    return db.session.execute(select(Stay).where(Stay.source == "beds24", Stay.external_id == external_id)).scalar_one()


def test_bookings_become_stays_once_and_changes_correct_them(app, lodging, beds24):
    beds24.bookings = [
        booking(501),
        booking(502, status="cancelled", lastName="Cancelled", infoItems=identity(SERASI_DOCUMENT_NUMBER="PC7777777")),
        booking(503, lastName="Santoso", infoItems=identity(SERASI_NATIONALITY="ID", SERASI_ISSUING_STATE="ID")),
        booking(504, lastName="Nopass", infoItems=[]),  # the guest answered no questions
        booking(505, arrival_days=-6, nights=4, lastName="Left", infoItems=identity(SERASI_DOCUMENT_NUMBER="PL5555555", SERASI_ENTRY_DATE=(today() - timedelta(days=7)).isoformat())),
        booking(506, arrival_days=3, lastName="Future"),  # not arrived: not asked for (arrivalTo)
        booking(507, lastName="Wrong", infoItems=identity(SERASI_NATIONALITY="ZZ", SERASI_DOCUMENT_NUMBER="PZ5070000")),
    ]
    result = sync(app, lodging, "room_map=88=Villa Kamboja, 89=Villa Melati")
    assert result.exit_code == 0, result.output
    assert "created: 2, draft: 1, invalid: 1" in result.output
    # The booking without the guest's identity: a draft of what Beds24 has, nothing invented, the
    # dates it has no place for left empty for the operator; a wrong value is refused at its field.
    nopass = stay_of("504")
    assert (nopass.status, nopass.surname.upper(), nopass.nationality, nopass.document_number) == ("draft", "NOPASS", "", "")
    assert (nopass.date_of_birth, nopass.document_expiry, nopass.entry_date) == (None, None, None)
    assert "507: nationality: " in result.output and "504" not in result.output

    stay = stay_of("501")
    assert (stay.surname.upper(), stay.given_names.upper(), stay.nationality, stay.sex) == ("HARPER", "OLIVIA", "AUS", "F")
    assert stay.document_number == "PA1234567" and stay.issuing_state == "AUS" and stay.room == "Villa Kamboja"
    assert stay.check_in_at == services.to_utc(datetime.combine(today() - timedelta(days=2), datetime.min.time().replace(hour=15, minute=30)), lodging)
    assert stay.planned_check_out == today() + timedelta(days=3) and stay.status == "reported"
    left = stay_of("505")
    assert left.status == "checked_out"
    assert left.checked_out_at == services.to_utc(datetime.combine(today() - timedelta(days=2), datetime.min.time().replace(hour=12)), lodging)
    assert db.session.execute(select(Stay).where(Stay.external_id.in_(["502", "503", "506"]))).first() is None

    # Paging as documented: two bookings a page, the next asked for while nextPageExists.
    pages = [r.args.get("page") for r in beds24.server.requests if r.path == "/v2/bookings"]
    assert pages == ["1", "2", "3"]
    assert all(r.headers.get("token") == TOKEN for r in beds24.server.requests if r.path == "/v2/bookings")

    again = sync(app, lodging, "room_map=88=Villa Kamboja")
    assert "draft: 1, invalid: 1, unchanged: 2" in again.output
    assert stay_of("504").version == 1  # the draft left alone

    beds24.bookings[0]["lastName"] = "Harper-Smith"
    changed = sync(app, lodging, "room_map=88=Villa Kamboja")
    assert "draft: 1, invalid: 1, unchanged: 1, updated: 1" in changed.output
    assert stay_of("501").surname.upper() == "HARPER-SMITH"

    beds24.bookings[0]["status"] = "cancelled"  # cancelled after the report: nobody stayed, the report is voided
    cancelled = sync(app, lodging, "room_map=88=Villa Kamboja")
    assert "draft: 1, invalid: 1, unchanged: 1, voided: 1" in cancelled.output
    assert stay_of("501").status == "voided" and stay_of("501").void_reason == "Pemesanan dibatalkan di Beds24 (API V2)."
    assert "draft: 1, invalid: 1, unchanged: 1\n" in sync(app, lodging, "room_map=88=Villa Kamboja").output  # voided once


def test_a_cancelled_booking_voids_its_report_whatever_its_status_and_a_reinstated_one_is_said(app, lodging, beds24):
    """Cancelled after the report (a no-show reported when its arrival hour came): void the
    in-house report, the checked-out one, the draft; one never reported stays unreported; a
    booking confirmed again after its report was voided is named on the run, not left silent."""
    from serasi_web.integrations.sources import pull_into
    from serasi_web.plugins import registry
    from serasi_web.stays.models import StayVersion

    beds24.bookings = [booking(701), booking(702, arrival_days=-6, nights=4, infoItems=identity(
                           SERASI_DOCUMENT_NUMBER="PL7020000", SERASI_ENTRY_DATE=(today() - timedelta(days=7)).isoformat())),
                       booking(703, infoItems=identity(SERASI_STAY_PERMIT="", SERASI_DOCUMENT_NUMBER="PD7030000")),
                       booking(704, status="cancelled")]
    source = registry().stay_source("beds24")
    counts = pull_into(lodging, source, {"refresh_token": REFRESH_TOKEN, "property_id": PROPERTY_ID})
    assert (counts.created, counts.drafts, counts.refused) == (2, 1, 0), counts.problems
    assert stay_of("703").status == "draft"
    assert (stay_of("701").status, stay_of("702").status) == ("reported", "checked_out")
    for entry in beds24.bookings:
        entry["status"] = "cancelled"
    counts = pull_into(lodging, source, {"refresh_token": REFRESH_TOKEN, "property_id": PROPERTY_ID})
    assert counts.voided == 3 and counts.refused == 0
    assert {stay_of(number).status for number in ("701", "702", "703")} == {"voided"}
    assert db.session.execute(select(Stay).where(Stay.external_id == "704")).first() is None
    last = db.session.execute(select(StayVersion).where(StayVersion.stay_id == stay_of("701").id)
                              .order_by(StayVersion.id.desc())).scalars().first()
    assert (last.action, last.changed_by_label) == ("voided", "source:beds24")

    beds24.bookings[0]["status"] = "confirmed"  # reinstated: the guest came after all
    counts = pull_into(lodging, source, {"refresh_token": REFRESH_TOKEN, "property_id": PROPERTY_ID})
    assert counts.refused == 1 and counts.problems[0][0] == "701" and "dibatalkan" in counts.problems[0][1][""]
    assert stay_of("701").status == "voided"  # not brought back behind the operator's back


def test_refused_credentials_are_one_line_without_the_secret(app, lodging, beds24):
    result = sync(app, lodging, refresh_token="wrong-token")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "Beds24 menolak kredensial" in result.output and "wrong-token" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not [r for r in beds24.server.requests if r.path == "/v2/bookings"]


def test_settings_are_checked_before_anything_is_sent(app, lodging, beds24):
    result = sync(app, lodging, property_id="Villa A")
    assert result.exit_code != 0 and beds24.server.requests == []


@pytest.mark.parametrize("failure", [
    Response("upstream down", status=500),
    Response("<html>maintenance</html>", status=200, content_type="text/html"),
    Response(json.dumps({"unexpected": True}), status=200, content_type="application/json"),
])
def test_a_system_down_or_answering_off_the_documentation_is_an_error(app, lodging, beds24, failure):
    beds24.fail_with = failure
    result = sync(app, lodging)
    assert result.exit_code != 0 and "Traceback" not in result.output and "Beds24" in result.output
    assert "maintenance" not in result.output and "upstream" not in result.output


def test_a_redirect_is_not_followed(app, lodging, beds24):
    elsewhere = FakeApi(lambda request: json_response({"token": TOKEN})).start()
    try:
        beds24.fail_with = Response(status=307, headers={"Location": elsewhere.url + "/v2/authentication/token"})
        result = sync(app, lodging)
        assert result.exit_code != 0 and "307" in result.output
        assert elsewhere.requests == []
    finally:
        elsewhere.stop()


def test_an_address_on_this_machine_is_refused_unless_listed(another_app, lodging, beds24):
    from .helpers import make_lodging  # noqa: F401  (the lodging exists in the shared database)

    unlisted = another_app(OUTBOUND_ALLOWED_HOSTS=[], BEDS24_API_URL=beds24.server.url + "/v2")
    with unlisted.app_context():
        result = unlisted.test_cli_runner().invoke(args=[
            "serasi", "sources", "sync", "beds24", "--lodging", str(lodging.id), "--setting", f"refresh_token={REFRESH_TOKEN}",
            "--setting", f"property_id={PROPERTY_ID}"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert beds24.server.requests == []


def test_the_source_is_listed_with_its_fields_and_secret_marked(app):
    from serasi_web.plugins import registry

    source = registry().stay_source("beds24")
    assert [(field.name, field.secret, field.required) for field in source.fields] == [
        ("refresh_token", True, True), ("property_id", False, True), ("room_map", False, False)]
    assert "document_number" in source.cannot_supply
    output = app.test_cli_runner().invoke(args=["serasi", "sources", "list"]).output
    assert "beds24" in output and "refresh_token, property_id, room_map?" in output


def test_an_answer_too_large_or_too_slow_is_an_error(app, lodging, beds24):
    import time as clock

    beds24.bookings = [booking(number) for number in range(700, 702)]
    app.config["SOURCE_MAX_RESPONSE_BYTES"] = 200  # the token fits; a page of bookings does not
    result = sync(app, lodging)
    assert result.exit_code != 0 and "lebih besar" in result.output and "Traceback" not in result.output

    app.config["SOURCE_MAX_RESPONSE_BYTES"] = None
    app.config["SOURCE_TIMEOUT_SECONDS"] = 0.3
    slow = FakeApi(lambda request: (clock.sleep(1.5), json_response({"token": TOKEN}))[1]).start()
    try:
        app.config["BEDS24_API_URL"] = slow.url + "/v2"
        result = sync(app, lodging)
        assert result.exit_code != 0 and "tidak dapat dihubungi" in result.output
    finally:
        slow.stop()


def test_a_certificate_nobody_vouches_for_is_refused(app, lodging, tmp_path):
    import shutil
    import subprocess

    from .helpers import skip_or_fail

    if not shutil.which("openssl"):
        skip_or_fail("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    handler = Beds24()
    server = make_server("127.0.0.1", 0, FakeApi(handler), threaded=True, ssl_context=(str(cert), str(key)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        app.config["BEDS24_API_URL"] = f"https://127.0.0.1:{server.server_port}/v2"
        result = sync(app, lodging)
        assert result.exit_code != 0 and "Sertifikat Beds24 tidak dapat diverifikasi" in result.output
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_ten_thousand_bookings_are_read_page_by_page_and_only_the_stays_made(app, lodging, beds24):
    """A large property: 10,000 current bookings over 100 documented pages of 100; the cancelled ones
    and the other property's give nothing, the rest one stay each, once."""
    beds24.PAGE_SIZE = 100
    beds24.bookings = [booking(10_000 + number, status="cancelled") for number in range(9_990)]
    beds24.bookings += [booking(20_000 + number, lastName="Harper" + "abcdefgh"[number], infoItems=identity(SERASI_DOCUMENT_NUMBER=f"PB{number:07d}"))
                        for number in range(8)]
    beds24.bookings += [booking(30_001, propertyId=999, infoItems=identity(SERASI_DOCUMENT_NUMBER="PO0000001")),  # another property
                        booking(30_002, roomId=77, lastName="Unmapped", infoItems=identity(SERASI_DOCUMENT_NUMBER="PU0000002"))]
    result = sync(app, lodging, "room_map=88=Villa Kamboja")
    assert result.exit_code == 0 and "created: 9" in result.output, result.output
    assert len([r for r in beds24.server.requests if r.path == "/v2/bookings"]) == 100
    assert stay_of("20000").room == "Villa Kamboja" and stay_of("30002").room == "77"  # a room not in the map: its Beds24 ID
    assert db.session.execute(select(Stay).where(Stay.external_id == "30001")).first() is None
    assert "unchanged: 9" in sync(app, lodging, "room_map=88=Villa Kamboja").output  # nothing reported twice


def test_more_bookings_than_a_pull_reads_stop_it_before_anything_is_applied(app, lodging, beds24):
    from plugins.beds24 import MAX_PAGES

    beds24.bookings = [booking(40_000 + number, infoItems=identity(SERASI_DOCUMENT_NUMBER=f"PM{number:07d}"))
                       for number in range(MAX_PAGES * beds24.PAGE_SIZE + 1)]
    result = sync(app, lodging)
    assert result.exit_code != 0 and "lebih dari 400 pemesanan" in result.output, result.output
    assert db.session.execute(select(Stay)).first() is None  # none applied: no guest left out unseen


def test_a_booking_whose_guest_changed_corrects_the_stay_and_keeps_the_first_version(app, lodging, beds24):
    from serasi_web.stays.models import StayVersion

    beds24.bookings = [booking(601)]
    assert "created: 1" in sync(app, lodging).output
    beds24.bookings = [booking(601, firstName="Noah", lastName="Becker",
                               infoItems=identity(SERASI_NATIONALITY="DE", SERASI_ISSUING_STATE="DE", SERASI_DOCUMENT_NUMBER="C01X00T47"))]
    assert "updated: 1" in sync(app, lodging).output  # one booking, one stay: corrected, not a second report
    stay = stay_of("601")
    assert (stay.surname, stay.document_number, stay.nationality) == ("Becker", "C01X00T47", "D")
    versions = db.session.execute(select(StayVersion).where(StayVersion.stay_id == stay.id)).scalars().all()
    assert any((version.snapshot or {}).get("document_number") == "PA1234567" for version in versions)  # nothing lost


def test_bookings_without_passports_are_each_a_draft_not_duplicates_of_one_another(app, lodging, beds24):
    """No document yet is no document to match: two guests Beds24 knows by name only wait as two
    drafts; the database still refuses a report without the dates (only a draft may lack them)."""
    from sqlalchemy.exc import IntegrityError

    beds24.bookings = [booking(611, lastName="First", infoItems=[]), booking(612, lastName="Second", infoItems=[])]
    assert "draft: 2" in sync(app, lodging).output
    assert "draft: 2" in sync(app, lodging).output
    assert db.session.execute(select(Stay)).scalars().all().__len__() == 2
    draft = stay_of("611")
    draft.status = "reported"
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
