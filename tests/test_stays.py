"""Guest reports: the form, the 24-hour deadline, receipts, corrections, voiding, check-out, duplicates."""
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from serasi_web.audit.models import AuditEvent
from serasi_web.extensions import db
from serasi_web.stays.models import Stay, StayVersion
from serasi_web.stays.receipts import RECEIPT_ALPHABET, verification_token

from .helpers import (
    DENPASAR_SANUR,
    guest_form,
    local_now,
    make_lodging,
    report_guest,
    search,
)

EN = {"Accept-Language": "en"}


def stay_count():
    return db.session.scalar(select(func.count()).select_from(Stay))


def test_operator_reports_a_guest_and_gets_a_receipt(operator_client, lodging):
    stay = db.session.get(Stay, report_guest(operator_client, lodging))
    assert stay.status == "reported" and not stay.late and not stay.lodging_pending_at_report
    assert stay.deadline_at == stay.check_in_at + timedelta(hours=24)
    assert re.fullmatch(rf"STT(-[{RECEIPT_ALPHABET}]{{4}}){{3}}", stay.receipt_number)
    assert stay.document_number == "L898902C3"  # upper case, no spaces
    assert stay.given_names == "Anna María"  # accents kept
    assert stay.stay_permit == "itk"  # suggested from visa index C1
    assert [v.action for v in stay.versions] == ["submitted"]
    event = db.session.execute(select(AuditEvent).where(AuditEvent.object_id == stay.id)).scalar_one()
    assert event.action == "stay.submitted" and event.actor_id == stay.created_by_id
    page = operator_client.get(f"/stays/{stay.id}", headers=EN).get_data(as_text=True)
    assert stay.receipt_number in page and "WITA" in page


def test_report_for_a_pending_lodging_is_marked_for_the_office(operator_client, operator, offices):
    pending = make_lodging(operator)
    stay = db.session.get(Stay, report_guest(operator_client, pending))
    assert stay.lodging_pending_at_report


