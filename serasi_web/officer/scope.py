"""Who may see what in the console.

Every console query starts from a ``Scope``: an officer sees the lodgings routed to their office,
a supervision team (Timpora, police) the lodgings whose address lies in its regencies or
districts; an admin nothing, unless also given an office (then that office's). Guests are seen only through their lodging, and only once
reported (a draft is the lodging's own business).

On a regional or national instance (``INSTANCE_LEVEL``) an office's level widens its officers'
scope: a regional office (Kanwil) sees every lodging whose address is in its area (its
provinces), whichever office or instance it belongs to; a national office sees every lodging.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, timezone, tzinfo

from flask import current_app
from sqlalchemy import ColumnElement, Select, false, literal_column, or_, select, true, type_coerce

from ..accounts.models import Role, SupervisionRegion, User
from ..extensions import db
from ..lodgings.models import Lodging
from ..offices.models import ImmigrationOffice, OfficeArea, OfficeLevel
from ..reference import regions
from ..stays.models import Stay

WESTERN_INDONESIA = timezone(timedelta(hours=7))


@dataclass(frozen=True)
class Scope:
    """The lodgings (and so the guests) one console user may see."""

    office_id: int | None = None
    province_codes: tuple[str, ...] = ()
    regency_codes: tuple[str, ...] = ()
    district_codes: tuple[str, ...] = ()
    whole_country: bool = False  # a national office's officers: every lodging
    zone_region: str = ""  # a region code whose time zone is the scope's ("" is WIB)

    @property
    def spans_offices(self) -> bool:
        """Whether the scope may hold several offices' lodgings (the console then names them)."""
        return self.office_id is None

    @property
    def time_zone(self) -> tzinfo:
        """The zone in which dates typed into filters are read."""
        return regions.time_zone_of(self.zone_region)

    def lodging_condition(self, on=Lodging) -> ColumnElement[bool]:
        """SQL condition on ``Lodging`` that holds for the lodgings of this scope (or on another
        model with the same place columns: ``office_id``, ``province_code``, ``regency_code``,
        ``district_code``)."""
        if self.office_id is not None:
            return on.office_id == self.office_id
        if self.whole_country:
            return true()
        conditions = []
        if self.province_codes:
            conditions.append(on.province_code.in_(self.province_codes))
        if self.regency_codes:
            conditions.append(on.regency_code.in_(self.regency_codes))
        if self.district_codes:
            conditions.append(on.district_code.in_(self.district_codes))
        return or_(*conditions) if conditions else false()

    def lodging_ids(self, *extra: ColumnElement[bool]) -> Select:
        """``SELECT lodging.id`` of the scope, narrowed by ``extra`` conditions on ``Lodging``."""
        return select(Lodging.id).where(self.lodging_condition(), *extra)

    def report_condition(self, *extra_lodging: ColumnElement[bool]) -> ColumnElement[bool]:
        """SQL condition on ``Stay``: a report (not a draft) of a lodging of this scope.

        Both terms are filters, never the way in: each list has its own index to walk.
        """
        return (filter_only(Stay.lodging_id).in_(self.lodging_ids(*extra_lodging))
                & filter_only(Stay.reported_at).is_not(None))


def filter_only(column):
    """``column`` as a term SQLite's planner will not use an index for (the unary ``+`` idiom of
    its documentation); unchanged on PostgreSQL.

    SQLite has no statistics unless someone runs ANALYZE, so it believes any index equality is
    selective: ``lodging_id IN (the office's 300 lodgings)`` would win over the index that
    delivers the rows in the wanted order, and a million rows would be sorted for one page.
    """
    if db.engine.dialect.name != "sqlite":
        return column
    return type_coerce(literal_column(f"+{column.table.name}.{column.name}"), column.type)


def office_level_in_effect(level: str) -> str:
    """An office's level as this instance honours it: a national office only on a national
    instance, a regional one on a regional or national instance; anything else is an office."""
    instance_level = current_app.config["INSTANCE_LEVEL"]
    if level == OfficeLevel.NATIONAL and instance_level == "national":
        return OfficeLevel.NATIONAL
    if level == OfficeLevel.REGIONAL and instance_level in ("regional", "national"):
        return OfficeLevel.REGIONAL
    return OfficeLevel.OFFICE


def scope_for(user: User) -> Scope:
    """The scope of a console user; an account with no console role sees nothing."""
    if user.role in (Role.OFFICER, Role.DPO, Role.ADMIN) and user.office_id is not None:
        # An admin sees guests only when also given an office; the data-protection officer's
        # scope is the office's, for its access log and data-subject requests.
        codes = db.session.scalars(
            select(OfficeArea.region_code).where(OfficeArea.office_id == user.office_id).order_by(OfficeArea.region_code)).all()
        level = office_level_in_effect(db.session.scalar(select(ImmigrationOffice.level).where(ImmigrationOffice.id == user.office_id)))
        if level == OfficeLevel.NATIONAL:
            return Scope(whole_country=True)
        if level == OfficeLevel.REGIONAL:
            return _region_scope(codes)
        return Scope(office_id=user.office_id, zone_region=codes[0] if codes else "")
    if user.role == Role.SUPERVISOR:
        return _region_scope(db.session.scalars(
            select(SupervisionRegion.region_code).where(SupervisionRegion.user_id == user.id).order_by(SupervisionRegion.region_code)
        ).all())
    return Scope()  # nothing: lodging_condition() is false


def _region_scope(codes: list[str]) -> Scope:
    """The lodgings whose address is in any of ``codes`` (provinces, regencies or districts)."""
    def of_level(level: int) -> tuple[str, ...]:
        return tuple(code for code in codes if regions.level_of(code) == level)

    return Scope(province_codes=of_level(regions.LEVEL_PROVINCE), regency_codes=of_level(regions.LEVEL_REGENCY),
                 district_codes=of_level(regions.LEVEL_DISTRICT), zone_region=codes[0] if codes else "")


def region_choices(scope: Scope) -> list[tuple[str, str]]:
    """Regencies and districts that hold lodgings of the scope, as (code, "Regency › District")."""
    rows = db.session.execute(
        select(Lodging.regency_code, Lodging.district_code).where(scope.lodging_condition()).distinct()
    ).all()
    regency_codes = sorted({regency for regency, _district in rows})
    choices = []
    for regency in regency_codes:
        choices.append((regency, regions.name(regency)))
        districts = sorted({district for r, district in rows if r == regency}, key=regions.name)
        choices.extend((district, f"{regions.name(regency)} › {regions.name(district)}") for district in districts)
    return choices


def region_condition(code: str) -> ColumnElement[bool]:
    """SQL condition on ``Lodging`` for a regency or district code."""
    if regions.level_of(code) == regions.LEVEL_DISTRICT:
        return Lodging.district_code == code
    return Lodging.regency_code == code
