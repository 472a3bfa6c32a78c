"""What the console keeps: how far each officer has read the report inbox, and the daily counts behind the statistics."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database import UTCDateTime
from ..extensions import db


class InboxMark(db.Model):
    """The newest report event a console user has marked as seen; the inbox shows what came after."""

    __tablename__ = "inbox_mark"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    seen_until: Mapped[datetime] = mapped_column(UTCDateTime)


class StatisticsDayCount(db.Model):
    """Check-ins counted per lodging-local day and place, by one dimension (lodging type,
    nationality or stay permit): what the statistics page adds up instead of reading millions of
    stays (``officer/summaries.py`` keeps it; the days a change touched are read from the stays
    until the worker has counted them again, so the figures are always exact).

    A place is the lodgings' office and region codes, the finest units a console scope is made of.
    """

    __tablename__ = "stat_day_count"
    __table_args__ = (Index("ix_stat_day_count_dimension_day", "dimension", "day"),
                      Index("ix_stat_day_count_office_id_dimension_day", "office_id", "dimension", "day"))

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    office_id: Mapped[int | None] = mapped_column(Integer)  # no foreign key: a count, rebuilt when lodgings move
    province_code: Mapped[str] = mapped_column(String(2))
    regency_code: Mapped[str] = mapped_column(String(5))
    district_code: Mapped[str] = mapped_column(String(8))
    dimension: Mapped[str] = mapped_column(String(12))  # "lodging_type", "nationality" or "stay_permit"
    value: Mapped[str] = mapped_column(String(40))
    check_ins: Mapped[int] = mapped_column(Integer)
    late: Mapped[int] = mapped_column(Integer)


class StatisticsDirtyDay(db.Model):
    """A UTC check-in date whose counts changed since ``stat_day_count`` was last brought up to
    date; written by database triggers on ``stay`` (every path that changes a report, the
    worker's and the federation's included) and ``lodging`` (``day`` NULL: lodgings moved, count
    everything again). Append-only, so a writer never waits for the summary's refresh."""

    __tablename__ = "stat_dirty_day"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date | None] = mapped_column(Date)