def test_visa_index_suggests_the_stay_permit_with_htmx(operator_client, lodging):
    response = operator_client.get("/stays/permit-field?visa_index=e33g&stay_permit=", headers={"HX-Request": "true"})
    page = response.get_data(as_text=True)
    assert 'selected value="itas"' in page or 'value="itas" selected' in page
    assert "<html" not in page and "HX-Request" in response.headers["Vary"]
    # A permit already chosen is never overwritten.
    page = operator_client.get("/stays/permit-field?visa_index=E33G&stay_permit=bvk", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'selected value="bvk"' in page or 'value="bvk" selected' in page


def test_draft_then_late_submission(operator_client, lodging):
    stay_id = report_guest(operator_client, lodging, action="draft", check_in_at=local_now(delta_hours=-30))
    stay = db.session.get(Stay, stay_id)
    assert stay.status == "draft" and stay.receipt_number is None
    page = operator_client.get("/dashboard", headers=EN).get_data(as_text=True)
    assert "Overdue drafts" in page and "Eriksson" in page
    assert operator_client.post(f"/stays/{stay_id}/submit").status_code == 303
    db.session.refresh(stay)
    assert stay.status == "reported" and stay.late and stay.reported_at > stay.deadline_at


def test_draft_shows_time_left_on_the_dashboard(operator_client, lodging):
    report_guest(operator_client, lodging, action="draft", check_in_at=local_now(delta_hours=-2))
    page = operator_client.get("/dashboard", headers=EN).get_data(as_text=True)
    assert "Drafts to submit" in page and re.search(r"Time left: 2[12] h", page)


@pytest.mark.parametrize("overrides, field, message", [
    ({"date_of_birth": "2026-02-30"}, "date_of_birth", "Not a valid date value"),
    ({"date_of_birth": "1990-01-01", "entry_date": "1989-01-01"}, "entry_date", "after the date of birth"),
    ({"entry_date": "2099-01-01"}, "entry_date", "cannot be after the check-in"),
    ({"document_expiry": "2020-01-01"}, "document_expiry", "expired at check-in"),
    ({"check_in_at": "2099-01-01T10:00"}, "check_in_at", "cannot be in the future"),
    ({"nationality": "ZZZ"}, "nationality", "Choose a country from the list"),
    ({"issuing_state": "<script>"}, "issuing_state", "Choose a country from the list"),
    ({"document_number": "AB#1234"}, "document_number", "no symbols"),
    ({"surname": "x" * 101}, "surname", "at most 100"),
    ({"surname": "R2D2"}, "surname", "letters only"),
    ({"sex": "Q"}, "sex", "Choose the sex"),
    ({"planned_check_out": "2000-01-01"}, "planned_check_out", "before the check-in"),
    ({"visa_index": "", "stay_permit": ""}, "stay_permit", "Choose the stay permit"),
    ({"check_in_at": "yesterday"}, "check_in_at", "Not a valid datetime value"),
    ({"check_in_at": "0001-01-01T00:00"}, "check_in_at", "between 2000 and 2100"),  # would overflow in UTC
    ({"accompanying_stay_id": "99999999999999999999"}, "accompanying_stay_id", "Choose an adult from the list"),
    ({"accompanying_stay_id": "²"}, "accompanying_stay_id", "Choose an adult from the list"),
])
def test_bad_input_gets_a_message_at_the_field_and_keeps_the_values(operator_client, lodging, overrides, field, message):
    response = operator_client.post(f"/lodgings/{lodging.id}/stays/new", data=guest_form(given_names="Zoë", **overrides), headers=EN)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    block = page[page.index(f'id="{field}-field"'):]
    assert message in block[:block.index("</div>")]
    assert 'value="Zoë"' in page
    assert stay_count() == 0


def test_odd_ids_nul_characters_and_tampered_tokens_never_give_a_500(operator_client, lodging):
    """Ids that are not ASCII digits or pass the database's range, a NUL typed or pasted into a
    text (PostgreSQL refuses it in text), a form token that is not ours."""
    for path in ("/dashboard?lodging=²", "/dashboard?lodging=99999999999999999999", "/stays/99999999999999999999",
                 "/stays/99999999999999999999/receipt"):
        assert operator_client.get(path).status_code == 404, path
    stay_id = report_guest(operator_client, lodging, notes="late\x00 arrival", form_token="x" * 60)
    stay = db.session.get(Stay, stay_id)
    assert stay.notes == "late arrival" and stay.form_token is None
    assert search(operator_client, "/stays", "q=eriks%00son", headers=EN).status_code == 200
    assert operator_client.get("/stays/permit-field?visa_index=C1%00").status_code == 200
    page = operator_client.post(f"/lodgings/{lodging.id}/check-out", data={"checked_out_at": local_now(), "stay_ids": ["²", "9" * 30]},
                                headers=EN).get_data(as_text=True)
    assert "Choose at least one guest." in page
    page = operator_client.post(f"/stays/{stay_id}/check-out", data={"checked_out_at": "0001-01-01T00:00"}, headers=EN).get_data(as_text=True)
    assert "between 2000 and 2100" in page and db.session.get(Stay, stay_id).status == "reported"


def test_a_second_submit_of_the_same_form_makes_no_duplicate(operator_client, lodging):
    data = guest_form(form_token="same-form-token-1234567890")
    first = operator_client.post(f"/lodgings/{lodging.id}/stays/new", data=data)
    second = operator_client.post(f"/lodgings/{lodging.id}/stays/new", data=data)
    assert first.status_code == second.status_code == 303 and first.location == second.location
    assert stay_count() == 1


def test_same_document_open_at_the_same_lodging_is_refused_with_a_link(operator_client, operator, lodging):
    first = report_guest(operator_client, lodging)
    response = operator_client.post(f"/lodgings/{lodging.id}/stays/new", data=guest_form(document_number="L898902C3"), headers=EN)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "already has an open stay" in page and f'href="/stays/{first}"' in page
    other = make_lodging(operator, DENPASAR_SANUR, name="Villa Sanur")
    assert report_guest(operator_client, other) != first  # another lodging: allowed
    operator_client.post(f"/stays/{first}/check-out", data={"checked_out_at": local_now()})
    assert report_guest(operator_client, lodging)  # after check-out: allowed again


def test_correction_makes_a_new_version_with_a_reason(operator_client, lodging, officer_client):
    stay_id = report_guest(operator_client, lodging)
    form = guest_form(room="12", surname="Eriksson-Berg")
    form.pop("action")
    response = operator_client.post(f"/stays/{stay_id}/correct", data=form, headers=EN)
    assert "Give a reason for the correction" in response.get_data(as_text=True)
    response = operator_client.post(f"/stays/{stay_id}/correct", data=form | {"reason": "Wrong room and surname"})
    assert response.status_code == 303
    stay = db.session.get(Stay, stay_id)
    assert stay.version == 2 and stay.room == "12" and stay.surname == "Eriksson-Berg"
    latest = stay.versions[-1]
    assert latest.action == "corrected" and latest.reason == "Wrong room and surname"
    assert latest.changes["room"] == ["7", "12"]
    page = operator_client.get(f"/stays/{stay_id}", headers=EN).get_data(as_text=True)
    assert "Version 2" in page and "Wrong room and surname" in page
    office_page = officer_client.get(f"/officer/stays/{stay_id}", headers=EN).get_data(as_text=True)
    assert "Version 2" in office_page and "Wrong room and surname" in office_page


def test_voiding_needs_a_reason_and_keeps_the_record(operator_client, lodging, client):
    stay_id = report_guest(operator_client, lodging)
    response = operator_client.post(f"/stays/{stay_id}/void", data={"reason": ""}, headers=EN)
    assert "Give a reason" in response.get_data(as_text=True)
    operator_client.post(f"/stays/{stay_id}/void", data={"reason": "Guest never arrived"})
    stay = db.session.get(Stay, stay_id)
    assert stay.status == "voided" and stay.void_reason == "Guest never arrived" and stay.receipt_number
    page = client.get(f"/verify/{verification_token(stay.receipt_number)}", headers=EN).get_data(as_text=True)
    assert "Voided" in page


def test_check_out_one_guest_and_late_check_out(operator_client, lodging):
    stay_id = report_guest(operator_client, lodging, check_in_at=local_now(delta_hours=-72))
    response = operator_client.post(f"/stays/{stay_id}/check-out", data={"checked_out_at": local_now(delta_hours=-100)}, headers=EN)
    assert "cannot be before the check-in" in response.get_data(as_text=True)
    operator_client.post(f"/stays/{stay_id}/check-out", data={"checked_out_at": local_now(delta_hours=-48)})
    stay = db.session.get(Stay, stay_id)
    assert stay.status == "checked_out" and stay.check_out_late  # reported a day after departure
    response = operator_client.post(f"/stays/{stay_id}/check-out", data={"checked_out_at": local_now()}, headers=EN)
    assert "is not in the house" in response.get_data(as_text=True)


def test_check_out_several_guests_at_once(operator_client, lodging):
    ids = [report_guest(operator_client, lodging, document_number=f"X{n}000001") for n in range(3)]
    draft = report_guest(operator_client, lodging, document_number="D0000001", action="draft")
    response = operator_client.post(f"/lodgings/{lodging.id}/check-out", data={"stay_ids": ids[:2], "checked_out_at": local_now()})
    assert response.status_code == 303
    statuses = {s.id: s.status for s in db.session.execute(select(Stay)).scalars()}
    assert statuses == {ids[0]: "checked_out", ids[1]: "checked_out", ids[2]: "reported", draft: "draft"}
    assert not db.session.get(Stay, ids[0]).check_out_late
    response = operator_client.post(f"/lodgings/{lodging.id}/check-out", data={"checked_out_at": local_now()}, headers=EN)
    assert "Choose at least one guest" in response.get_data(as_text=True)


def test_receipt_and_public_verification(operator_client, lodging, client):
    stay = db.session.get(Stay, report_guest(operator_client, lodging))
    page = operator_client.get(f"/stays/{stay.id}/receipt", headers=EN).get_data(as_text=True)
    assert stay.receipt_number in page and "<svg" in page and "Kanim Ngurah Rai" in page
    verify_url = re.search(r"(http://[^<\"]+/verify/[^<\"]+)", page).group(1)
    public = client.get(verify_url.replace("http://localhost", ""), headers=EN)
    text = public.get_data(as_text=True)
    assert public.status_code == 200 and "Valid receipt" in text and "Kos Melati" in text and "Sweden" in text
    assert "Eriksson" not in text and "L898902C3" not in text  # no name, no document number
    token = verification_token(stay.receipt_number)
    middle = len(token) // 2  # a full base64 character (the last one may carry unused bits)
    forged = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]
    tampered = client.get(f"/verify/{forged}", headers=EN)
    assert tampered.status_code == 404 and "Not valid" in tampered.get_data(as_text=True)
    assert client.get("/verify/" + "A" * 5000).status_code == 404


