"""Each user's notification settings: every kind on by default, any can be turned off."""
from __future__ import annotations

from flask import Blueprint, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..htmx import see_other
from .services import kinds_for, preferences_of, set_preference

blueprint = Blueprint("notifications", __name__, url_prefix="/notifications")


@blueprint.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    kinds = kinds_for(current_user)
    if request.method == "POST":
        for kind in kinds:
            set_preference(current_user, kind.key, request.form.get(kind.key) == "on")
        db.session.commit()
        flash(_("Your notification settings are saved."), "info")
        return see_other(url_for("notifications.settings"))
    return render_template("notifications/settings.html", kinds=kinds, enabled=preferences_of(current_user))
