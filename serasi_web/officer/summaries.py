"""The daily counts behind the statistics page (``stat_day_count``), kept up to date by the worker.

A year of a busy office is millions of check-ins; counting them on every page view costs
seconds (docs/benchmarks-officer.md, 10 million stays). So the check-ins are counted once per
lodging-local day and place (office and region codes: what a console scope is made of), by
lodging type, nationality and stay permit, and the page adds those counts up.

Exact, not eventually exact: triggers in the database note the UTC check-in date of every
counted report that is added, changed in a counted field, voided or deleted (``stat_dirty_day``;
``day`` NULL when a lodging with reports moved to another office, region or type). Until the
worker has counted such a day again, the statistics read that day from the stays themselves
(``stats.tables``). Triggers rather than application hooks, because reports change through
many paths (forms, API, worker tasks, federation, retention, bulk loads) and a missed one would
be a wrong figure nobody sees.

The triggers live in the migration that made the tables (0026_statistics_counts); a later migration that
rebuilds ``stay`` or ``lodging`` on SQLite (batch mode drops a table's triggers) must call
``create_triggers`` again.
"""
from __future__ import annotations

import time as clock
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Date, Integer, cast, delete, func, insert, literal, select, text

from ..extensions import db
from ..lodgings.models import Lodging
from ..stays.models import Stay
from .models import StatisticsDayCount, StatisticsDirtyDay
from .stats import _ZONES, COUNTED_STATUSES, _zone_provinces, day_runs, local_day_column

# pg_try_advisory_xact_lock key: one refresh at a time (every worker runs the periodic task).
REFRESH_LOCK = 7_202_512_070
DELETE_CHUNK = 500  # days per DELETE ... IN (...)
DIMENSIONS = {"lodging_type": Lodging.lodging_type, "nationality": Stay.nationality, "stay_permit": Stay.stay_permit}

_COUNTED = ", ".join(f"'{status}'" for status in COUNTED_STATUSES)
_STAY_FIELDS = ("status", "check_in_at", "late", "nationality", "stay_permit", "lodging_id")
_LODGING_FIELDS = ("office_id", "province_code", "regency_code", "district_code", "lodging_type")

_POSTGRESQL_TRIGGERS = [
    f"""CREATE OR REPLACE FUNCTION stat_note_stay_day() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.status IN ({_COUNTED}) THEN
        INSERT INTO stat_dirty_day (day) VALUES ((OLD.check_in_at AT TIME ZONE 'UTC')::date);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status IN ({_COUNTED}) THEN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO stat_dirty_day (day) VALUES ((NEW.check_in_at AT TIME ZONE 'UTC')::date);
        ELSIF NOT (OLD.status IN ({_COUNTED}) AND OLD.check_in_at = NEW.check_in_at) THEN
            INSERT INTO stat_dirty_day (day) VALUES ((NEW.check_in_at AT TIME ZONE 'UTC')::date);
        END IF;
    END IF;
    RETURN NULL;
END $$""",
    f"""CREATE OR REPLACE FUNCTION stat_note_lodging_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM stay WHERE stay.lodging_id = NEW.id AND stay.status IN ({_COUNTED})) THEN
        INSERT INTO stat_dirty_day (day) VALUES (NULL);
    END IF;
    RETURN NULL;
END $$""",
    (f"CREATE TRIGGER stat_stay_inserted AFTER INSERT ON stay FOR EACH ROW WHEN (NEW.status IN ({_COUNTED})) "
     "EXECUTE FUNCTION stat_note_stay_day()"),
    (f"CREATE TRIGGER stat_stay_deleted AFTER DELETE ON stay FOR EACH ROW WHEN (OLD.status IN ({_COUNTED})) "
     "EXECUTE FUNCTION stat_note_stay_day()"),
    f"CREATE TRIGGER stat_stay_updated AFTER UPDATE OF {', '.join(_STAY_FIELDS)} ON stay FOR EACH ROW WHEN ("
    + " OR ".join(f"OLD.{name} IS DISTINCT FROM NEW.{name}" for name in _STAY_FIELDS)
    + ") EXECUTE FUNCTION stat_note_stay_day()",
    f"CREATE TRIGGER stat_lodging_moved AFTER UPDATE OF {', '.join(_LODGING_FIELDS)} ON lodging FOR EACH ROW WHEN ("
    + " OR ".join(f"OLD.{name} IS DISTINCT FROM NEW.{name}" for name in _LODGING_FIELDS)
    + ") EXECUTE FUNCTION stat_note_lodging_moved()",
]

_SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER stat_stay_inserted AFTER INSERT ON stay WHEN NEW.status IN ({_COUNTED})
BEGIN INSERT INTO stat_dirty_day (day) VALUES (date(NEW.check_in_at)); END""",
    f"""CREATE TRIGGER stat_stay_deleted AFTER DELETE ON stay WHEN OLD.status IN ({_COUNTED})
BEGIN INSERT INTO stat_dirty_day (day) VALUES (date(OLD.check_in_at)); END""",
    f"""CREATE TRIGGER stat_stay_updated AFTER UPDATE OF {', '.join(_STAY_FIELDS)} ON stay
WHEN (OLD.status IN ({_COUNTED}) OR NEW.status IN ({_COUNTED}))
 AND ({' OR '.join(f'OLD.{name} IS NOT NEW.{name}' for name in _STAY_FIELDS)})
BEGIN
    INSERT INTO stat_dirty_day (day) SELECT date(OLD.check_in_at) WHERE OLD.status IN ({_COUNTED});
    INSERT INTO stat_dirty_day (day) SELECT date(NEW.check_in_at) WHERE NEW.status IN ({_COUNTED})
        AND NOT (OLD.status IN ({_COUNTED}) AND date(OLD.check_in_at) = date(NEW.check_in_at));
END""",
    f"""CREATE TRIGGER stat_lodging_moved AFTER UPDATE OF {', '.join(_LODGING_FIELDS)} ON lodging
WHEN ({' OR '.join(f'OLD.{name} IS NOT NEW.{name}' for name in _LODGING_FIELDS)})
 AND EXISTS (SELECT 1 FROM stay WHERE stay.lodging_id = NEW.id AND stay.status IN ({_COUNTED}))
BEGIN INSERT INTO stat_dirty_day (day) VALUES (NULL); END""",
]

_TRIGGER_NAMES = (("stat_stay_inserted", "stay"), ("stat_stay_deleted", "stay"), ("stat_stay_updated", "stay"),
                  ("stat_lodging_moved", "lodging"))


def create_triggers(connection) -> None:
    """The triggers that note changed days (for migrations; idempotent: existing ones are replaced)."""
    drop_triggers(connection)
    for statement in _POSTGRESQL_TRIGGERS if connection.dialect.name == "postgresql" else _SQLITE_TRIGGERS:
        connection.execute(text(statement))


def drop_triggers(connection) -> None:
    postgresql = connection.dialect.name == "postgresql"
    for name, table in _TRIGGER_NAMES:
        connection.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}" if postgresql else f"DROP TRIGGER IF EXISTS {name}"))
    if postgresql:
        connection.execute(text("DROP FUNCTION IF EXISTS stat_note_stay_day()"))
        connection.execute(text("DROP FUNCTION IF EXISTS stat_note_lodging_moved()"))


@dataclass
class Refreshed:
    days: int = 0  # lodging-local days counted again
    everything: bool = False  # the whole table was counted again
    seconds: float = 0.0
    skipped: bool = False  # another worker was refreshing


def refresh() -> Refreshed:
    """Count again the days noted since the last refresh, in one transaction: readers see the
    old counts and the noted days until it commits, then the new counts. Everything (a lodging
    moved, or the table was never filled) is counted a month at a time, each month in its own
    short transaction, so that writers never wait long (SQLite has one writer at a time): a
    marker of its own keeps the statistics on the stays until the last month is in."""
    started = clock.perf_counter()
    postgresql = db.engine.dialect.name == "postgresql"
    if postgresql and not db.session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": REFRESH_LOCK}).scalar():
        db.session.rollback()
        return Refreshed(skipped=True)
    noted = _take_noted_days(postgresql)
    result = Refreshed()
    if None in noted:
        marker = StatisticsDirtyDay(day=None)
        db.session.add(marker)
        db.session.commit()
        _count_everything(postgresql)
        db.session.execute(delete(StatisticsDirtyDay).where(StatisticsDirtyDay.id == marker.id))
        result.everything = True
        result.days = db.session.scalar(select(func.count(StatisticsDayCount.day.distinct())))
    elif noted:
        # A check-in's UTC date d is local day d or d + 1 (WIB, WITA and WIT are UTC+7 to +9).
        local_days = sorted({day + timedelta(days=shift) for day in noted for shift in (0, 1)})
        for index in range(0, len(local_days), DELETE_CHUNK):
            db.session.execute(delete(StatisticsDayCount).where(StatisticsDayCount.day.in_(local_days[index:index + DELETE_CHUNK])))
        for first, last in day_runs(local_days):
            _count((first, last))
        result.days = len(local_days)
    db.session.commit()
    result.seconds = clock.perf_counter() - started
    return result


def _count_everything(postgresql: bool) -> None:
    """Every day's counts again, a calendar month per transaction (and the counts of days no
    counted report has any more removed). A change while this runs is noted by the triggers and
    counted by the next refresh; on PostgreSQL each month waits for the lock, so a concurrent
    refresh of a few days never interleaves with a month's delete and insert."""
    first, last = db.session.execute(select(func.min(Stay.check_in_at), func.max(Stay.check_in_at))
                                     .where(Stay.status.in_(COUNTED_STATUSES))).one()
    if first is None:
        db.session.execute(delete(StatisticsDayCount))
        db.session.commit()
        return
    first_day, last_day = first.date(), last.date() + timedelta(days=1)  # local days of those UTC moments
    db.session.execute(delete(StatisticsDayCount).where((StatisticsDayCount.day < first_day) | (StatisticsDayCount.day > last_day)))
    db.session.commit()
    month_start = first_day
    while month_start <= last_day:
        next_month = (month_start.replace(day=1) + timedelta(days=32)).replace(day=1)
        month_end = min(next_month - timedelta(days=1), last_day)
        if postgresql:
            db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": REFRESH_LOCK})
        db.session.execute(delete(StatisticsDayCount).where(StatisticsDayCount.day >= month_start, StatisticsDayCount.day <= month_end))
        _count((month_start, month_end))
        db.session.commit()
        month_start = next_month


