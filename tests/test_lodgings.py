"""Registering and editing lodgings: validation, the region cascade with and without htmx, isolation."""
from sqlalchemy import func, select

from serasi_web.extensions import db
from serasi_web.lodgings.models import Lodging

from .helpers import KUTA_SELATAN_JIMBARAN, lodging_values, make_lodging

EN = {"Accept-Language": "en"}


def test_operator_registers_a_lodging_routed_to_its_office(operator_client, offices):
    response = operator_client.post("/lodgings/new", data=lodging_values())
    assert response.status_code == 303
    lodging = db.session.execute(select(Lodging)).scalar_one()
    assert lodging.status == "pending" and lodging.office_id == offices["ngurah_rai"].id
    page = operator_client.get(response.location, headers=EN).get_data(as_text=True)
    assert "Kanim Ngurah Rai" in page and "Waiting for verification" in page
    assert "Jimbaran" in page and "Kuta Selatan" in page


def test_private_residence_needs_no_nib_but_a_hotel_does(operator_client, offices):
    response = operator_client.post("/lodgings/new", data=lodging_values(lodging_type="hotel", nib=""), headers=EN)
    assert response.status_code == 200 and "must give its NIB" in response.get_data(as_text=True)
    response = operator_client.post("/lodgings/new", data=lodging_values(lodging_type="private_residence", nib=""))
    assert response.status_code == 303


def test_bad_input_comes_back_with_the_typed_values_and_a_message_at_the_field(operator_client, offices):
    bad = lodging_values(name="Kos Ümit & Śri", nib="12AB", postal_code="8036", room_count="many",
                         phone="call me", lodging_type="castle")
    response = operator_client.post("/lodgings/new", data=bad, headers=EN)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="Kos Ümit &amp; Śri"' in page
    for message in ("The NIB has 13 digits", "A postal code has 5 digits", "Not a valid integer value",
                    "Enter a phone number", "Choose a lodging type from the list"):
        assert message in page
    assert db.session.scalar(select(func.count()).select_from(Lodging)) == 0


def test_region_codes_that_do_not_fit_their_parent_are_refused(operator_client, offices):
    # A Denpasar district under the Badung regency: dropped, and the operator is asked to choose.
    response = operator_client.post("/lodgings/new", data=lodging_values(district_code="51.71.01", village_code="51.71.01.1006"), headers=EN)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Choose the district." in page
    # Nonsense codes and over-long values never give a 500.
    response = operator_client.post("/lodgings/new", data=lodging_values(province_code="99' OR 1=1", name="x" * 5000), headers=EN)
    assert response.status_code == 200 and "Choose the province." in response.get_data(as_text=True)


def test_address_selects_cascade_without_javascript(operator_client, offices):
    """JavaScript off: the 'show the choices' button posts the form back with the next level filled."""
    data = {"name": "Kos Melati", "province_code": "51", "regency_code": "51.03", "action": "refresh_regions"}
    page = operator_client.post("/lodgings/new", data=data, headers=EN).get_data(as_text=True)
    assert '<option value="51.03.05">Kuta Selatan</option>' in page
    assert 'value="Kos Melati"' in page and "This field is required" not in page
    data.update(district_code="51.03.05", village_code="51.03.05.1006")
    page = operator_client.post("/lodgings/new", data=data).get_data(as_text=True)
    assert 'name="postal_code" type="text" value="80362"' in page or 'value="80362"' in page
    assert db.session.scalar(select(func.count()).select_from(Lodging)) == 0


def test_address_selects_cascade_with_htmx(operator_client, offices):
    response = operator_client.get("/lodgings/address-fields?province_code=51&regency_code=51.03&district_code=",
                                   headers={"HX-Request": "true", "HX-Trigger-Name": "regency_code"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert page.lstrip().startswith("<fieldset") and "<html" not in page
    assert '<option value="51.03.05">Kuta Selatan</option>' in page
    response = operator_client.get(
        "/lodgings/address-fields?province_code=51&regency_code=51.03&district_code=51.03.05&village_code=51.03.05.1006&postal_code=",
        headers={"HX-Request": "true", "HX-Trigger-Name": "village_code"})
    assert 'value="80362"' in response.get_data(as_text=True)
    # The same URL without htmx is a whole page.
    page = operator_client.get("/lodgings/address-fields?province_code=51").get_data(as_text=True)
    assert "<html" in page


def test_operator_cannot_see_or_edit_other_operators_lodgings(app, operator_client, other_operator, offices):
    theirs = make_lodging(other_operator, name="Their Villa")
    for path in (f"/lodgings/{theirs.id}", f"/lodgings/{theirs.id}/edit"):
        assert operator_client.get(path).status_code == 404
    assert operator_client.post(f"/lodgings/{theirs.id}/edit", data=lodging_values(name="Stolen")).status_code == 404
    assert "Their Villa" not in operator_client.get("/lodgings/").get_data(as_text=True)
    assert operator_client.get("/lodgings/999999").status_code == 404
    db.session.refresh(theirs)
    assert theirs.name == "Their Villa"


def test_moving_a_verified_lodging_sends_it_back_to_verification(operator_client, operator, officer, offices):
    lodging = make_lodging(operator)
    lodging.status = "verified"
    db.session.commit()
    response = operator_client.post(f"/lodgings/{lodging.id}/edit", data=lodging_values(name="Kos Melati Baru"))
    assert response.status_code == 303
    db.session.refresh(lodging)
    assert lodging.status == "verified" and lodging.name == "Kos Melati Baru"
    moved = lodging_values(province_code="51", regency_code="51.71", district_code="51.71.01", village_code="51.71.01.1006")
    operator_client.post(f"/lodgings/{lodging.id}/edit", data=moved)
    db.session.refresh(lodging)
    assert lodging.status == "pending" and lodging.office_id == offices["denpasar"].id


def test_edit_form_shows_the_saved_values(operator_client, operator, offices):
    lodging = make_lodging(operator, KUTA_SELATAN_JIMBARAN)
    page = operator_client.get(f"/lodgings/{lodging.id}/edit").get_data(as_text=True)
    assert '<option selected value="51.03.05.1006">Jimbaran</option>' in page or 'value="51.03.05.1006" selected' in page
