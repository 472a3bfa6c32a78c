"""Statistics of the reports in a scope: every figure is counted by the database (GROUP BY).

Days and months are the lodging's local ones (WIB, WITA or WIT, from its province), computed in
SQL. Voided reports and drafts are not counted; a stay counts on its check-in date. The counts
come from the daily counts the worker keeps (``stat_day_count``, officer/summaries.py), except
for the days changed since it last counted them, which are counted from the stays.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Integer, Select, cast, func, select

from ..extensions import db
from ..lodgings.models import Lodging
from ..lodgings.types import lodging_type_label
from ..offices.models import ImmigrationOffice
from ..reference import regions
from ..reference.countries import country_name
from ..reference.permits import STAY_PERMITS
from ..stays.models import Stay, StayStatus
from .models import StatisticsDayCount, StatisticsDirtyDay
from .scope import Scope, filter_only

COUNTED_STATUSES = (StayStatus.REPORTED.value, StayStatus.CHECKED_OUT.value)
MAX_PERIOD_DAYS = 366
MAX_DAILY_DAYS = 92  # longer periods show months only (a chart of 366 bars reads badly)
_WITA = sorted(code for code in ("51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"))
_WIT = sorted(code for code in ("81", "82", "91", "92", "93", "94", "95", "96"))

# The tables of the statistics page: key -> title. Export URLs use the keys.
TABLES = {
    "per_day": _l("Check-ins per day"),
    "per_month": _l("Check-ins per month"),
    "nationality": _l("Check-ins by nationality"),
    "region": _l("Check-ins by regency and district"),
    "lodging_type": _l("Check-ins by lodging type"),
    "stay_permit": _l("Check-ins by stay permit"),
    "late_rate": _l("Late reports per month"),
    "office": _l("Check-ins by office"),
    "province": _l("Check-ins by province"),
}
# Tables that tell something only where a scope spans offices (a regional or national console).
ACROSS_OFFICES = ("office", "province")


@dataclass(frozen=True)
class Period:
    """Local calendar days from ``start`` to ``end``, both included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def default_period(today: date) -> Period:
    return Period(today - timedelta(days=29), today)


@dataclass
class Table:
    """A statistics table: a header and rows of (label, numbers...)."""

    key: str
    title: str
    header: list[str]
    rows: list[list]


_ZONES = (("Asia/Jayapura", 9, tuple(_WIT)), ("Asia/Makassar", 8, tuple(_WITA)), ("Asia/Jakarta", 7, None))


def _zone_provinces(offset: int) -> ColumnElement[bool]:
    """SQL condition on ``Lodging``: its province keeps UTC+``offset`` (7 = everything else)."""
    if offset == 9:
        return Lodging.province_code.in_(_WIT)
    if offset == 8:
        return Lodging.province_code.in_(_WITA)
    return Lodging.province_code.not_in(_WIT + _WITA)


def local_day_column(zone_name: str, offset: int) -> ColumnElement[str]:
    """The check-in's date in a fixed zone as 'YYYY-MM-DD' text, on SQLite and PostgreSQL."""
    if db.engine.dialect.name == "sqlite":
        return func.date(Stay.check_in_at, f"+{offset} hours")
    return func.to_char(func.timezone(zone_name, Stay.check_in_at), "YYYY-MM-DD")


def _counted(scope: Scope, period: Period, offset: int, *columns) -> Select:
    """``SELECT columns`` over the counted reports checked in during ``period`` at the scope's
    lodgings of one time zone (UTC+``offset``).

    Everything it reads is in the check-in covering index (a range of the period), so no stay
    row is visited; ``filter_only`` keeps SQLite from walking another index instead.
    """
    start = datetime.combine(period.start, time(0), tzinfo=timezone(timedelta(hours=offset)))
    end = datetime.combine(period.end + timedelta(days=1), time(0), tzinfo=timezone(timedelta(hours=offset)))
    return (select(*columns).select_from(Stay)
            .where(filter_only(Stay.lodging_id).in_(scope.lodging_ids(_zone_provinces(offset))),
                   filter_only(Stay.status).in_(COUNTED_STATUSES), Stay.check_in_at >= start, Stay.check_in_at < end))


@dataclass(frozen=True)
class _Place:
    province: str
    regency: str
    district: str
    lodging_type: str
    office_id: int | None


@dataclass
class _Figures:
    """The few grouped counts every table is made from."""

    days: dict[str, tuple[int, int]] = field(default_factory=dict)  # local day -> (check-ins, late)
    nationalities: list[tuple[str, int]] = field(default_factory=list)  # (nationality, check-ins)
    permits: list[tuple[str, int]] = field(default_factory=list)  # (stay permit, check-ins)
    places: list[tuple[_Place, int]] = field(default_factory=list)  # (place, type and office; check-ins)

    def add_day(self, local_day: str, count: int, late: int) -> None:
        total, total_late = self.days.get(local_day, (0, 0))
        self.days[local_day] = (total + count, total_late + int(late or 0))


_PASS_OF = {"per_day": "days", "per_month": "days", "late_rate": "days", "nationality": "categories",
            "stay_permit": "categories", "region": "places", "lodging_type": "places", "office": "places", "province": "places"}