def _take_noted_days(postgresql: bool) -> set[date | None]:
    """Remove the noted days and return them. On PostgreSQL in one statement: a note committed
    by another transaction while this one runs is either taken here (and counted, since the
    counting statements come later) or left for the next refresh, never dropped uncounted.
    SQLite has one writer at a time, so the two statements see the same rows."""
    if postgresql:
        return set(db.session.execute(text(
            "WITH taken AS (DELETE FROM stat_dirty_day RETURNING day) SELECT DISTINCT day FROM taken")).scalars())
    days = set(db.session.execute(select(StatisticsDirtyDay.day).distinct()).scalars())
    db.session.execute(delete(StatisticsDirtyDay))
    return days


def _local_day(zone_name: str, offset: int):
    if db.engine.dialect.name == "sqlite":
        return local_day_column(zone_name, offset)  # 'YYYY-MM-DD', what a Date column holds on SQLite
    return cast(func.timezone(zone_name, Stay.check_in_at), Date)


def _count(days: tuple[date, date] | None) -> None:
    """Insert the counts of the local days ``days`` (first, last), or of every day."""
    columns = [StatisticsDayCount.day, StatisticsDayCount.office_id, StatisticsDayCount.province_code,
               StatisticsDayCount.regency_code, StatisticsDayCount.district_code, StatisticsDayCount.dimension,
               StatisticsDayCount.value, StatisticsDayCount.check_ins, StatisticsDayCount.late]
    for zone_name, offset, _provinces in _ZONES:
        day = _local_day(zone_name, offset).label("day")
        conditions = [Stay.status.in_(COUNTED_STATUSES), _zone_provinces(offset)]
        if days is not None:
            zone = timezone(timedelta(hours=offset))
            conditions += [Stay.check_in_at >= datetime.combine(days[0], time(0), tzinfo=zone),
                           Stay.check_in_at < datetime.combine(days[1] + timedelta(days=1), time(0), tzinfo=zone)]
        place = (Lodging.office_id, Lodging.province_code, Lodging.regency_code, Lodging.district_code)
        for dimension, value in DIMENSIONS.items():
            counts = (select(day, *place, literal(dimension), value, func.count(),
                             func.coalesce(func.sum(cast(Stay.late, Integer)), 0))
                      .select_from(Stay).join(Lodging, Lodging.id == Stay.lodging_id)
                      .where(*conditions).group_by(day, *place, value))
            db.session.execute(insert(StatisticsDayCount).from_select(columns, counts))
