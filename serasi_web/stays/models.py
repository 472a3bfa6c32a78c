"""Guest stay reports, their versions and groups.

A ``Stay`` row holds the current values (what lists and searches read); every change adds a
``StayVersion`` with the whole snapshot, so the office sees the history.
"""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Optional

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db

if TYPE_CHECKING:
    from ..accounts.models import User
    from ..lodgings.models import Lodging


class StayStatus(StrEnum):
    DRAFT = "draft"
    REPORTED = "reported"
    CHECKED_OUT = "checked_out"
    VOIDED = "voided"


OPEN_STATUSES = (StayStatus.DRAFT.value, StayStatus.REPORTED.value)
# Dates a draft may leave empty: a property system that has no place for them (Beds24: no
# passport; Cloudbeds: no entry date) brings a draft the operator completes. Anything past a
# draft has them: the database refuses a report without them (migration 0025), but not a draft
# voided before it was ever submitted (0027).
DRAFT_OPTIONAL_DATES = ("date_of_birth", "document_expiry", "entry_date")


class StayGroup(db.Model):
    """A family or group sharing dates and room, reported in one flow."""

    __tablename__ = "stay_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    lodging_id: Mapped[int] = mapped_column(ForeignKey("lodging.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    check_in_at: Mapped[datetime] = mapped_column(UTCDateTime)
    planned_check_out: Mapped[Optional[date]] = mapped_column(Date)
    room: Mapped[str] = mapped_column(String(40), default="")
    purpose: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    lodging: Mapped["Lodging"] = relationship()
    members: Mapped[list["Stay"]] = relationship(back_populates="group", order_by="Stay.id")


class Stay(db.Model):
    __tablename__ = "stay"
    __table_args__ = (
        UniqueConstraint("lodging_id", "form_token", name="uq_stay_lodging_id_form_token"),
        Index("ix_stay_lodging_id_status_check_in_at", "lodging_id", "status", "check_in_at"),
        Index("ix_stay_lodging_id_updated_at", "lodging_id", "updated_at"),
        Index("ix_stay_document", "document_number", "issuing_state"),
        Index("ix_stay_lodging_id_name_folded", "lodging_id", "name_folded"),
        # The operator's lists and document search (migration 0009).
        Index("ix_stay_lodging_id_document", "lodging_id", "document_number", "issuing_state"),
        Index("ix_stay_lodging_id_check_in_at", "lodging_id", "check_in_at"),
        Index("ix_stay_lodging_id_status_checked_out_at", "lodging_id", "status", "checked_out_at"),
        # A stay pushed or imported from another system is found again by that system's own id.
        UniqueConstraint("lodging_id", "source", "external_id", name="uq_stay_lodging_id_source_external_id"),
        # A draft voided before it was submitted (a cancelled booking) keeps the gaps it had (0027).
        *(CheckConstraint(f"status IN ('draft', 'voided') OR {name} IS NOT NULL", name=f"{name}_unless_draft")
          for name in DRAFT_OPTIONAL_DATES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lodging_id: Mapped[int] = mapped_column(ForeignKey("lodging.id", ondelete="RESTRICT"))
    group_id: Mapped[Optional[int]] = mapped_column(ForeignKey("stay_group.id", ondelete="SET NULL"), index=True)
    accompanying_stay_id: Mapped[Optional[int]] = mapped_column(ForeignKey("stay.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=StayStatus.DRAFT)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # One random token per rendered form: a double click or a resent POST finds the stay it made.
    form_token: Mapped[Optional[str]] = mapped_column(String(43))
    # Where the report came from: "form", or an adapter ("api", "spreadsheet", "roster" ...),
    # with that system's id for it and a hash of the content it last sent (idempotent upserts).
    source: Mapped[str] = mapped_column(String(40), default="form")
    external_id: Mapped[Optional[str]] = mapped_column(String(100))
    external_hash: Mapped[Optional[str]] = mapped_column(String(64))
    # Identity
    surname: Mapped[str] = mapped_column(String(100))
    given_names: Mapped[str] = mapped_column(String(100), default="")
    name_folded: Mapped[str] = mapped_column(String(201), default="")  # lower case, accents removed: for search
    sex: Mapped[str] = mapped_column(String(1))
    date_of_birth: Mapped[Optional[date]] = mapped_column(Date)  # NULL only on a draft (DRAFT_OPTIONAL_DATES)
    place_of_birth: Mapped[str] = mapped_column(String(100), default="")
    nationality: Mapped[str] = mapped_column(String(3))
    # Travel document
    document_type: Mapped[str] = mapped_column(String(10), default="passport")
    document_number: Mapped[str] = mapped_column(String(20))
    issuing_state: Mapped[str] = mapped_column(String(3))
    document_expiry: Mapped[Optional[date]] = mapped_column(Date)  # NULL only on a draft (DRAFT_OPTIONAL_DATES)
    # Entry and stay permit
    entry_date: Mapped[Optional[date]] = mapped_column(Date)  # NULL only on a draft (DRAFT_OPTIONAL_DATES)
    port_of_entry: Mapped[str] = mapped_column(String(100), default="")
    stay_permit: Mapped[str] = mapped_column(String(20))
    visa_index: Mapped[str] = mapped_column(String(12), default="")
    permit_number: Mapped[str] = mapped_column(String(40), default="")
    permit_valid_until: Mapped[Optional[date]] = mapped_column(Date)
    entry_stamp_qr: Mapped[str] = mapped_column(Text, default="")
    # The stay
    check_in_at: Mapped[datetime] = mapped_column(UTCDateTime)
    planned_check_out: Mapped[Optional[date]] = mapped_column(Date)
    room: Mapped[str] = mapped_column(String(40), default="")
    purpose: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str] = mapped_column(Text, default="")
    # Computed
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reported_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    receipt_number: Mapped[Optional[str]] = mapped_column(String(20), unique=True)
    lodging_pending_at_report: Mapped[bool] = mapped_column(Boolean, default=False)
    checked_out_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    check_out_reported_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    check_out_late: Mapped[bool] = mapped_column(Boolean, default=False)
    void_reason: Mapped[Optional[str]] = mapped_column(Text)
    voided_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Set by the retention job when the guest's identity was removed (docs/privacy.md).
    pseudonymised_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    lodging: Mapped["Lodging"] = relationship()
    group: Mapped[Optional[StayGroup]] = relationship(back_populates="members")
    accompanying: Mapped[Optional["Stay"]] = relationship(remote_side=[id])
    created_by: Mapped[Optional["User"]] = relationship()
    versions: Mapped[list["StayVersion"]] = relationship(back_populates="stay", order_by="StayVersion.version",
                                                         cascade="all, delete-orphan")

    @property
    def full_name(self) -> str:
        return f"{self.given_names} {self.surname}".strip()

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class StayVersion(db.Model):
    __tablename__ = "stay_version"
    __table_args__ = (UniqueConstraint("stay_id", "version", name="uq_stay_version_stay_id_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stay_id: Mapped[int] = mapped_column(ForeignKey("stay.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))  # created, submitted, corrected, checked_out, voided
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    changed_by_label: Mapped[str] = mapped_column(String(120), default="")
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"field": [old, new]}

    stay: Mapped[Stay] = relationship(back_populates="versions")
    changed_by: Mapped[Optional["User"]] = relationship()
