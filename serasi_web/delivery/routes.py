"""The admin's delivery page (filters, retry, requeue of dead deliveries) and the status box on a
stay's page."""
from __future__ import annotations

from flask import Blueprint, flash, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from ..accounts.models import Role
from ..auth import role_required
from ..database import utcnow
from ..extensions import db
from ..forms import parse_id, text_arg
from ..htmx import render_page_or_fragment, see_other
from .models import Delivery, DeliveryStatus, OutboxEvent
from .outbox import EVENTS

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

    args = _filters()
    query = _filtered(select(Delivery), args).order_by(Delivery.id.desc())
    page = fetch_page(query, request.args.get("page", 1, type=int) or 1, 50)
    counts = dict(db.session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
    forwarders = db.session.execute(select(Delivery.forwarder).distinct().order_by(Delivery.forwarder)).scalars().all()
    undispatched = db.session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None)))
    return render_page_or_fragment("delivery/index.html", "delivery/_deliveries.html", page=page, query_args=args,
                                   counts=counts, forwarders=forwarders, statuses=DeliveryStatus.ALL,
                                   undispatched=undispatched, events=EVENTS)


@blueprint.route("/<int:delivery_id>/retry", methods=["POST"])
@admin_only
def retry(delivery_id: int):
    from .dispatcher import retry_now

    delivery = db.get_or_404(Delivery, delivery_id)
    if retry_now(delivery):
        db.session.commit()
        flash(_("Delivery %(id)d is queued again.", id=delivery.id), "info")
    return see_other(url_for("delivery.index", **_filters()))


@blueprint.route("/requeue-dead", methods=["POST"])
@admin_only
def requeue_dead():
    """Requeue every dead delivery that matches the filters (all attempts afresh)."""
    args = {**_filters(), "status": DeliveryStatus.DEAD}
    ids = select(_filtered(select(Delivery.id), args).subquery().c.id)
    now = utcnow()
    result = db.session.execute(update(Delivery).where(Delivery.id.in_(ids)).values(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, claimed_until=None, claim_token=None, updated_at=now))
    db.session.commit()
    flash(_("%(count)d dead deliveries are queued again.", count=result.rowcount), "info")
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