def keys_for(scope: Scope) -> list[str]:
    """The tables of ``scope``'s statistics page: by office and province only where it spans offices."""
    return [key for key in TABLES if key not in ACROSS_OFFICES or scope.spans_offices]


def _scope_lodgings(scope: Scope) -> dict[int, _Place]:
    """The scope's lodgings, read once per set of tables: id -> its place, type and office."""
    return {row[0]: _Place(*row[1:]) for row in db.session.execute(
        select(Lodging.id, Lodging.province_code, Lodging.regency_code, Lodging.district_code, Lodging.lodging_type, Lodging.office_id)
        .where(scope.lodging_condition())).all()}


def _gather(scope: Scope, period: Period, passes: set[str], lodgings: dict[int, _Place],
            provinces: set[str], figures: _Figures) -> None:
    """Count the stays themselves: the passes over ``period``, each only over the time zones of
    ``provinces`` (those of the scope's lodgings), added to ``figures``."""
    for zone_name, offset, zone_provinces in _ZONES:
        in_zone = provinces & set(zone_provinces) if zone_provinces else provinces - set(_WIT) - set(_WITA)
        if not in_zone:
            continue
        if "days" in passes:
            day = local_day_column(zone_name, offset).label("day")
            for local_day, count, late in db.session.execute(
                    _counted(scope, period, offset, day, func.count(), func.sum(cast(Stay.late, Integer))).group_by(day)).all():
                figures.add_day(local_day, count, late)
        if "categories" in passes:
            for nationality, permit, count in db.session.execute(
                    _counted(scope, period, offset, Stay.nationality, Stay.stay_permit, func.count())
                    .group_by(Stay.nationality, Stay.stay_permit)).all():
                figures.nationalities.append((nationality, count))
                figures.permits.append((permit, count))
        if "places" in passes:
            figures.places += [(lodgings[lodging_id], count) for lodging_id, count in db.session.execute(
                _counted(scope, period, offset, Stay.lodging_id, func.count()).group_by(Stay.lodging_id)).all()
                if lodging_id in lodgings]


def _days_not_yet_counted() -> set[date] | None:
    """The lodging-local days ``stat_day_count`` may be wrong for (changed since the worker last
    counted them; see officer/summaries.py), or None when it must not be used at all."""
    noted = set(db.session.execute(select(StatisticsDirtyDay.day).distinct()).scalars())
    if None in noted:
        return None
    return {day + timedelta(days=shift) for day in noted for shift in (0, 1)}  # UTC date -> its local days


def _gather_counted(scope: Scope, period: Period, passes: set[str], skipped: set[date], figures: _Figures) -> None:
    """The passes from the daily counts over ``period`` except the days ``skipped``."""
    counts = StatisticsDayCount
    conditions = [counts.day >= period.start, counts.day <= period.end, scope.lodging_condition(on=counts)]
    if skipped:
        conditions.append(counts.day.not_in(sorted(skipped)))
    by_type = counts.dimension == "lodging_type"
    if "days" in passes:
        for day, count, late in db.session.execute(
                select(counts.day, func.sum(counts.check_ins), func.sum(counts.late))
                .where(by_type, *conditions).group_by(counts.day)).all():
            figures.add_day(day.isoformat(), int(count), int(late or 0))
    if "categories" in passes:
        for dimension, value, count in db.session.execute(
                select(counts.dimension, counts.value, func.sum(counts.check_ins))
                .where(counts.dimension.in_(("nationality", "stay_permit")), *conditions)
                .group_by(counts.dimension, counts.value)).all():
            (figures.nationalities if dimension == "nationality" else figures.permits).append((value, int(count)))
    if "places" in passes:
        place = (counts.province_code, counts.regency_code, counts.district_code, counts.value, counts.office_id)
        figures.places += [(_Place(*row[:5]), int(row[5])) for row in db.session.execute(
            select(*place, func.sum(counts.check_ins)).where(by_type, *conditions).group_by(*place)).all()]


def figures_for(scope: Scope, period: Period, passes: set[str], use_counts: bool = True) -> _Figures:
    """The passes over ``period``: from the daily counts where they are up to date, from the
    stays for the days changed since (and for everything when ``use_counts`` is false or the
    counts are being rebuilt)."""
    figures = _Figures()
    not_counted = _days_not_yet_counted() if use_counts else None
    if not_counted is None:
        from_stays = [period]
    else:
        in_period = sorted(day for day in not_counted if period.start <= day <= period.end)
        _gather_counted(scope, period, passes, set(in_period), figures)
        from_stays = [Period(first, last) for first, last in day_runs(in_period)]
    if from_stays:
        if "places" in passes:  # the places and types of the scope's lodgings
            lodgings = _scope_lodgings(scope)
            provinces = {place.province for place in lodgings.values()}
        else:  # only their time zones
            lodgings = {}
            provinces = set(db.session.scalars(select(Lodging.province_code).where(scope.lodging_condition()).distinct()))
        for part in from_stays:
            _gather(scope, part, passes, lodgings, provinces, figures)
    return figures


