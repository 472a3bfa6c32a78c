"""Moving outbox events to the forwarders: claim, deliver, record, retry with backoff.

Two steps, both safe to run in any number of workers at once:

1. ``dispatch_new_events``: for each outbox event not yet dispatched, one ``Delivery`` row per
   configured forwarder (claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the
   claiming ``UPDATE`` takes the database's write lock, i.e. an immediate transaction).
2. ``deliver_due``: claim due deliveries with a lease (same locking), call the forwarders
   outside any transaction, then record every outcome in one transaction.

A stay's events reach a forwarder in outbox order: a delivery is only due when no earlier event
of the same stay is still pending for that forwarder. Failed and dead deliveries (waiting for a
person) do not hold the later ones back; the receiver sees the newest version anyway.
"""
from __future__ import annotations

import logging
import random
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import case, or_, select, text, update

from ..database import utcnow
from ..extensions import db
from .forwarders import DeliveryFailed, describe_exception
from .models import Delivery, DeliveryStatus, OutboxEvent

log = logging.getLogger(__name__)


def configured_forwarders(app: Flask | None = None) -> dict:
    """The registered forwarders whose settings are present, by name."""
    from ..plugins import registry

    app = app or current_app
    found = {}
    for forwarder in registry().forwarders:
        try:
            if forwarder.configured(app):
                found[forwarder.name] = forwarder
        except Exception:  # noqa: BLE001 - one broken forwarder must not stop the others
            log.exception("forwarder %s failed in configured()", getattr(forwarder, "name", forwarder))
    return found


def _is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def dispatch_new_events(limit: int = 500) -> int:
    """Create the deliveries of up to ``limit`` undispatched outbox events; returns how many events.

    With no forwarder configured (none installed, or the plugin that brings them failed to load)
    the events stay undispatched: marked dispatched with no delivery row they would never be
    sent. They are dispatched, in order, on the first turn that finds a forwarder."""
    names = sorted(configured_forwarders())
    if not names:
        return 0
    now = utcnow()
    skip_locked = " FOR UPDATE SKIP LOCKED" if _is_postgres() else ""
    try:
        rows = db.session.execute(text(
            "UPDATE outbox_event SET dispatched_at = :now WHERE id IN ("
            " SELECT id FROM outbox_event WHERE dispatched_at IS NULL ORDER BY id LIMIT :limit" + skip_locked +
            ") RETURNING id, stay_id"), {"now": _bind_time(now), "limit": limit}).all()
        if rows:
            db.session.execute(Delivery.__table__.insert(), [
                {"outbox_event_id": event_id, "stay_id": stay_id, "forwarder": name, "status": DeliveryStatus.PENDING,
                 "attempts": 0, "next_attempt_at": now, "created_at": now, "updated_at": now}
                for event_id, stay_id in sorted(rows) for name in names])
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return len(rows)


def _bind_time(moment: datetime):
    # Raw SQL bypasses UTCDateTime: SQLite stores naive UTC, PostgreSQL an aware timestamp.
    return moment.replace(tzinfo=None) if db.engine.dialect.name == "sqlite" else moment


@dataclass
class Outcome:
    delivery_id: int
    token: str
    delivered: bool
    retry: bool = True
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    attempts: int | None = None  # the delivery's attempts so far, this one included


def claim_due(limit: int, lease_seconds: float) -> tuple[str, list[int]]:
    """Lease up to ``limit`` due deliveries to this worker; returns the claim token and the ids."""
    now = utcnow()
    token = secrets.token_hex(16)
    skip_locked = " FOR UPDATE SKIP LOCKED" if _is_postgres() else ""
    try:
        ids = db.session.execute(text(
            "UPDATE delivery SET claimed_until = :lease, claim_token = :token, attempts = attempts + 1, updated_at = :now"
            " WHERE id IN ("
            "  SELECT d.id FROM delivery d"
            "  WHERE d.status = 'pending' AND d.next_attempt_at <= :now"
            "   AND (d.claimed_until IS NULL OR d.claimed_until < :now)"
            "   AND NOT EXISTS (SELECT 1 FROM delivery e WHERE e.stay_id = d.stay_id AND e.forwarder = d.forwarder"
            "                   AND e.outbox_event_id < d.outbox_event_id AND e.status = 'pending')"
            "  ORDER BY d.next_attempt_at, d.id LIMIT :limit" + skip_locked +
            ") RETURNING id"),
            {"lease": _bind_time(now + timedelta(seconds=lease_seconds)), "token": token, "now": _bind_time(now),
             "limit": limit}).scalars().all()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return token, sorted(ids)


