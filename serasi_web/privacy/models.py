"""The retention policy (one row per kind of record that overrides the default), legal holds on
stays, and the log of the retention job's runs."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db


class RetentionSetting(db.Model):
    """How many days one kind of record is kept (0: for ever); no row means the default of
    ``serasi_web.privacy.retention.DEFAULT_DAYS``."""

    __tablename__ = "retention_setting"

    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(254), default="")


class LegalHold(db.Model):
    """An officer's order to keep a stay, and every stay of the same travel document, past the
    retention period (an investigation, a court case). Released holds stay as the record."""

    __tablename__ = "legal_hold"

    id: Mapped[int] = mapped_column(primary_key=True)
    stay_id: Mapped[int] = mapped_column(ForeignKey("stay.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    set_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    released_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    released_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    set_by = relationship("User", foreign_keys=[set_by_id])


class RetentionRun(db.Model):
    """One run of the retention job: the clock it used and what it did, kind by kind."""

    __tablename__ = "retention_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    clock: Mapped[datetime] = mapped_column(UTCDateTime)  # "now" for the periods (a test clock in tests)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SubjectAccessRequest(db.Model):
    """A foreigner's request to learn what is held about them (Law 27/2022 Art. 30-32), received
    by one office: the document it names, when and how it came. The answer is produced from it
    (HTML to print, JSON) as often as needed; each is audited."""

    __tablename__ = "subject_access_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("immigration_office.id", ondelete="RESTRICT"), index=True)
    document_number: Mapped[str] = mapped_column(String(20))
    issuing_state: Mapped[str] = mapped_column(String(3))
    received_on: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(20))  # email, letter, in_person, other
    reference: Mapped[str] = mapped_column(String(120), default="")  # the letter's or e-mail's own number
    recorded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)  # first time the answer was produced

    recorded_by = relationship("User", foreign_keys=[recorded_by_id])
