"""Admin › Federation: the peers allowed to send here (create, rename, rotate, revoke) and, when this
instance sends to another, the backfills ("send everything since D") with their progress."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from ..accounts.models import Role
from ..auth import role_required
from ..extensions import db
from ..htmx import see_other
from ..lodgings.models import Lodging
from . import backfill as backfills
from .forms import BackfillForm, PeerForm
from .models import FederationBackfill, FederationPeer
from .peers import create_peer, peer_named, rename_peer, revoke, rotate_token

log = logging.getLogger(__name__)
blueprint = Blueprint("federation", __name__, url_prefix="/admin/federation")
admin_only = role_required(Role.ADMIN)


def _sending() -> bool:
    """This instance sends to another one with a peer token (what a backfill needs)."""
    from .peers import TOKEN_PREFIX

    config = current_app.config
    return bool(config.get("FEDERATION_URL") and (config.get("FEDERATION_TOKEN") or "").startswith(TOKEN_PREFIX))


def _page(peer_form: PeerForm | None = None, backfill_form: BackfillForm | None = None, new_secret: str | None = None,
          secret_peer: FederationPeer | None = None, status: int = 200):
    peers = db.session.execute(select(FederationPeer).order_by(FederationPeer.created_at.desc())).scalars().all()
    mirrored = dict(db.session.execute(select(Lodging.federation_peer_id, func.count()).where(Lodging.federation_peer_id.is_not(None))
                                       .group_by(Lodging.federation_peer_id)).all())
    unrouted = dict(db.session.execute(select(Lodging.federation_peer_id, func.count()).where(
        Lodging.federation_peer_id.is_not(None), Lodging.office_id.is_(None)).group_by(Lodging.federation_peer_id)).all())
    runs = db.session.execute(select(FederationBackfill).order_by(FederationBackfill.id.desc()).limit(20)).scalars().all()
    response = render_template("federation/index.html", peers=peers, mirrored=mirrored, unrouted=unrouted,
                               peer_form=peer_form or PeerForm(formdata=None), backfill_form=backfill_form or BackfillForm(formdata=None),
                               new_secret=new_secret, secret_peer=secret_peer, backfills=[(run, backfills.progress(run)) for run in runs],
                               sending=_sending())
    return response, status, {"Cache-Control": "no-store"}  # a new token may be on the page


@blueprint.route("/", methods=["GET"])
@admin_only
def index():
    return _page()


@blueprint.route("/peers", methods=["POST"])
@admin_only
def new_peer():
    form = PeerForm()
    if not form.validate_on_submit() or not _name_free(form):
        return _page(peer_form=form)
    peer, secret = create_peer(form.name.data, form.office_name.data, current_user)
    return _page(new_secret=secret, secret_peer=peer)


def _name_free(form: PeerForm, peer: FederationPeer | None = None) -> bool:
    """True when no other peer has the name typed; otherwise the form says so at the name."""
    twin = peer_named(form.name.data, other_than=peer)
    if twin is not None:
        form.name.errors.append(_("Another instance is already called %(name)s: give this one a name of its own.", name=twin.name))
    return twin is None


def _peer_or_404(peer_id: int) -> FederationPeer:
    return db.get_or_404(FederationPeer, peer_id)


@blueprint.route("/peers/<int:peer_id>/edit", methods=["GET", "POST"])
@admin_only
def edit_peer(peer_id: int):
    peer = _peer_or_404(peer_id)
    form = PeerForm(obj=peer)
    if form.validate_on_submit() and _name_free(form, peer):
        if rename_peer(peer, form.name.data, form.office_name.data, current_user):
            flash(_("The instance is now called %(name)s.", name=peer.name), "success")
        return see_other(url_for("federation.index"))
    return render_template("federation/peer_form.html", form=form, peer=peer)


@blueprint.route("/peers/<int:peer_id>/rotate", methods=["POST"])
@admin_only
def rotate(peer_id: int):
    peer = _peer_or_404(peer_id)
    if not _csrf_ok():
        return see_other(url_for("federation.index"))
    secret = rotate_token(peer, current_user)
    return _page(new_secret=secret, secret_peer=peer)


@blueprint.route("/peers/<int:peer_id>/revoke", methods=["POST"])
@admin_only
def revoke_peer(peer_id: int):
    peer = _peer_or_404(peer_id)
    if _csrf_ok() and revoke(peer, current_user):
        flash(_("%(name)s is locked out: its requests are refused until its token is rotated.", name=peer.name), "info")
    return see_other(url_for("federation.index"))


def _csrf_ok() -> bool:
    """The CSRF check of a button-only form."""
    from ..forms import BaseForm

    return BaseForm().validate_on_submit()


@blueprint.route("/backfills", methods=["POST"])
@admin_only
def new_backfill():
    form = BackfillForm()
    if not _sending():  # the page shows no form then: a message says why
        flash(_("This instance does not send to another one: set SERASI_FEDERATION_URL and a peer token first."), "error")
        return see_other(url_for("federation.index"))
    if not form.validate_on_submit():
        return _page(backfill_form=form)
    run = backfills.start(form.since.data, current_user)
    flash(_("The reports since %(day)s are being sent: %(count)d in all.", day=form.since.data.isoformat(), count=run.total), "info")
    _run_soon(run.id)
    return see_other(url_for("federation.index"))


@blueprint.route("/backfills/<int:backfill_id>/cancel", methods=["POST"])
@admin_only
def cancel_backfill(backfill_id: int):
    run = db.get_or_404(FederationBackfill, backfill_id)
    if _csrf_ok() and backfills.cancel(run, current_user):
        flash(_("The backfill is stopped; what was queued is still delivered."), "info")
    return see_other(url_for("federation.index"))


def _run_soon(backfill_id: int) -> None:
    """Ask a worker to enqueue the backfill now; if the queue is down, the worker's periodic
    task continues every running backfill within a minute."""
    from ..jobs import get_huey

    try:
        get_huey(current_app).serasi_tasks["federation_backfill"](backfill_id)
    except Exception:  # e.g. Redis down
        log.warning("could not enqueue serasi.federation_backfill; the periodic task continues it", exc_info=True)
