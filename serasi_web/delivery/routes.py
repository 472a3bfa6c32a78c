"""The admin's delivery page (filters, retry, requeue of dead deliveries) and the status box on a
stay's page."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..accounts.models import Role
from ..auth import role_required
from ..extensions import db
from ..forms import page_arg, parse_id, text_arg
from ..htmx import render_page_or_fragment, see_other
from .models import Delivery, DeliveryStatus, OutboxEvent
from .outbox import EVENTS

log = logging.getLogger(__name__)
blueprint = Blueprint("delivery", __name__, url_prefix="/admin/deliveries")
admin_only = role_required(Role.ADMIN)
FILTERS = ("status", "forwarder", "stay", "event")


def _filters() -> dict:
    args = {name: value for name in FILTERS if (value := text_arg(name, 40))}
    if args.get("status") not in DeliveryStatus.ALL:
        args.pop("status", None)
    if parse_id(args.get("stay")) is None:
        args.pop("stay", None)
    if args.get("event") not in EVENTS:
        args.pop("event", None)
    return args


def _filtered(query, args: dict):
    if "status" in args:
        query = query.where(Delivery.status == args["status"])
    if "forwarder" in args:
        query = query.where(Delivery.forwarder == args["forwarder"])
    if "stay" in args:
        query = query.where(Delivery.stay_id == int(args["stay"]))
    if "event" in args:
        query = query.where(Delivery.outbox_event_id.in_(select(OutboxEvent.id).where(OutboxEvent.event == args["event"])))
    return query


@blueprint.route("/")
@admin_only
def index():
    from ..officer.queries import fetch_page
    from .dispatcher import configured_forwarders

    args = _filters()
    # Each row shows its event's name and version: load them with the page, not one query per row
    # (and without the payload, the whole report).
    query = _filtered(select(Delivery), args).order_by(Delivery.id.desc()).options(
        joinedload(Delivery.event).load_only(OutboxEvent.event, OutboxEvent.stay_version))
    page = fetch_page(query, page_arg(), 50)
    counts = dict(db.session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
    forwarders = db.session.execute(select(Delivery.forwarder).distinct().order_by(Delivery.forwarder)).scalars().all()
    undispatched = db.session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None)))
    return render_page_or_fragment("delivery/index.html", "delivery/_deliveries.html", page=page, query_args=args,
                                   counts=counts, forwarders=forwarders, statuses=DeliveryStatus.ALL,
                                   undispatched=undispatched, events=EVENTS,
                                   forwarder_configured=bool(configured_forwarders()) if undispatched else True)


def _deliver_soon() -> None:
    """Ask a worker for a delivery turn now: with ``worker --no-delivery`` only the sweep would
    deliver, up to a minute later. The requeue is committed already, so a queue that is down
    only costs that minute."""
    from ..jobs import get_huey

    try:
        get_huey(current_app).serasi_tasks["deliver_now"]()
    except Exception:  # noqa: BLE001 - e.g. Redis down: the sweep delivers instead
        log.warning("could not enqueue serasi.deliver_now; the delivery sweep will deliver instead", exc_info=True)


@blueprint.route("/<int:delivery_id>/retry", methods=["POST"])
@admin_only
def retry(delivery_id: int):
    from .dispatcher import requeue

    db.get_or_404(Delivery, delivery_id)
    requeued = requeue(Delivery.id == delivery_id)
    db.session.commit()
    if requeued:
        flash(_("Delivery %(id)d is queued again.", id=delivery_id), "info")
        _deliver_soon()
    elif db.session.scalar(select(Delivery.status).where(Delivery.id == delivery_id)) == DeliveryStatus.PENDING:
        # Not delivered, yet not requeued: a worker holds it and is calling the forwarder.
        flash(_("Delivery %(id)d is being sent right now; look again in a moment.", id=delivery_id), "info")
    return see_other(url_for("delivery.index", **_filters()))


@blueprint.route("/requeue-dead", methods=["POST"])
@admin_only
def requeue_dead():
    """Requeue every dead delivery that matches the filters (all attempts afresh)."""
    from .dispatcher import requeue

    args = {**_filters(), "status": DeliveryStatus.DEAD}
    ids = select(_filtered(select(Delivery.id), args).subquery().c.id)
    requeued = requeue(Delivery.id.in_(ids))
    db.session.commit()
    flash(_("%(count)d dead deliveries are queued again.", count=requeued), "info")
    if requeued:
        _deliver_soon()
    return see_other(url_for("delivery.index", **{k: v for k, v in _filters().items() if k != "status"}))


def delivery_status(stay) -> list[dict]:
    """Per forwarder, where this stay's latest event stands (for the box on the stay's page)."""
    rows = db.session.execute(
        select(Delivery, OutboxEvent.event, OutboxEvent.stay_version).join(OutboxEvent, Delivery.outbox_event_id == OutboxEvent.id)
        .where(Delivery.stay_id == stay.id).order_by(Delivery.forwarder, Delivery.outbox_event_id)).all()
    latest: dict[str, dict] = {}
    for delivery, event, version in rows:
        latest[delivery.forwarder] = {"forwarder": delivery.forwarder, "status": delivery.status, "event": event,
                                      "version": version, "attempts": delivery.attempts, "delivered_at": delivery.delivered_at,
                                      "next_attempt_at": delivery.next_attempt_at}
    waiting = db.session.scalar(select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.stay_id == stay.id, OutboxEvent.dispatched_at.is_(None)))
    result = list(latest.values())
    if waiting and not result:
        result.append({"forwarder": None, "status": "queued", "event": None, "version": None, "attempts": 0,
                       "delivered_at": None, "next_attempt_at": None})
    return result
