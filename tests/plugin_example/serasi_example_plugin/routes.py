"""The plugin's own page: a glamping site's tents, linked from the lodging's page."""
from __future__ import annotations

from flask import Blueprint, abort, flash, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from serasi_web.accounts.models import Role
from serasi_web.auth import role_required
from serasi_web.extensions import db
from serasi_web.forms import TOO_LONG, BaseForm, strip
from serasi_web.htmx import see_other
from serasi_web.lodgings.services import get_own_lodging_or_404

from .models import Tent

tents = Blueprint("example_tents", __name__, template_folder="templates")


class TentForm(BaseForm):
    name = StringField(_l("Tent name"), filters=[strip], validators=[DataRequired(_l("Enter the tent's name.")),
                                                                     Length(max=60, message=TOO_LONG)])
    beds = IntegerField(_l("Beds"), validators=[InputRequired(_l("Enter a number of beds from 1 to 20.")),
                                                NumberRange(min=1, max=20, message=_l("Enter a number of beds from 1 to 20."))])


@tents.route("/lodgings/<int:lodging_id>/tents", methods=["GET", "POST"])
@role_required(Role.OPERATOR)
def index(lodging_id: int):
    lodging = get_own_lodging_or_404(current_user, lodging_id)  # another owner's lodging: 404
    if lodging.lodging_type != "glamping":
        abort(404)
    form = TentForm()
    if form.validate_on_submit():
        db.session.add(Tent(lodging_id=lodging.id, name=form.name.data, beds=form.beds.data))
        db.session.commit()
        flash(_("Tent %(name)s added.", name=form.name.data), "success")
        return see_other(url_for("example_tents.index", lodging_id=lodging.id))
    rows = db.session.execute(select(Tent).where(Tent.lodging_id == lodging.id).order_by(Tent.name)).scalars().all()
    return render_template("example_tents/index.html", lodging=lodging, form=form, tents=rows)
