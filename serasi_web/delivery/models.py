"""The transactional outbox: one row per stay event, written in the same transaction as the event."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db


class OutboxEvent(db.Model):
    """A stay event waiting to be delivered to every configured forwarder.

    ``payload`` is the event as forwarders receive it (see ``serasi_web.delivery.outbox``); it is
    the proof of what was sent. Delivery state per forwarder lives in its own table.
    """

    __tablename__ = "outbox_event"
    __table_args__ = (Index("ix_outbox_event_stay_id_id", "stay_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stay_id: Mapped[int] = mapped_column(ForeignKey("stay.id", ondelete="CASCADE"))
    lodging_id: Mapped[int] = mapped_column(ForeignKey("lodging.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(20))  # reported, corrected, checked_out, voided
    stay_version: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # deliveries created


class DeliveryStatus:
    """Where one event stands with one forwarder."""

    PENDING = "pending"      # waiting for its first attempt or a retry (``next_attempt_at``)
    DELIVERED = "delivered"
    FAILED = "failed"        # refused for good (a 4xx other than 408/429): waits for a person
    DEAD = "dead"            # still failing after ``DELIVERY_MAX_ATTEMPTS``: waits for a person
    ALL = ("pending", "delivered", "failed", "dead")


class Delivery(db.Model):
    """One outbox event for one forwarder: its attempts and outcome.

    A worker claims a due row by setting ``claimed_until`` (a lease) and ``claim_token``; a worker
    killed mid-delivery leaves the lease to run out, and another worker takes the row again (the
    receiver drops the repeat by its idempotency key).
    """

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("outbox_event_id", "forwarder"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
        Index("ix_delivery_stay_id_forwarder_outbox_event_id", "stay_id", "forwarder", "outbox_event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_event_id: Mapped[int] = mapped_column(ForeignKey("outbox_event.id", ondelete="CASCADE"))
    stay_id: Mapped[int] = mapped_column(Integer)  # copied from the event: ordering per stay without a join
    forwarder: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(12), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[OutboxEvent] = relationship()
