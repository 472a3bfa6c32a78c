"""Lodgings: the places where foreigners stay, each routed to the office covering its address."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Optional

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db

if TYPE_CHECKING:
    from ..accounts.models import User
    from ..offices.models import ImmigrationOffice


class LodgingStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    # Verified before, then stopped by an officer (an inspection, a closed business): no new
    # receipts, and the existing ones say so on /verify, until the suspension is lifted.
    SUSPENDED = "suspended"


class Lodging(db.Model):
    __tablename__ = "lodging"
    __table_args__ = (Index("ix_lodging_office_id_status", "office_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(160))
    lodging_type: Mapped[str] = mapped_column(String(40))
    street_address: Mapped[str] = mapped_column(String(300))
    province_code: Mapped[str] = mapped_column(String(2))
    regency_code: Mapped[str] = mapped_column(String(5), index=True)
    district_code: Mapped[str] = mapped_column(String(8), index=True)
    village_code: Mapped[str] = mapped_column(String(13))
    postal_code: Mapped[str] = mapped_column(String(5), default="")
    nib: Mapped[Optional[str]] = mapped_column(String(13))
    room_count: Mapped[Optional[int]] = mapped_column(Integer)
    person_in_charge: Mapped[str] = mapped_column(String(120))
    # A private host's national identity number (NIK): personal data, shown only to the owner and
    # the officers of the lodging's office, never put in a URL, a log line or an event payload.
    host_nik: Mapped[Optional[str]] = mapped_column(String(16))
    phone: Mapped[str] = mapped_column(String(30))
    # The extra fields of the lodging's type (from its plugin), e.g. a company mess's employer.
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    # Set on a lodging another instance mirrors here (serasi_web/federation): read-only here.
    federation_peer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("federation_peer.id", ondelete="RESTRICT"), index=True)

    office_id: Mapped[Optional[int]] = mapped_column(ForeignKey("immigration_office.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=LodgingStatus.PENDING)
    rejection_reason: Mapped[Optional[str]] = mapped_column(Text)
    decided_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    suspended_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    suspension_reason: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    owner: Mapped["User"] = relationship(foreign_keys=[owner_id])
    decided_by: Mapped[Optional["User"]] = relationship(foreign_keys=[decided_by_id])
    office: Mapped[Optional["ImmigrationOffice"]] = relationship()
