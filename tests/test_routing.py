"""Lodgings land with the office whose area covers their address; the most specific code wins."""
from serasi_web.extensions import db
from serasi_web.offices.models import ImmigrationOffice
from serasi_web.offices.routing import office_for_region
from serasi_web.offices.services import replace_areas

from .helpers import DENPASAR_SANUR, JAKARTA_BARAT, KUTA_SELATAN_JIMBARAN, MENGWI, make_lodging


def test_split_regency_routes_by_district(app, offices, operator):
    assert make_lodging(operator, KUTA_SELATAN_JIMBARAN).office_id == offices["ngurah_rai"].id
    assert make_lodging(operator, MENGWI, name="Mess Mengwi").office_id == offices["denpasar"].id
    assert make_lodging(operator, DENPASAR_SANUR, name="Villa Sanur").office_id == offices["denpasar"].id
    assert make_lodging(operator, JAKARTA_BARAT, name="Hotel Cengkareng").office_id == offices["jakarta_barat"].id


def test_district_code_beats_regency_code(app, offices):
    # Give Denpasar the whole of Badung: Kuta Selatan still belongs to Ngurah Rai (district is more specific).
    replace_areas(offices["denpasar"], ["51.71", "51.03"])
    db.session.commit()
    assert office_for_region("51.03.05.1006").code == "KANIM-NGURAH-RAI"
    assert office_for_region("51.03.02.2008").code == "KANIM-DENPASAR"  # Mengwi, now via the regency


def test_lodging_outside_every_area_is_kept_without_office(app, offices, operator, admin_client):
    lodging = make_lodging(operator, dict(province_code="52", regency_code="52.01", district_code="52.01.01", village_code=""), name="Homestay Lombok")
    assert lodging.office_id is None
    page = admin_client.get("/admin/lodgings/no-office").get_data(as_text=True)
    assert "Homestay Lombok" in page


def test_lodgings_move_when_an_area_is_added(app, offices, operator):
    lombok = make_lodging(operator, dict(province_code="52", regency_code="52.01", district_code="52.01.01", village_code=""), name="Homestay Lombok")
    mataram = ImmigrationOffice(code="KANIM-MATARAM", name="Kanim Mataram")
    db.session.add(mataram)
    db.session.flush()
    replace_areas(mataram, ["52.01"])
    db.session.commit()
    db.session.refresh(lombok)
    assert lombok.office_id == mataram.id
