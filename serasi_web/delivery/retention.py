"""Forgetting delivered events.

An outbox event carries the whole report as it was sent (names, document, dates): personal data
that has done its job once every forwarder has it. ``OUTBOX_KEEP_DAYS`` after the event was
written and after its last delivery, it is deleted with its delivery rows. An event that some
forwarder has not received (pending, failed, dead) is kept: it waits for the worker or a person.
The stay itself, its versions and the audit trail are not touched.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, exists, or_, select

from ..database import utcnow
from ..extensions import db
from .models import Delivery, DeliveryStatus, OutboxEvent

CHUNK = 1000  # events per transaction: SQLite's write lock is never held long


def purge_delivered(now: datetime | None = None, days: int | None = None) -> int:
    """Delete the events delivered everywhere more than ``days`` (by default ``OUTBOX_KEEP_DAYS``)
    ago; returns how many. The retention job passes the period of its policy."""
    if days is None:
        days = current_app.config["OUTBOX_KEEP_DAYS"]
    if not days or days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)
    still_needed = exists().where(Delivery.outbox_event_id == OutboxEvent.id, or_(
        Delivery.status != DeliveryStatus.DELIVERED, Delivery.delivered_at.is_(None), Delivery.delivered_at >= cutoff))
    removed = 0
    while True:
        ids = db.session.execute(select(OutboxEvent.id).where(
            OutboxEvent.dispatched_at.is_not(None), OutboxEvent.created_at < cutoff, ~still_needed,
        ).order_by(OutboxEvent.id).limit(CHUNK)).scalars().all()
        if not ids:
            return removed
        plain = {"synchronize_session": False}
        db.session.execute(delete(Delivery).where(Delivery.outbox_event_id.in_(ids)).execution_options(**plain))
        db.session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(ids)).execution_options(**plain))
        db.session.commit()
        removed += len(ids)
