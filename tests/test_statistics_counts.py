"""The statistics' daily counts (officer/summaries.py): the page adds up ``stat_day_count``
instead of the stays, and is exact at every moment: a report added, corrected, voided or moved
after the worker last counted is seen at once (its day is read from the stays), and the worker's
refresh leaves the same figures. Each comparison is with the same tables counted from the stays."""
from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from serasi_web.extensions import db
from serasi_web.lodgings.models import Lodging
from serasi_web.officer import stats, summaries
from serasi_web.officer.models import StatisticsDayCount, StatisticsDirtyDay
from serasi_web.officer.scope import Scope
from serasi_web.offices.models import ImmigrationOffice as Office
from serasi_web.stays.models import Stay

from .helpers import (
    JAKARTA_BARAT,
    guest_form,
    local_now,
    make_lodging,
    make_officer_area,
    recorded_statements,
    report_guest,
)

KEYS = list(stats.TABLES)


@pytest.fixture
def area(app, operator, offices):
    lodgings = make_officer_area(operator)
    lodgings.jakarta = make_lodging(operator, JAKARTA_BARAT, name="Kos Jakarta", lodging_type="hotel")
    lodgings.jakarta.status = "verified"
    db.session.commit()
    return lodgings


@pytest.fixture
def reports(area, operator_client):
    """Guests over the last 40 days in Bali (WITA) and Jakarta (WIB), some checked in just after
    local midnight (the previous day in UTC), one late, one voided, one a draft."""
    made = []
    nationalities = ["SWE", "JPN", "AUS", "AUS", "FRA", "CHN"]
    for number in range(18):
        lodging = [area.jimbaran, area.legian, area.sanur, area.jakarta][number % 4]
        zone = "Asia/Jakarta" if lodging is area.jakarta else "Asia/Makassar"
        # Hours back chosen to land on many days, several just after local midnight.
        hours_back = -(number * 53 % 960) - 1
        nationality = nationalities[number % len(nationalities)]
        made.append(report_guest(operator_client, lodging, check_in_at=local_now(zone, delta_hours=hours_back),
                                 nationality=nationality, issuing_state=nationality, document_number=f"X{number:07d}",
                                 stay_permit="voa" if number % 3 else "", visa_index="B1" if number % 3 else "C1",
                                 entry_date=(date.today() - timedelta(days=42)).isoformat()))
    operator_client.post(f"/stays/{made[5]}/void", data={"reason": "Never arrived"})
    report_guest(operator_client, area.legian, action="draft", document_number="DRAFT0001")
    return made


def all_scopes() -> list[Scope]:
    office_ids = db.session.scalars(select(Office.id)).all()
    return [*(Scope(office_id=office_id) for office_id in office_ids),
            Scope(regency_codes=("51.03",)), Scope(district_codes=("51.71.01", "31.73.01")), Scope(regency_codes=("31.73",))]


def periods() -> list[stats.Period]:
    today = date.today()
    return [stats.default_period(today), stats.Period(today - timedelta(days=365), today),
            stats.Period(today - timedelta(days=3), today - timedelta(days=3)), stats.Period(today - timedelta(days=20), today + timedelta(days=1))]


def assert_counts_equal_the_stays() -> int:
    """Every scope and period: the tables from the counts equal the tables from the stays; the
    number of check-ins compared (so a test cannot pass on empty tables)."""
    compared = 0
    for scope in all_scopes():
        for period in periods():
            counted = stats.tables(KEYS, scope, period, "en")
            from_stays = stats.tables(KEYS, scope, period, "en", use_counts=False)
            assert [(table.key, table.rows) for table in counted] == [(table.key, table.rows) for table in from_stays], (scope, period)
            compared += sum(row[1] for row in from_stays[0].rows)  # per_day
    return compared


def test_counted_days_give_the_same_tables_as_the_stays_for_every_scope_and_period(app, reports):
    before = assert_counts_equal_the_stays()  # nothing counted yet: the noted days come from the stays
    assert before > 0
    result = summaries.refresh()
    assert not result.skipped and (result.everything or result.days > 0)
    assert db.session.scalar(select(func.count()).select_from(StatisticsDirtyDay)) == 0
    assert db.session.scalar(select(func.sum(StatisticsDayCount.check_ins)).where(StatisticsDayCount.dimension == "nationality")) == 17  # 18 reported, 1 voided
    assert assert_counts_equal_the_stays() == before