def test_receipt_reads_as_the_offices_document_and_prints_without_javascript(operator_client, lodging, offices):
    office = offices["ngurah_rai"]
    office.letterhead = "Kementerian Imigrasi dan Pemasyarakatan\nDirektorat Jenderal Imigrasi"
    office.address, office.phone = "Jl. Raya I Gusti Ngurah Rai, Tuban", "+62 361 9351038"
    db.session.commit()
    stay = db.session.get(Stay, report_guest(operator_client, lodging, room="12B"))
    page = operator_client.get(f"/stays/{stay.id}/receipt", headers=EN).get_data(as_text=True)
    letterhead = re.search(r'<header class="letterhead">(.*?)</header>', page, re.DOTALL).group(1)
    assert "Direktorat Jenderal Imigrasi" in letterhead and "Kanim Ngurah Rai" in letterhead
    assert "Jl. Raya I Gusti Ngurah Rai, Tuban" in letterhead and "+62 361 9351038" in letterhead
    assert "Received by Kanim Ngurah Rai." in page and "Received by SERASI" not in page
    main = re.search(r"<main[^>]*>(.*?)</main>", page, re.DOTALL).group(1)
    assert "<footer>" in page and "<svg" in main
    for shown in ("12B", stay.document_number, "Kos Melati", "Eriksson", "Stay permit", "Check-in"):
        assert shown in main, shown
    assert f'<span class="nowrap">{stay.receipt_number}</span>' in main  # one line, whatever the width
    # Without JavaScript: no dead button, a hint to the browser's own print instead.
    assert re.search(r'<button type="button" id="print-receipt" hidden>', page)
    assert "use your browser's Print" in page and 'id="print-hint"' in page
    indonesian = operator_client.get(f"/stays/{stay.id}/receipt", headers={"Accept-Language": "id"}).get_data(as_text=True)
    assert "Diterima oleh Kanim Ngurah Rai." in indonesian
    css = (Path(operator_client.application.static_folder) / "receipt.css").read_text()
    assert "break-all" not in css and "@media print" in css and ".nowrap { white-space: nowrap; }" in css


