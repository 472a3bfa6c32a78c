"""Voiding an adult with linked minors asks what becomes of the minors (issue 15, item 11):
never a minor attached to a voided report without a word."""
import pytest
from sqlalchemy import select

from serasi_web.extensions import db
from serasi_web.stays.models import Stay

from .helpers import guest_form, local_now, make_lodging

EN = {"Accept-Language": "en"}


@pytest.fixture
def family(app, operator, offices, operator_client):
    """John and Jane Smith (adults) and Lily (8, with John), reported as a group."""
    lodging = make_lodging(operator)
    group_url = operator_client.post(f"/lodgings/{lodging.id}/groups/new", data={
        "check_in_at": local_now(delta_hours=-1), "room": "3", "purpose": "family"}).location
    guest = {k: v for k, v in guest_form().items() if k not in ("check_in_at", "planned_check_out", "room", "purpose", "notes", "action")}
    smith = guest | {"surname": "Smith", "nationality": "AUS", "issuing_state": "AUS"}

    def add(**values):
        assert operator_client.post(group_url + "/guests/new", data=smith | values).status_code == 303
        return db.session.execute(select(Stay).where(Stay.document_number == values["document_number"])).scalar_one()

    john = add(given_names="John", document_number="P100001")
    lily = add(given_names="Lily", date_of_birth="2018-05-05", document_number="P100003", accompanying_stay_id=john.id)
    jane = add(given_names="Jane", sex="F", document_number="P100002")
    assert operator_client.post(group_url + "/submit").status_code == 303
    return john, jane, lily


def test_voiding_an_adult_with_a_minor_asks_what_becomes_of_the_minor(operator_client, family):
    john, jane, lily = family
    page = operator_client.get(f"/stays/{john.id}/void", headers=EN).get_data(as_text=True)
    assert "Minors travelling with John Smith" in page and "Lily Smith" in page
    assert f'value="{jane.id}"' in page and f'value="{lily.id}"' not in page  # a minor cannot accompany
    response = operator_client.post(f"/stays/{john.id}/void", data={"reason": "Wrong guest"}, headers=EN)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Choose what happens to the minors" in page
    assert '<a href="#minors-0">' in page  # in the error summary
    db.session.expire_all()
    assert db.session.get(Stay, john.id).status == "reported"


def test_the_minor_can_move_to_another_adult(operator_client, family):
    john, jane, lily = family
    response = operator_client.post(f"/stays/{john.id}/void", data={"reason": "Wrong guest", "minors": "move", "new_adult_id": ""}, headers=EN)
    assert "Choose an adult from the list." in response.get_data(as_text=True)
    response = operator_client.post(f"/stays/{john.id}/void", data={"reason": "Wrong guest", "minors": "move", "new_adult_id": str(jane.id)})
    assert response.status_code == 303
    db.session.expire_all()
    lily = db.session.get(Stay, lily.id)
    assert db.session.get(Stay, john.id).status == "voided"
    assert lily.status == "reported" and lily.accompanying_stay_id == jane.id and lily.version == 3
    assert lily.versions[-1].action == "corrected" and "Wrong guest" in lily.versions[-1].reason
    page = operator_client.get(f"/stays/{lily.id}", headers=EN).get_data(as_text=True)
    assert "Jane Smith" in page


def test_the_minors_report_can_be_voided_with_the_adults(operator_client, family):
    john, jane, lily = family
    assert operator_client.post(f"/stays/{john.id}/void", data={"reason": "Never came", "minors": "void"}).status_code == 303
    db.session.expire_all()
    assert {s.id: s.status for s in db.session.execute(select(Stay)).scalars()} == {john.id: "voided", jane.id: "reported", lily.id: "voided"}
    assert db.session.get(Stay, lily.id).void_reason == "Never came"


def test_an_adult_without_minors_is_voided_as_before(operator_client, family):
    _john, jane, lily = family
    page = operator_client.get(f"/stays/{jane.id}/void", headers=EN).get_data(as_text=True)
    assert "Minors travelling" not in page
    assert operator_client.post(f"/stays/{jane.id}/void", data={"reason": "Duplicate"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Stay, jane.id).status == "voided" and db.session.get(Stay, lily.id).status == "reported"
