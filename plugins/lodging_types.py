"""Bundled lodging types: the kinds of "tempat penginapan" named by the regulation."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from serasi_web import hookimpl
from serasi_web.lodgings.types import LodgingType

STANDARD_TYPES = (
    LodgingType("hotel", _l("Hotel"), order=10),
    LodgingType("apartment", _l("Apartment"), order=20),
    LodgingType("inn", _l("Inn (losmen)"), order=40),
    LodgingType("guest_house", _l("Guest house"), order=50),
    LodgingType("villa", _l("Villa"), order=60),
    LodgingType("homestay", _l("Homestay"), order=70),
    LodgingType("boarding_house", _l("Boarding house (kos)"), order=80),
    LodgingType("rented_house", _l("Rented house"), order=90),
    LodgingType("other_commercial", _l("Other commercial lodging"), order=100),
    LodgingType("private_residence", _l("Private residence"), commercial=False, individual_host=True, order=110),
)


@hookimpl(trylast=True)
def serasi_register_lodging_types(register):
    for lodging_type in STANDARD_TYPES:
        register(lodging_type)
