"""An officer verifies or rejects the lodgings of their own office's area, and nothing else."""
from serasi_web.extensions import db

from .helpers import DENPASAR_SANUR, make_lodging

EN = {"Accept-Language": "en"}


def test_officer_sees_pending_lodgings_of_their_area_only(officer_client, operator, offices):
    make_lodging(operator, name="Kos Jimbaran")
    make_lodging(operator, DENPASAR_SANUR, name="Villa Sanur")
    page = officer_client.get("/officer/lodgings").get_data(as_text=True)
    assert "Kos Jimbaran" in page and "Villa Sanur" not in page


def test_officer_verifies_a_lodging_and_the_operator_sees_it(officer_client, operator_client, operator, officer, offices):
    lodging = make_lodging(operator)
    assert officer_client.post(f"/officer/lodgings/{lodging.id}/verify").status_code == 303
    db.session.refresh(lodging)
    assert lodging.status == "verified" and lodging.decided_by_id == officer.id
    assert "Verified" in operator_client.get(f"/lodgings/{lodging.id}", headers=EN).get_data(as_text=True)


def test_rejection_needs_a_reason_that_the_operator_reads(officer_client, operator_client, operator, offices):
    lodging = make_lodging(operator)
    response = officer_client.post(f"/officer/lodgings/{lodging.id}/reject", data={"reason": ""}, headers=EN)
    assert response.status_code == 200 and "Say why" in response.get_data(as_text=True)
    db.session.refresh(lodging)
    assert lodging.status == "pending"
    officer_client.post(f"/officer/lodgings/{lodging.id}/reject", data={"reason": "NIB does not match the name"})
    page = operator_client.get(f"/lodgings/{lodging.id}", headers=EN).get_data(as_text=True)
    assert "Rejected" in page and "NIB does not match the name" in page
    # Re-opened, it waits again.
    officer_client.post(f"/officer/lodgings/{lodging.id}/reopen")
    db.session.refresh(lodging)
    assert lodging.status == "pending"


def test_officer_cannot_reach_another_offices_lodging(officer_client, denpasar_officer, operator, offices):
    elsewhere = make_lodging(operator, DENPASAR_SANUR, name="Villa Sanur")
    assert officer_client.get(f"/officer/lodgings/{elsewhere.id}").status_code == 404
    for action in ("verify", "reject", "reopen"):
        assert officer_client.post(f"/officer/lodgings/{elsewhere.id}/{action}", data={"reason": "x"}).status_code == 404
    db.session.refresh(elsewhere)
    assert elsewhere.status == "pending"


def test_unknown_status_filter_falls_back_to_pending(officer_client, offices):
    assert officer_client.get("/officer/lodgings?status=<script>").status_code == 200
