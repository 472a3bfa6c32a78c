"""The sending side's backfill: "send everything reported since date D" to the federation peer.

Stays reported since D (drafts and pseudonymised stays aside) are enqueued in id order, as one
outbox event each at their current version, with a delivery for the federation forwarder only
(the webhook and e-mail had their events when the stays were reported). Each chunk is one
transaction that also moves the cursor: a worker stopped halfway leaves the cursor at the last
chunk written, and the next step continues after it, with nothing doubled or skipped. The
receiver drops what it has already (same or older version).
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import func, select

from ..audit.services import record
from ..database import utcnow
from ..delivery.models import Delivery, DeliveryStatus, OutboxEvent
from ..delivery.outbox import event_payload
from ..extensions import db
from ..stays.models import Stay, StayStatus
from .models import BackfillStatus, FederationBackfill

FORWARDER = "federation"
CHUNK = 200
EVENT_OF_STATUS = {StayStatus.REPORTED: "reported", StayStatus.CHECKED_OUT: "checked_out", StayStatus.VOIDED: "voided"}


def _since(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _eligible(backfill: FederationBackfill):
    return select(Stay).where(Stay.reported_at >= _since(backfill.since), Stay.status.in_(list(EVENT_OF_STATUS)),
                              Stay.pseudonymised_at.is_(None))


def idempotency_prefix(backfill: FederationBackfill) -> str:
    return f"backfill-{backfill.id}-"


def start(since: date, admin) -> FederationBackfill:
    """Record a backfill from ``since`` (the worker does the sending); the stays it will send are
    counted now, for the progress shown."""
    backfill = FederationBackfill(since=since, status=BackfillStatus.RUNNING, cursor_stay_id=0, enqueued=0,
                                  created_by_id=getattr(admin, "id", None), created_at=utcnow())
    db.session.add(backfill)
    db.session.flush()
    backfill.total = db.session.scalar(select(func.count()).select_from(_eligible(backfill).subquery())) or 0
    record("federation.backfill_started", backfill, admin, changes={"since": since.isoformat(), "total": backfill.total})
    db.session.commit()
    return backfill


def cancel(backfill: FederationBackfill, admin) -> bool:
    if backfill.status != BackfillStatus.RUNNING:
        return False
    backfill.status, backfill.finished_at = BackfillStatus.CANCELLED, utcnow()
    record("federation.backfill_cancelled", backfill, admin, changes={"enqueued": backfill.enqueued})
    db.session.commit()
    return True


def step(backfill_id: int, limit: int = CHUNK) -> int:
    """Enqueue the next ``limit`` stays of a running backfill in one transaction; returns how many
    (0 when it is finished, cancelled or held by another worker right now). On SQLite, which
    has no row lock, two workers may read the same chunk: the events' unique idempotency keys
    make the second transaction fail whole, so nothing is enqueued twice."""
    query = select(FederationBackfill).where(FederationBackfill.id == backfill_id, FederationBackfill.status == BackfillStatus.RUNNING)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # two workers never enqueue the same chunk
    backfill = db.session.execute(query).scalar_one_or_none()
    if backfill is None:
        db.session.rollback()
        return 0
    stays = db.session.execute(_eligible(backfill).where(Stay.id > backfill.cursor_stay_id).order_by(Stay.id).limit(limit)).scalars().all()
    now = utcnow()
    prefix = idempotency_prefix(backfill)
    for stay in stays:
        payload = event_payload(EVENT_OF_STATUS[stay.status], stay)
        payload["idempotency_key"] = f"{prefix}stay-{stay.id}-v{stay.version}"
        event = OutboxEvent(stay_id=stay.id, lodging_id=stay.lodging_id, event=payload["event"], stay_version=stay.version,
                            idempotency_key=payload["idempotency_key"], payload=payload, created_at=now, dispatched_at=now)
        db.session.add(event)
        db.session.flush()
        db.session.add(Delivery(outbox_event_id=event.id, stay_id=stay.id, forwarder=FORWARDER, status=DeliveryStatus.PENDING,
                                attempts=0, next_attempt_at=now, created_at=now, updated_at=now))
    if stays:
        backfill.cursor_stay_id = stays[-1].id
        backfill.enqueued += len(stays)
    if len(stays) < limit:
        backfill.status, backfill.finished_at = BackfillStatus.DONE, now
    db.session.commit()
    return len(stays)


def run(backfill_id: int, limit: int = CHUNK) -> int:
    """Every remaining chunk of one backfill; returns how many stays were enqueued."""
    total = 0
    while (count := step(backfill_id, limit)):
        total += count
    return total


def run_running() -> int:
    """Continue every running backfill (the worker's periodic task: a backfill interrupted by a
    restart goes on from its cursor)."""
    ids = db.session.execute(select(FederationBackfill.id).where(FederationBackfill.status == BackfillStatus.RUNNING)
                             .order_by(FederationBackfill.id)).scalars().all()
    db.session.commit()
    return sum(run(backfill_id) for backfill_id in ids)


def progress(backfill: FederationBackfill) -> dict:
    """How far a backfill is: enqueued, delivered and refused (waiting for a person) so far."""
    counts = dict(db.session.execute(
        select(Delivery.status, func.count()).join(OutboxEvent, Delivery.outbox_event_id == OutboxEvent.id)
        .where(Delivery.forwarder == FORWARDER, OutboxEvent.idempotency_key.like(idempotency_prefix(backfill) + "%"))
        .group_by(Delivery.status)).all())
    return {"total": backfill.total, "enqueued": backfill.enqueued, "delivered": counts.get(DeliveryStatus.DELIVERED, 0),
            "pending": counts.get(DeliveryStatus.PENDING, 0),
            "refused": counts.get(DeliveryStatus.FAILED, 0) + counts.get(DeliveryStatus.DEAD, 0)}
