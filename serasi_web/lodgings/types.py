"""Lodging types (tempat penginapan) and whether a business registration (NIB) is required."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class LodgingType:
    key: str
    label: object  # lazy string
    commercial: bool = True  # commercial lodgings must give their NIB


LODGING_TYPES: tuple[LodgingType, ...] = (
    LodgingType("hotel", _l("Hotel")),
    LodgingType("apartment", _l("Apartment")),
    LodgingType("company_mess", _l("Company mess")),
    LodgingType("inn", _l("Inn (losmen)")),
    LodgingType("guest_house", _l("Guest house")),
    LodgingType("villa", _l("Villa")),
    LodgingType("homestay", _l("Homestay")),
    LodgingType("boarding_house", _l("Boarding house (kos)")),
    LodgingType("rented_house", _l("Rented house")),
    LodgingType("other_commercial", _l("Other commercial lodging")),
    LodgingType("private_residence", _l("Private residence"), commercial=False),
)
_BY_KEY = {lodging_type.key: lodging_type for lodging_type in LODGING_TYPES}


def lodging_type(key: str) -> LodgingType | None:
    return _BY_KEY.get(key)


def lodging_type_label(key: str) -> str:
    found = _BY_KEY.get(key)
    return str(found.label) if found else key
