"""Registering and editing lodgings: validation, the region cascade with and without htmx, isolation."""
import logging

import pytest
from sqlalchemy import func, select

from serasi_web.extensions import db
from serasi_web.lodgings.models import Lodging

from .helpers import KUTA_SELATAN_JIMBARAN, lodging_values, login, make_lodging

EN = {"Accept-Language": "en"}
ID = {"Accept-Language": "id"}
HOST_NIK = "5103055508850001"  # Badung / Kuta Selatan, a woman born 15 August 1985 (day + 40)


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
    response = operator_client.post("/lodgings/new", data=lodging_values(lodging_type="private_residence", nib="", host_nik=HOST_NIK))
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


def residence_values(**overrides) -> dict:
    values = lodging_values(lodging_type="private_residence", name="Rumah Jalan Melati 5", person_in_charge="Ni Made Sari",
                            host_nik=HOST_NIK, nib="", room_count="")
    values.update(overrides)
    return values


def test_an_individual_host_gets_a_residence_form_with_the_nik_and_no_nib_or_rooms(operator_client, offices):
    fields = operator_client.get("/lodgings/type-fields?lodging_type=private_residence", headers=EN | {"HX-Request": "true"}).get_data(as_text=True)
    assert 'name="host_nik"' in fields and 'name="nib"' not in fields and 'name="room_count"' not in fields
    assert "Name of the residence" in fields and "Host's full name" in fields and "Lodging name" not in fields
    # Without JavaScript the type is chosen, then "show the fields of this type" posts the form back.
    page = operator_client.post("/lodgings/new", data={"lodging_type": "private_residence", "action": "refresh_regions"},
                                headers=ID).get_data(as_text=True)
    assert "Nama tempat tinggal" in page and "NIK tuan rumah" in page and "Daftarkan tempat tinggal" in page
    assert "Jumlah kamar" not in page and "Nomor Induk Berusaha" not in page
    # Everything else on the form is as for any lodging.
    for name in ("street_address", "province_code", "village_code", "postal_code", "phone", "person_in_charge"):
        assert f'name="{name}"' in page, name

    # A room count or NIB sent anyway (an old tab, a crafted POST) is not kept.
    response = operator_client.post("/lodgings/new", data=residence_values(nib="9120001234567", room_count="3"))
    assert response.status_code == 303
    lodging = db.session.execute(select(Lodging)).scalar_one()
    assert (lodging.host_nik, lodging.nib, lodging.room_count, lodging.person_in_charge) == (HOST_NIK, None, None, "Ni Made Sari")
    assert HOST_NIK not in response.location
    shown = operator_client.get(response.location, headers=EN).get_data(as_text=True)
    assert HOST_NIK in shown and "Number of rooms" not in shown and "(NIB)" not in shown


def test_other_lodging_types_keep_their_form_and_store_no_nik(operator_client, offices):
    fields = operator_client.get("/lodgings/type-fields?lodging_type=hotel", headers=EN | {"HX-Request": "true"}).get_data(as_text=True)
    assert 'name="nib"' in fields and 'name="room_count"' in fields and 'name="host_nik"' not in fields
    assert "Lodging name" in fields and "Person in charge" in fields
    response = operator_client.post("/lodgings/new", data=lodging_values(lodging_type="hotel", host_nik=HOST_NIK))
    assert response.status_code == 303
    lodging = db.session.execute(select(Lodging)).scalar_one()
    assert lodging.host_nik is None and lodging.room_count == 12
    # A residence that becomes a kos drops the host's NIK.
    response = operator_client.post("/lodgings/new", data=residence_values(name="Rumah Kenanga"))
    home = db.session.get(Lodging, int(response.location.rstrip("/").split("/")[-1]))
    assert home.host_nik == HOST_NIK
    response = operator_client.post(f"/lodgings/{home.id}/edit", data=lodging_values(name="Kos Kenanga", host_nik=HOST_NIK))
    assert response.status_code == 303
    db.session.refresh(home)
    assert home.host_nik is None and home.nib == "9120001234567"


@pytest.mark.parametrize("nik, message", [
    ("", "Enter the host's NIK."),
    ("510305550885", "The NIK has 16 digits"),
    ("51030555088500０1", "The NIK has 16 digits"),  # a full-width digit
    ("9903055508850001", "The first two digits of a NIK are a province code"),
    ("5103053208850001", "Digits 7 to 12 of a NIK are the date of birth"),  # day 32
    ("5103057208850001", "Digits 7 to 12 of a NIK are the date of birth"),  # day 72 - 40 = 32
    ("5103051513850001", "Digits 7 to 12 of a NIK are the date of birth"),  # month 13
    ("5103053002850001", "Digits 7 to 12 of a NIK are the date of birth"),  # 30 February
    ("5103055508850000", "The last four digits of a NIK are never 0000"),
])
def test_a_wrong_nik_comes_back_at_its_field_with_the_typed_values(operator_client, offices, nik, message):
    page = operator_client.post("/lodgings/new", data=residence_values(host_nik=nik), headers=EN).get_data(as_text=True)
    field = page[page.index('id="host_nik-field"'):]
    assert message in field[:field.index("</div>")]
    assert '<a href="#host_nik">' in page and 'value="Rumah Jalan Melati 5"' in page
    assert db.session.scalar(select(func.count()).select_from(Lodging)) == 0


def test_a_29_february_birthday_is_a_real_nik(operator_client, offices):
    response = operator_client.post("/lodgings/new", data=residence_values(host_nik="5103052902840001"))
    assert response.status_code == 303


def test_the_hosts_nik_is_shown_to_the_owner_and_the_offices_officers_only(app, operator_client, officer_client, admin_client,
                                                                             other_operator, denpasar_officer, offices, caplog):
    caplog.set_level(logging.DEBUG)
    response = operator_client.post("/lodgings/new", data=residence_values())
    lodging_id = int(response.location.rstrip("/").split("/")[-1])
    assert HOST_NIK in officer_client.get(f"/officer/lodgings/{lodging_id}", headers=EN).get_data(as_text=True)
    # An admin without an office role has no console at all (docs/privacy.md).
    admin_page = admin_client.get(f"/officer/lodgings/{lodging_id}", headers=EN)
    assert admin_page.status_code == 404 and HOST_NIK not in admin_page.get_data(as_text=True)
    other_office = app.test_client()
    login(other_office, denpasar_officer.email)
    assert other_office.get(f"/officer/lodgings/{lodging_id}").status_code == 404
    other_owner = app.test_client()
    login(other_owner, other_operator.email)
    assert other_owner.get(f"/lodgings/{lodging_id}").status_code == 404
    assert HOST_NIK not in caplog.text
    # The type swap (a GET) never carries the NIK typed on the form into a URL.
    form = operator_client.get("/lodgings/new?lodging_type=private_residence").get_data(as_text=True)
    assert "#type-fields input:not([name=host_nik])" in form
