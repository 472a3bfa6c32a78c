"""Routing: which immigration office covers a lodging's address.

An office's area is a set of region codes at regency ("51.03") or district ("51.03.05") level.
The most specific code that contains the lodging's address wins, so a split regency works:
Kuta Selatan (51.03.05) goes to Kanim Ngurah Rai even if another office holds Badung (51.03).
"""
from __future__ import annotations

from sqlalchemy import select, update

from ..extensions import db
from ..lodgings.models import Lodging
from ..reference.regions import ancestors
from .models import ImmigrationOffice, OfficeArea


def office_id_for_region(region_code: str, area_map: dict[str, int] | None = None) -> int | None:
    """The id of the office covering ``region_code`` (any level), or None.

    ``area_map`` (region code -> office id) avoids a query per call when routing many lodgings.
    """
    candidates = ancestors(region_code)
    if area_map is None:
        rows = db.session.execute(
            select(OfficeArea.region_code, OfficeArea.office_id).where(OfficeArea.region_code.in_(candidates))
        ).all()
        area_map = dict(rows)
    for code in candidates:  # most specific first
        if code in area_map:
            return area_map[code]
    return None


def office_for_region(region_code: str) -> ImmigrationOffice | None:
    office_id = office_id_for_region(region_code)
    return db.session.get(ImmigrationOffice, office_id) if office_id else None


def route_lodging(lodging: Lodging) -> None:
    """Set the lodging's office from its village (or district) code."""
    lodging.office_id = office_id_for_region(lodging.village_code or lodging.district_code)


def reroute_all_lodgings() -> int:
    """Recompute every lodging's office after areas changed; returns how many moved."""
    area_map = dict(db.session.execute(select(OfficeArea.region_code, OfficeArea.office_id)).all())
    moved = 0
    rows = db.session.execute(select(Lodging.id, Lodging.village_code, Lodging.district_code, Lodging.office_id)).all()
    for lodging_id, village_code, district_code, office_id in rows:
        new_office_id = office_id_for_region(village_code or district_code, area_map)
        if new_office_id != office_id:
            db.session.execute(update(Lodging).where(Lodging.id == lodging_id).values(office_id=new_office_id))
            moved += 1
    return moved
