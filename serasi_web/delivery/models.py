"""The transactional outbox: one row per stay event, written in the same transaction as the event."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

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