def test_family_of_three_reported_in_one_flow(operator_client, lodging):
    response = operator_client.post(f"/lodgings/{lodging.id}/groups/new", data={
        "name": "Smith family", "check_in_at": local_now(delta_hours=-1), "room": "3", "purpose": "family"})
    assert response.status_code == 303
    group_url = response.location
    add_url = group_url + "/guests/new"
    guest = {k: v for k, v in guest_form().items() if k not in ("check_in_at", "planned_check_out", "room", "purpose", "notes", "action")}
    operator_client.post(add_url, data=guest | {"surname": "Smith", "given_names": "John", "document_number": "P100001", "nationality": "AUS", "issuing_state": "AUS"})
    child = guest | {"surname": "Smith", "given_names": "Lily", "date_of_birth": "2018-05-05", "document_number": "P100003", "nationality": "AUS", "issuing_state": "AUS"}
    response = operator_client.post(add_url, data=child, headers=EN)
    assert "needs an accompanying adult" in response.get_data(as_text=True)
    adult = db.session.execute(select(Stay).where(Stay.document_number == "P100001")).scalar_one()
    operator_client.post(add_url, data=child | {"accompanying_stay_id": adult.id})
    operator_client.post(add_url, data=guest | {"surname": "Smith", "given_names": "Jane", "sex": "F", "document_number": "P100002", "nationality": "AUS", "issuing_state": "AUS"})
    page = operator_client.get(group_url, headers=EN).get_data(as_text=True)
    assert "Minor" in page and "with John Smith" in page
    assert operator_client.post(group_url + "/submit").status_code == 303
    family = db.session.execute(select(Stay).where(Stay.surname == "Smith")).scalars().all()
    assert len(family) == 3 and {s.status for s in family} == {"reported"}
    assert {s.room for s in family} == {"3"} and {s.purpose for s in family} == {"family"}
    lily = next(s for s in family if s.given_names == "Lily")
    assert lily.accompanying_stay_id == adult.id


