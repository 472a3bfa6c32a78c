"""Warnings from the document (#16.5): a passport or stay permit that ends before the planned
check-out, or a permit already ended, is shown at its field; the report still goes through (the
guest is here), while a document expired at check-in is still refused."""
from datetime import date, timedelta

import pytest

from .helpers import guest_form, make_lodging, report_guest

EN = {"Accept-Language": "en"}


@pytest.fixture
def lodging(app, operator, offices):
    return make_lodging(operator)


def soon(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def test_a_passport_ending_before_the_planned_check_out_is_a_warning_at_its_field(operator_client, lodging):
    data = guest_form(document_expiry=soon(5), planned_check_out=soon(20), surname="", action="draft")
    page = operator_client.post(f"/lodgings/{lodging.id}/stays/new", data=data, headers=EN).get_data(as_text=True)
    assert 'id="document_expiry-warning"' in page and "before the planned check-out: the guest needs a new one" in page
    assert 'aria-describedby="document_expiry-warning"' in page or "document_expiry-warning\"" in page
    assert "Enter the surname" in page or 'id="surname-error"' in page  # the real error is still an error


def test_the_report_with_a_warning_is_accepted_and_the_saved_draft_still_warns(operator_client, lodging):
    stay_id = report_guest(operator_client, lodging, document_expiry=soon(5), planned_check_out=soon(20), action="draft")
    page = operator_client.get(f"/stays/{stay_id}/edit", headers=EN).get_data(as_text=True)
    assert 'id="document_expiry-warning"' in page
    submitted = report_guest(operator_client, lodging, document_number="X12345678", document_expiry=soon(5), planned_check_out=soon(20))
    assert submitted


def test_a_stay_permit_ending_before_the_check_out_or_already_ended_is_a_warning(operator_client, lodging):
    data = guest_form(stay_permit="itk", permit_valid_until=soon(3), planned_check_out=soon(10), surname="", action="draft")
    page = operator_client.post(f"/lodgings/{lodging.id}/stays/new", data=data, headers=EN).get_data(as_text=True)
    assert 'id="permit_valid_until-warning"' in page and "must extend it or leave by then" in page
    data = guest_form(stay_permit="itk", permit_valid_until=soon(-1), surname="", action="draft")
    page = operator_client.post(f"/lodgings/{lodging.id}/stays/new", data=data, headers=EN).get_data(as_text=True)
    assert "the guest may be overstaying" in page


def test_no_warning_when_the_dates_fit_and_the_expired_document_is_still_refused(operator_client, lodging):
    data = guest_form(document_expiry=soon(400), planned_check_out=soon(20), surname="", action="draft")
    page = operator_client.post(f"/lodgings/{lodging.id}/stays/new", data=data, headers=EN).get_data(as_text=True)
    assert "-warning" not in page
    data = guest_form(document_expiry=soon(-30), planned_check_out=soon(20))
    page = operator_client.post(f"/lodgings/{lodging.id}/stays/new", data=data, headers=EN).get_data(as_text=True)
    assert "expired at check-in" in page and 'id="document_expiry-warning"' not in page


def test_warnings_read_in_indonesian(operator_client, lodging):
    data = guest_form(document_expiry=soon(5), planned_check_out=soon(20), surname="", action="draft")
    page = operator_client.post(f"/lodgings/{lodging.id}/stays/new", data=data, headers={"Accept-Language": "id"}).get_data(as_text=True)
    assert 'id="document_expiry-warning"' in page and "before the planned check-out" not in page