def _claimed_work(ids: list[int]) -> list[tuple[int, str, int, dict]]:
    """(delivery id, forwarder, attempts, payload) of the claimed deliveries, in one query."""
    rows = db.session.execute(
        select(Delivery.id, Delivery.forwarder, Delivery.attempts, OutboxEvent.payload)
        .join(OutboxEvent, Delivery.outbox_event_id == OutboxEvent.id).where(Delivery.id.in_(ids)).order_by(Delivery.id)).all()
    db.session.commit()  # nothing held open while the forwarders talk to the network
    return [tuple(row) for row in rows]


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter in [50 %, 150 %] of ``base * 2**(attempts-1)``, capped."""
    return min(cap, base * 2 ** max(0, attempts - 1)) * random.uniform(0.5, 1.5)


def _attempt(forwarder, payload: dict, delivery_id: int, token: str) -> Outcome:
    try:
        result = forwarder.deliver(payload)
    except DeliveryFailed as failure:
        return Outcome(delivery_id, token, False, retry=failure.retry, status_code=failure.status_code,
                       error=str(failure)[:2000], retry_after=failure.retry_after)
    except Exception as error:  # noqa: BLE001 - any other error (timeout, refused connection ...) retries
        return Outcome(delivery_id, token, False, retry=True, error=describe_exception(error)[:2000])
    status_code = getattr(result, "status_code", None)
    return Outcome(delivery_id, token, True, status_code=status_code)


def record(outcomes: list[Outcome], attempts: dict[int, int] | None = None) -> None:
    """Write the outcomes, only for rows this worker still holds (an expired lease lost them):
    the successes in one statement, each failure with its own next attempt."""
    config = current_app.config
    now = utcnow()
    held = (Delivery.status == DeliveryStatus.PENDING)
    delivered = [outcome for outcome in outcomes if outcome.delivered]
    if delivered:
        by_code: dict[int | None, list[Outcome]] = {}
        for outcome in delivered:
            by_code.setdefault(outcome.status_code, []).append(outcome)
        for status_code, group in by_code.items():
            db.session.execute(update(Delivery).where(
                Delivery.id.in_([outcome.delivery_id for outcome in group]), Delivery.claim_token == group[0].token, held).values(
                status=DeliveryStatus.DELIVERED, delivered_at=now, updated_at=now, last_error=None, last_status_code=status_code,
                claimed_until=None, claim_token=None), execution_options={"synchronize_session": False})
    for outcome in outcomes:
        if outcome.delivered:
            continue
        tries = (attempts or {}).get(outcome.delivery_id, outcome.attempts)
        if tries is None:
            tries = db.session.scalar(select(Delivery.attempts).where(Delivery.id == outcome.delivery_id)) or 0
        values = {"updated_at": now, "last_status_code": outcome.status_code, "last_error": outcome.error,
                  "claimed_until": None, "claim_token": None}
        if not outcome.retry:
            values["status"] = DeliveryStatus.FAILED
        elif tries >= config["DELIVERY_MAX_ATTEMPTS"]:
            values["status"] = DeliveryStatus.DEAD
        else:
            delay = backoff_seconds(tries, config["DELIVERY_RETRY_BASE_SECONDS"], config["DELIVERY_RETRY_MAX_SECONDS"])
            if outcome.retry_after:
                delay = max(delay, min(outcome.retry_after, config["DELIVERY_RETRY_MAX_SECONDS"]))
            values["next_attempt_at"] = now + timedelta(seconds=delay)
        db.session.execute(update(Delivery).where(Delivery.id == outcome.delivery_id, Delivery.claim_token == outcome.token, held)
                           .values(**values), execution_options={"synchronize_session": False})
    db.session.commit()


def deliver_due(limit: int | None = None, executor: ThreadPoolExecutor | None = None,
                unrecorded: list[Outcome] | None = None) -> int:
    """Claim, deliver and record one batch; returns the number of attempts made. When the
    outcomes cannot be recorded (the database went away while the forwarders were called), they
    are added to ``unrecorded`` for the caller to record later, and the error is raised."""
    config = current_app.config
    token, ids = claim_due(limit or config["DELIVERY_BATCH_SIZE"], config["DELIVERY_LEASE_SECONDS"])
    if not ids:
        return 0
    forwarders = configured_forwarders()
    claimed = _claimed_work(ids)
    attempts = {delivery_id: tries for delivery_id, _, tries, _ in claimed}
    work = [(delivery_id, name, payload) for delivery_id, name, _, payload in claimed]

    app = current_app._get_current_object()

    def run(item):
        delivery_id, name, payload = item
        forwarder = forwarders.get(name)
        if forwarder is None:
            return Outcome(delivery_id, token, False, retry=True, error="forwarder not configured any more")
        with app.app_context():  # forwarders read their settings from current_app
            return _attempt(forwarder, payload, delivery_id, token)

    if executor is not None and len(work) > 1:
        outcomes = list(executor.map(run, work))
    else:
        outcomes = [run(item) for item in work]
    for outcome in outcomes:
        outcome.attempts = attempts.get(outcome.delivery_id)
    try:
        record(outcomes, attempts)
    except Exception:
        if unrecorded is not None:
            unrecorded.extend(outcomes)
        raise
    return len(outcomes)


def run_once(executor: ThreadPoolExecutor | None = None) -> int:
    """Dispatch new events and deliver one batch (what a worker does on each turn)."""
    return DeliveryTurns(executor).turn()


class DeliveryTurns:
    """One delivery loop's turns. Outcomes that could not be recorded (the database went away
    after the forwarders answered) are kept in memory and recorded first on the next turn, a few
    seconds later: a blip neither resends them after the lease nor loses a failure's backoff.
    Only the rows this loop still holds are written (the claim token), so if the database stays
    away past the lease, another worker's claim wins and sends again with the same idempotency
    key. A worker that dies with unrecorded outcomes leaves them to the lease."""

    def __init__(self, executor: ThreadPoolExecutor | None = None):
        self.executor = executor
        self.unrecorded: list[Outcome] = []

    def turn(self) -> int:
        recorded = 0
        if self.unrecorded:
            record(self.unrecorded)
            recorded, self.unrecorded = len(self.unrecorded), []
        return recorded + dispatch_new_events() + deliver_due(executor=self.executor, unrecorded=self.unrecorded)


def deliver_everything(timeout: float = 30.0) -> None:
    """Run until nothing is due (tests and the ``deliver-now`` command); retries scheduled later
    are left for later."""
    deadline = time.monotonic() + timeout
    while run_once() and time.monotonic() < deadline:
        pass


def delivery_loop(app: Flask, stop: threading.Event) -> None:
    """A worker's delivery loop: keep turning while there is work, poll when idle, and ride out
    a database that is down (log, wait, try again)."""
    poll = app.config["DELIVERY_POLL_SECONDS"]
    with ThreadPoolExecutor(max_workers=app.config["DELIVERY_CONCURRENCY"], thread_name_prefix="deliver") as executor:
        turns = DeliveryTurns(executor)
        while not stop.is_set():
            try:
                with app.app_context():
                    done = turns.turn()
                    db.session.remove()
            except Exception:  # noqa: BLE001 - a database restart must not kill the worker
                log.warning("delivery turn failed; retrying shortly", exc_info=True)
                done = 0
                stop.wait(min(5.0, poll * 4))
            if not done:
                stop.wait(poll)


# ---- people: retry and requeue ----------------------------------------------------------------

def requeue(condition) -> int:
    """Put the undelivered deliveries matching ``condition`` back in line now, in one ``UPDATE``;
    returns how many. Dead ones get a full set of attempts again. A delivery a worker holds (its
    lease still running) is left alone: the worker is calling the forwarder, and taking the row
    from it would discard its outcome and send the event a second time. The caller commits."""
    now = utcnow()
    result = db.session.execute(
        update(Delivery).where(condition, Delivery.status != DeliveryStatus.DELIVERED,
                               or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now))
        .values(status=DeliveryStatus.PENDING, next_attempt_at=now, updated_at=now, claimed_until=None, claim_token=None,
                attempts=case((Delivery.status == DeliveryStatus.DEAD, 0), else_=Delivery.attempts)),
        execution_options={"synchronize_session": False})
    return result.rowcount
