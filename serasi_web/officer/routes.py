"""The officer's side: the lodging verification queue of their office's area.

Every query is scoped to ``current_user.office_id``; a lodging of another office answers 404.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from ..accounts.models import Role
from ..auth import role_required
from ..extensions import db
from ..forms import BaseForm, strip
from ..htmx import see_other
from ..lodgings.models import Lodging, LodgingStatus
from ..lodgings.services import decide, reopen

blueprint = Blueprint("officer", __name__, url_prefix="/officer")
officer_only = role_required(Role.OFFICER)


class RejectForm(BaseForm):
    reason = TextAreaField(_l("Reason for rejection"), filters=[strip], description=_l("The operator sees this text."),
                           validators=[DataRequired(_l("Say why the lodging is rejected.")), Length(max=1000, message=_l("Use at most %(max)d characters."))])


def _office_lodging_or_404(lodging_id: int) -> Lodging:
    lodging = db.session.execute(
        select(Lodging).where(Lodging.id == lodging_id, Lodging.office_id == current_user.office_id)
    ).scalar_one_or_none()
    if lodging is None:
        abort(404)
    return lodging


STATUS_FILTERS = {s.value for s in LodgingStatus}


@blueprint.route("/lodgings")
@officer_only
def lodgings():
    status = request.args.get("status", LodgingStatus.PENDING.value)
    if status not in STATUS_FILTERS:
        status = LodgingStatus.PENDING.value
    query = select(Lodging).where(Lodging.office_id == current_user.office_id, Lodging.status == status)
    rows = db.session.execute(query.order_by(Lodging.created_at)).scalars().all()
    counts = dict(db.session.execute(
        select(Lodging.status, func.count()).where(Lodging.office_id == current_user.office_id).group_by(Lodging.status)
    ).all())
    return render_template("officer/lodgings.html", lodgings=rows, status=status, counts=counts)


@blueprint.route("/lodgings/<int:lodging_id>")
@officer_only
def lodging(lodging_id: int):
    lodging = _office_lodging_or_404(lodging_id)
    return render_template("officer/lodging.html", lodging=lodging, reject_form=RejectForm())


@blueprint.route("/lodgings/<int:lodging_id>/verify", methods=["POST"])
@officer_only
def verify(lodging_id: int):
    lodging = _office_lodging_or_404(lodging_id)
    if BaseForm().validate_on_submit():
        decide(lodging, current_user, verified=True)
        flash(_("%(name)s is verified.", name=lodging.name), "success")
    return see_other(url_for("officer.lodgings"))


@blueprint.route("/lodgings/<int:lodging_id>/reject", methods=["POST"])
@officer_only
def reject(lodging_id: int):
    lodging = _office_lodging_or_404(lodging_id)
    form = RejectForm()
    if form.validate_on_submit():
        decide(lodging, current_user, verified=False, reason=form.reason.data)
        flash(_("%(name)s is rejected.", name=lodging.name), "info")
        return see_other(url_for("officer.lodgings"))
    return render_template("officer/lodging.html", lodging=lodging, reject_form=form)


@blueprint.route("/lodgings/<int:lodging_id>/reopen", methods=["POST"])
@officer_only
def reopen_lodging(lodging_id: int):
    lodging = _office_lodging_or_404(lodging_id)
    if BaseForm().validate_on_submit():
        reopen(lodging)
        flash(_("%(name)s is back in the queue.", name=lodging.name), "info")
    return see_other(url_for("officer.lodging", lodging_id=lodging.id))


# ---- reports of the office's area ---------------------------------------------------------

def _office_stay_or_404(stay_id: int):
    from ..stays.models import Stay

    stay = db.session.execute(
        select(Stay).join(Lodging, Stay.lodging_id == Lodging.id)
        .where(Stay.id == stay_id, Lodging.office_id == current_user.office_id, Stay.status != "draft")
    ).scalar_one_or_none()
    if stay is None:
        abort(404)
    return stay


@blueprint.route("/stays")
@officer_only
def stays():
    """Reports received from the office's area, newest first (drafts are not reports yet)."""
    from ..stays.models import Stay

    query = (select(Stay).join(Lodging, Stay.lodging_id == Lodging.id)
             .where(Lodging.office_id == current_user.office_id, Stay.reported_at.is_not(None))
             .order_by(Stay.updated_at.desc(), Stay.id.desc()))
    page = db.paginate(query, per_page=50, error_out=False)
    return render_template("officer/stays.html", page=page)


@blueprint.route("/stays/<int:stay_id>")
@officer_only
def stay(stay_id: int):
    from ..stays.services import is_minor

    stay = _office_stay_or_404(stay_id)
    return render_template("officer/stay.html", stay=stay, is_minor=is_minor(stay))
