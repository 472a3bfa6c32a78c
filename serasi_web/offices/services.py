"""Managing offices and their areas (used by the admin pages, the CSV import and the demo)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..federation.models import FederationPeer
from ..reference import regions
from .models import ImmigrationOffice, OfficeArea, OfficeLevel
from .routing import reroute_all_lodgings

OFFICE_CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$")


@dataclass
class AreaProblem:
    region_code: str
    message: str


def check_area_code(code: str, provinces: bool = False):
    """Return (normalised code, problem message or None) for one area code; ``provinces``
    allows province codes too (a regional office's area, "51" = Bali)."""
    normalised = regions.normalise(code)
    region = regions.get(normalised) if normalised else None
    if region is None:
        return code, _l("%(code)s is not a Kemendagri region code.", code=code)
    if provinces and region.level == regions.LEVEL_PROVINCE:
        return normalised, None
    if region.level not in (regions.LEVEL_REGENCY, regions.LEVEL_DISTRICT):
        if provinces:
            return normalised, _l("%(code)s is not a province, regency/city or district code.", code=normalised)
        return normalised, _l("%(code)s is not a regency/city or district code.", code=normalised)
    return normalised, None


def parse_region_codes(text: str, provinces: bool = False) -> tuple[list[str], list[str]]:
    """Region codes typed one per line (or comma-separated, "# comments" allowed); (codes, problems).
    ``provinces`` allows province codes (see ``check_area_code``)."""
    codes, problems = [], []
    for raw in (text or "").replace(",", "\n").splitlines():
        raw = raw.split("#", 1)[0].strip()  # allow "51.71  # Kota Denpasar"
        if not raw:
            continue
        code, problem = check_area_code(raw, provinces)
        if problem:
            problems.append(str(problem))
        else:
            codes.append(code)
    return list(dict.fromkeys(codes)), problems


def area_conflicts(codes: list[str], office: ImmigrationOffice | None) -> dict[str, ImmigrationOffice]:
    """Codes that already belong to an office other than ``office``."""
    if not codes:
        return {}
    rows = db.session.execute(select(OfficeArea).where(OfficeArea.region_code.in_(codes))).scalars()
    return {row.region_code: row.office for row in rows if office is None or row.office_id != office.id}


def replace_areas(office: ImmigrationOffice, codes: list[str], reroute: bool = True) -> None:
    """Make ``codes`` the office's whole area (caller validated them) and re-route lodgings."""
    # Delete first with SQL: the ORM would insert the new rows before deleting the old ones
    # and trip the unique constraint when a code is kept.
    db.session.execute(delete(OfficeArea).where(OfficeArea.office_id == office.id))
    db.session.flush()
    db.session.expire(office, ["areas"])
    for code in dict.fromkeys(codes):
        db.session.add(OfficeArea(office_id=office.id, region_code=code))
    db.session.flush()
    if reroute:
        reroute_all_lodgings()


def offices_ordered(with_areas: bool = False) -> list[ImmigrationOffice]:
    """Every office by name; ``with_areas`` loads their areas too (the offices page lists them) in
    one more query, not one per office."""
    query = select(ImmigrationOffice).order_by(ImmigrationOffice.name)
    if with_areas:
        query = query.options(selectinload(ImmigrationOffice.areas))
    return list(db.session.execute(query).scalars())


def peer_names_by_office() -> dict[int, str]:
    """Office id -> the name of the federation peer it stands for (one query for every office)."""
    return dict(db.session.execute(select(FederationPeer.office_id, FederationPeer.name)
                                   .where(FederationPeer.office_id.is_not(None))).all())


def levels_offered(instance_level: str) -> list[OfficeLevel]:
    """The levels an admin may give an office on an instance of ``instance_level``: on an
    office's instance every office is an office; a Kanwil's adds regional, the national one
    national too (what ``office_level_in_effect`` honours there)."""
    if instance_level == "regional":
        return [OfficeLevel.OFFICE, OfficeLevel.REGIONAL]
    if instance_level == "national":
        return [OfficeLevel.OFFICE, OfficeLevel.REGIONAL, OfficeLevel.NATIONAL]
    return [OfficeLevel.OFFICE]


def link_peers(links: list[tuple[ImmigrationOffice, int | None]]) -> None:
    """Make each office stand for the federation peer given with it (None: for no instance);
    the caller checked that no peer is given twice nor held by an office not in ``links``.
    Lodgings are not re-routed here (``reroute_all_lodgings`` does it)."""
    office_ids = [office.id for office, _peer_id in links]
    if not office_ids:
        return
    # One office per peer (a unique key): every old link goes first, so peers can move between them.
    db.session.execute(update(FederationPeer).where(FederationPeer.office_id.in_(office_ids)).values(office_id=None))
    db.session.flush()
    for office, peer_id in links:
        if peer_id is not None:
            db.session.execute(update(FederationPeer).where(FederationPeer.id == peer_id).values(office_id=office.id))
    db.session.flush()


@dataclass
class OfficeRow:
    code: str
    name: str
    office_class: str = ""
    address: str = ""
    phone: str = ""
    email: str = ""
    region_codes: list[str] = field(default_factory=list)
    level: str | None = None  # None: left as it is (a new office is an office)
    peer_id: int | None = None  # the federation peer it stands for, when ``sets_peer``
    sets_peer: bool = False  # False: the office keeps the peer it stands for, if any


def upsert_office(row: OfficeRow) -> ImmigrationOffice:
    office = db.session.execute(select(ImmigrationOffice).where(ImmigrationOffice.code == row.code)).scalar_one_or_none()
    if office is None:
        office = ImmigrationOffice(code=row.code)
        db.session.add(office)
    office.name, office.office_class, office.address = row.name, row.office_class, row.address
    office.phone, office.email = row.phone, row.email
    if row.level is not None:
        office.level = row.level
    db.session.flush()
    return office