def test_dashboard_search_and_pagination(operator_client, lodging, app):
    app.config["PAGE_SIZE"] = 2
    for n, surname in enumerate(["Müller", "Mueller", "Nguyen", "O'Brien", "Dupont"]):
        report_guest(operator_client, lodging, surname=surname, document_number=f"C{n}123456")
    page = search(operator_client, "/stays", "q=muller", headers=EN).get_data(as_text=True)
    assert "Müller" in page and "Nguyen" not in page
    page = search(operator_client, "/stays", "q=c2123", headers=EN).get_data(as_text=True)
    assert "Nguyen" in page and "Müller" not in page
    page = search(operator_client, "/stays", "q=%25_%25", headers=EN).get_data(as_text=True)
    assert "0 stays" in page  # LIKE wildcards are searched for literally
    first = search(operator_client, "/stays", "view=in_house", headers=EN).get_data(as_text=True)
    assert "5 stays" in first and "Page 1 of 3" in first
    fragment = operator_client.get("/stays?view=in_house&page=2", headers={"HX-Request": "true", **EN})
    assert fragment.get_data(as_text=True).startswith('<div id="results">') and "HX-Request" in fragment.headers["Vary"]
    assert search(operator_client, "/stays", "page=99&view=nonsense").status_code == 200
    for page in ("99999999999999999999", "-3", "x", "²"):  # never a 500 (a 20-digit page overflowed the offset)
        assert search(operator_client, "/stays", f"page={page}").status_code == 200


def test_planned_check_out_passed_shows_on_the_dashboard(operator_client, lodging):
    from datetime import date

    report_guest(operator_client, lodging, check_in_at=local_now(delta_hours=-80), planned_check_out=(date.today() - timedelta(days=2)).isoformat())
    page = operator_client.get(f"/dashboard?lodging={lodging.id}", headers=EN).get_data(as_text=True)
    assert "Planned check-out passed (1)" in page


def test_operator_cannot_reach_another_operators_stays(app, operator_client, other_operator, offices):
    theirs_lodging = make_lodging(other_operator, name="Their Villa")
    other_client = app.test_client()
    from .helpers import login

    login(other_client, other_operator.email)
    stay_id = report_guest(other_client, theirs_lodging)
    draft_id = report_guest(other_client, theirs_lodging, action="draft", document_number="Z9999999")
    group = other_client.post(f"/lodgings/{theirs_lodging.id}/groups/new", data={"check_in_at": local_now(delta_hours=-1), "purpose": "family"}).location
    for path in (f"/stays/{stay_id}", f"/stays/{draft_id}/edit", f"/stays/{stay_id}/correct", f"/stays/{stay_id}/void",
                 f"/stays/{stay_id}/check-out", f"/stays/{stay_id}/receipt", f"/lodgings/{theirs_lodging.id}/stays/new",
                 f"/lodgings/{theirs_lodging.id}/check-out", f"/lodgings/{theirs_lodging.id}/groups/new", group, group + "/guests/new",
                 f"/dashboard?lodging={theirs_lodging.id}", f"/stays?lodging={theirs_lodging.id}"):
        assert operator_client.get(path).status_code == 404, path
    for path in (f"/stays/{draft_id}/submit", f"/stays/{stay_id}/void", f"/stays/{stay_id}/check-out", group + "/submit",
                 f"/lodgings/{theirs_lodging.id}/check-out"):
        assert operator_client.post(path, data={"reason": "x", "checked_out_at": local_now(), "stay_ids": [stay_id]}).status_code == 404, path
    assert "Eriksson" not in search(operator_client, "/stays", "q=eriksson").get_data(as_text=True)
    assert db.session.get(Stay, stay_id).status == "reported"
    assert db.session.get(Stay, draft_id).status == "draft"


def test_every_change_is_audited(operator_client, lodging):
    stay_id = report_guest(operator_client, lodging)
    form = guest_form(room="9")
    operator_client.post(f"/stays/{stay_id}/correct", data=form | {"reason": "room"})
    operator_client.post(f"/stays/{stay_id}/check-out", data={"checked_out_at": local_now()})
    other = report_guest(operator_client, lodging, document_number="V1234567")
    operator_client.post(f"/stays/{other}/void", data={"reason": "mistake"})
    actions = db.session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars().all()
    assert actions == ["stay.submitted", "stay.corrected", "stay.checked_out", "stay.submitted", "stay.voided"]
    corrected = db.session.execute(select(AuditEvent).where(AuditEvent.action == "stay.corrected")).scalar_one()
    assert corrected.changes["changes"]["room"] == ["7", "9"] and corrected.changes["reason"] == "room"
    assert db.session.scalar(select(func.count()).select_from(StayVersion)) == 5