def test_once_counted_the_statistics_page_reads_no_stay_and_no_lodging(app, officer_client, reports):
    summaries.refresh()
    with recorded_statements() as statements:
        page = officer_client.get("/officer/statistics?start=" + (date.today() - timedelta(days=365)).isoformat()
                                  + "&end=" + date.today().isoformat(), headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Sweden (SWE)" in page
    assert not [statement for statement in statements if re.search(r"\bFROM stay\b", statement)]
    assert not [statement for statement in statements if re.match(r"SELECT [^(]* FROM lodging\b", statement)]
    assert len([statement for statement in statements if re.search(r"\bFROM stat_day_count\b", statement)]) == 3  # one per pass


def test_changes_after_counting_are_seen_at_once_and_counted_by_the_next_refresh(app, operator_client, area, reports):
    summaries.refresh()
    ngurah_rai = Scope(office_id=area.jimbaran.office_id)
    period = stats.Period(date.today() - timedelta(days=60), date.today())

    def nationalities() -> dict[str, int]:
        return {row[0]: row[1] for row in stats.table("nationality", ngurah_rai, period, "en").rows}

    before = nationalities()
    # A new report, a correction of the nationality, a void, a check-out (no change in the counts).
    report_guest(operator_client, area.jimbaran, nationality="NZL", issuing_state="NZL", document_number="NZ0000001",
                 check_in_at=local_now(delta_hours=-30))
    corrected = next(stay for stay in db.session.scalars(select(Stay).where(Stay.lodging_id == area.legian.id,
                                                                             Stay.status == "reported", Stay.nationality == "AUS")))
    form = guest_form(nationality="DEU", issuing_state="DEU", document_number=corrected.document_number,
                      check_in_at=corrected.check_in_at.astimezone(ZoneInfo("Asia/Makassar")).strftime("%Y-%m-%dT%H:%M"),
                      stay_permit=corrected.stay_permit, visa_index=corrected.visa_index,
                      entry_date=corrected.entry_date.isoformat(), reason="Wrong country")
    form.pop("action")
    assert operator_client.post(f"/stays/{corrected.id}/correct", data=form).status_code == 303
    voided = next(stay for stay in db.session.scalars(select(Stay).where(Stay.lodging_id == area.jimbaran.id, Stay.status == "reported")))
    operator_client.post(f"/stays/{voided.id}/void", data={"reason": "Reported twice"})
    after = nationalities()
    assert after.get("New Zealand (NZL)") == 1 and after.get("Germany (DEU)") == 1
    assert sum(after.values()) == sum(before.values())  # one added, one voided
    assert assert_counts_equal_the_stays() > 0
    assert summaries.refresh().days > 0
    assert nationalities() == after and assert_counts_equal_the_stays() > 0


def test_a_lodging_moved_to_another_office_is_counted_again_in_full(app, area, reports):
    summaries.refresh()
    denpasar = Scope(office_id=area.sanur.office_id)
    period = stats.Period(date.today() - timedelta(days=365), date.today())
    before = sum(row[1] for row in stats.table("lodging_type", denpasar, period, "en").rows)
    moved = db.session.get(Lodging, area.legian.id)
    moved_reports = db.session.scalar(select(func.count()).select_from(Stay).where(Stay.lodging_id == moved.id,
                                                                                    Stay.status.in_(stats.COUNTED_STATUSES)))
    assert moved_reports > 0
    moved.office_id = area.sanur.office_id  # as rerouting after the offices' areas changed does
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(StatisticsDirtyDay).where(StatisticsDirtyDay.day.is_(None))) == 1
    assert sum(row[1] for row in stats.table("lodging_type", denpasar, period, "en").rows) == before + moved_reports
    assert summaries.refresh().everything
    assert sum(row[1] for row in stats.table("lodging_type", denpasar, period, "en").rows) == before + moved_reports
    assert assert_counts_equal_the_stays() > 0


def test_renaming_a_lodging_does_not_count_everything_again(app, area, reports):
    summaries.refresh()
    lodging = db.session.get(Lodging, area.legian.id)
    lodging.name = "Hotel Legian Baru"
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(StatisticsDirtyDay)) == 0


def test_the_command_counts_now(app, reports):
    result = app.test_cli_runner().invoke(args=["serasi", "statistics-counts"])
    assert result.exit_code == 0 and "Counted again" in result.output
    assert db.session.scalar(select(func.count()).select_from(StatisticsDirtyDay)) == 0
    assert db.session.scalar(select(func.count()).select_from(StatisticsDayCount)) > 0


def test_the_worker_task_counts_every_minute(app, reports):
    from serasi_web.jobs import get_huey

    huey = get_huey(app)
    assert "serasi.statistics_counts" in {task.__name__ for task in huey._registry._periodic_tasks}
    assert huey.serasi_tasks["statistics_counts"].call_local() > 0
    assert huey.serasi_tasks["statistics_counts"].call_local() == 0  # nothing changed since
    assert assert_counts_equal_the_stays() > 0
