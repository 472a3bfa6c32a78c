"""Self check-in: the per-lodging setting with its poster code, and the arrivals guests send.

An arrival holds the guests' details only until the operator decides: approval turns each guest
into a report (``Stay``) and keeps just the link to it; rejection, deletion and expiry remove the
details. The guest's status page is reached by a random capability whose hash alone is stored.
"""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db

if TYPE_CHECKING:
    from ..lodgings.models import Lodging
    from ..stays.models import Stay

DEFAULT_EXPIRY_HOURS = 72


class SelfCheckIn(db.Model):
    """A lodging's self check-in: on or off, its poster code, the operator's preferences."""

    __tablename__ = "self_check_in"

    id: Mapped[int] = mapped_column(primary_key=True)
    lodging_id: Mapped[int] = mapped_column(ForeignKey("lodging.id", ondelete="CASCADE"), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Printed on the poster and in its QR code; rotating it replaces it (the old one stops working).
    poster_code: Mapped[str] = mapped_column(String(16), unique=True)
    notify_by_email: Mapped[bool] = mapped_column(Boolean, default=False)
    expiry_hours: Mapped[int] = mapped_column(Integer, default=DEFAULT_EXPIRY_HOURS)
    code_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lodging: Mapped[Lodging] = relationship()


class ArrivalStatus(StrEnum):
    COLLECTING = "collecting"  # the guest is still adding the party's members
    WAITING = "waiting"  # sent: waiting for the operator
    APPROVED = "approved"  # reported: each guest is a Stay now
    REJECTED = "rejected"


class Arrival(db.Model):
    """One party's visit to the guest page: its stay dates and its guests."""

    __tablename__ = "arrival"
    __table_args__ = (Index("ix_arrival_lodging_id_status", "lodging_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lodging_id: Mapped[int] = mapped_column(ForeignKey("lodging.id", ondelete="CASCADE"))
    # sha256 of the status page's capability; the capability itself is only in the guest's link.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=ArrivalStatus.COLLECTING)
    language: Mapped[str] = mapped_column(String(8), default="id")
    email: Mapped[str] = mapped_column(String(254), default="")
    # What the guest said; the operator confirms or changes them when approving.
    check_in_at: Mapped[datetime] = mapped_column(UTCDateTime)
    planned_check_out: Mapped[date | None] = mapped_column(Date)
    purpose: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Waiting (or unsent) arrivals are deleted at this time; decided ones when their status page ends.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("stay_group.id", ondelete="SET NULL"))
    reject_reason: Mapped[str] = mapped_column(Text, default="")

    lodging: Mapped[Lodging] = relationship()
    guests: Mapped[list[ArrivalGuest]] = relationship(back_populates="arrival", order_by="ArrivalGuest.position",
                                                        cascade="all, delete-orphan")


class ArrivalGuest(db.Model):
    """One member of the party: the report's guest fields as typed, until approval."""

    __tablename__ = "arrival_guest"

    id: Mapped[int] = mapped_column(primary_key=True)
    arrival_id: Mapped[int] = mapped_column(ForeignKey("arrival.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    # GUEST_FIELDS as JSON (dates as ISO text); emptied once the guest is reported.
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # A minor's adult: the position of another member of the party.
    adult_position: Mapped[int | None] = mapped_column(Integer)
    stay_id: Mapped[int | None] = mapped_column(ForeignKey("stay.id", ondelete="SET NULL"))

    arrival: Mapped[Arrival] = relationship(back_populates="guests")
    stay: Mapped[Stay | None] = relationship()
