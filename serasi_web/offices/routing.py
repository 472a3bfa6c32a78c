"""Routing: which immigration office covers a lodging's address.

An office's area is a set of region codes at regency ("51.03") or district ("51.03.05") level.
The most specific code that contains the lodging's address wins, so a split regency works:
Kuta Selatan (51.03.05) goes to Kanim Ngurah Rai even if another office holds Badung (51.03).

On a regional or national instance an office may stand for another instance (a federation
peer): the lodgings that instance mirrored here are that office's, wherever they are, so the
console groups them under the instance that sent them. A peer no office stands for has its
lodgings routed by region like any other.
"""
from __future__ import annotations

from sqlalchemy import select, update

from ..extensions import db
from ..federation.models import FederationPeer
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


def _peer_offices() -> dict[int, int]:
    """Federation peer id -> the id of the office standing for that instance."""
    return dict(db.session.execute(select(FederationPeer.id, FederationPeer.office_id).where(FederationPeer.office_id.is_not(None))).all())


def route_lodging(lodging: Lodging) -> None:
    """Set the lodging's office: the office standing for the instance that mirrored it here, else
    the one covering its village (or district) code."""
    if lodging.federation_peer_id is not None:
        peer_office_id = db.session.scalar(select(FederationPeer.office_id).where(FederationPeer.id == lodging.federation_peer_id))
        if peer_office_id is not None:
            lodging.office_id = peer_office_id
            return
    lodging.office_id = office_id_for_region(lodging.village_code or lodging.district_code)


def reroute_all_lodgings() -> int:
    """Recompute every lodging's office after areas (or the peers offices stand for) changed;
    returns how many moved."""
    area_map = dict(db.session.execute(select(OfficeArea.region_code, OfficeArea.office_id)).all())
    peer_offices = _peer_offices()
    moved = 0
    rows = db.session.execute(select(Lodging.id, Lodging.village_code, Lodging.district_code, Lodging.office_id, Lodging.federation_peer_id)).all()
    for lodging_id, village_code, district_code, office_id, peer_id in rows:
        new_office_id = peer_offices.get(peer_id) or office_id_for_region(village_code or district_code, area_map)
        if new_office_id != office_id:
            db.session.execute(update(Lodging).where(Lodging.id == lodging_id).values(office_id=new_office_id))
            moved += 1
    return moved