def day_runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days: [(first, last), ...]."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _office_names(office_ids) -> dict[int, str]:
    ids = [office_id for office_id in office_ids if office_id is not None]
    return dict(db.session.execute(select(ImmigrationOffice.id, ImmigrationOffice.name).where(ImmigrationOffice.id.in_(ids))).all()) if ids else {}


def _sum_by(pairs) -> list[tuple[str, int]]:
    """Add up (key, count) pairs; largest first, then by key."""
    totals: dict[str, int] = {}
    for key, count in pairs:
        totals[key] = totals.get(key, 0) + count
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))


def _per_day(figures: _Figures, period: Period) -> Table:
    rows = []
    for offset in range(period.days):
        day = (period.start + timedelta(days=offset)).isoformat()
        rows.append([day, figures.days.get(day, (0, 0))[0]])
    return Table("per_day", str(TABLES["per_day"]), [str(_l("Day")), str(_l("Check-ins"))], rows)


def _months(period: Period) -> list[str]:
    months, year, month = [], period.start.year, period.start.month
    while (year, month) <= (period.end.year, period.end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _monthly(figures: _Figures) -> dict[str, tuple[int, int]]:
    months: dict[str, tuple[int, int]] = {}
    for day, (count, late) in figures.days.items():
        total, total_late = months.get(day[:7], (0, 0))
        months[day[:7]] = (total + count, total_late + late)
    return months


def _per_month(figures: _Figures, period: Period) -> Table:
    months = _monthly(figures)
    rows = [[month, months.get(month, (0, 0))[0]] for month in _months(period)]
    return Table("per_month", str(TABLES["per_month"]), [str(_l("Month")), str(_l("Check-ins"))], rows)


def _late_rate(figures: _Figures, period: Period) -> Table:
    """Per month of check-in: reports, late reports and the late share in per cent."""
    months = _monthly(figures)
    rows = []
    for month in _months(period):
        reports, late = months.get(month, (0, 0))
        rows.append([month, reports, late, round(100 * late / reports, 1) if reports else 0.0])
    return Table("late_rate", str(TABLES["late_rate"]),
                 [str(_l("Month")), str(_l("Reports")), str(_l("Late reports")), str(_l("Late (%)"))], rows)


def _share_rows(pairs: list[tuple[str, int]]) -> list[list]:
    total = sum(count for _label, count in pairs) or 1
    return [[label, count, round(100 * count / total, 1)] for label, count in pairs]


def _share_table(key: str, heading, pairs: list[tuple[str, int]]) -> Table:
    return Table(key, str(TABLES[key]), [str(heading), str(_l("Check-ins")), str(_l("Share (%)"))], _share_rows(pairs))


def table(key: str, scope: Scope, period: Period, locale: str) -> Table:
    """One statistics table by its key (see ``TABLES``)."""
    return tables([key], scope, period, locale)[0]


def tables(keys: list[str], scope: Scope, period: Period, locale: str, use_counts: bool = True) -> list[Table]:
    """The tables named by ``keys`` (see ``TABLES``), in that order, from as few passes as they need
    (``use_counts`` false: from the stays only, as the summary's tests compare)."""
    unknown = [key for key in keys if key not in TABLES]
    if unknown:
        raise KeyError(unknown[0])
    figures = figures_for(scope, period, {_PASS_OF[key] for key in keys}, use_counts)
    places = figures.places
    built = []
    for key in keys:
        if key == "per_day":
            built.append(_per_day(figures, period))
        elif key == "per_month":
            built.append(_per_month(figures, period))
        elif key == "late_rate":
            built.append(_late_rate(figures, period))
        elif key == "nationality":
            pairs = _sum_by(figures.nationalities)
            built.append(_share_table(key, _l("Nationality"), [(f"{country_name(code, locale)} ({code})", count) for code, count in pairs]))
        elif key == "stay_permit":
            pairs = _sum_by(figures.permits)
            built.append(_share_table(key, _l("Stay permit"), [(str(STAY_PERMITS.get(code, code or _l("Not given"))), count) for code, count in pairs]))
        elif key == "region":
            pairs = _sum_by(((place.regency, place.district), count) for place, count in places)
            built.append(_share_table(key, _l("Regency › district"),
                                      [(f"{regions.name(regency)} › {regions.name(district)}", count) for (regency, district), count in pairs]))
        elif key == "lodging_type":
            pairs = _sum_by((place.lodging_type, count) for place, count in places)
            built.append(_share_table(key, _l("Lodging type"), [(lodging_type_label(code), count) for code, count in pairs]))
        elif key == "office":
            names = _office_names({place.office_id for place, _count in places})
            # Grouped by name, not id (sorting mixes None): "no office" is one row.
            pairs = _sum_by((names.get(place.office_id) or str(_l("No office")), count) for place, count in places)
            built.append(_share_table(key, _l("Office"), pairs))
        elif key == "province":
            pairs = _sum_by((place.province, count) for place, count in places)
            built.append(_share_table(key, _l("Province"), [(regions.name(code), count) for code, count in pairs]))
    return built
