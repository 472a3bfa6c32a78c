"""The front page and the language switch."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from .accounts.routes import _safe_next, home_for
from .extensions import db
from .i18n import LANGUAGE_COOKIE

blueprint = Blueprint("pages", __name__)


@blueprint.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return render_template("pages/index.html")


@blueprint.route("/language", methods=["POST"])
def set_language():
    """The footer switch: remember the choice in a cookie (and on the account when logged in)."""
    language = request.form.get("language", "")
    target = _safe_next(request.form.get("next")) or url_for("pages.index")
    response = redirect(target, code=303)
    if language in current_app.config["LANGUAGES"]:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
        if current_user.is_authenticated:
            current_user.locale = language
            db.session.commit()
    return response


@blueprint.route("/privacy/guests")
def guest_notice():
    """The privacy notice for guests (Indonesian, English, Chinese), to print or link to."""
    from .privacy.notices import guest_notice as sections
    from .privacy.retention import policy

    return render_template("pages/guest_notice.html", sections=sections(policy()["stays"]))


@blueprint.route("/privacy/operators")
def operator_notice():
    """What a lodging must tell its guests, in the reader's language."""
    return render_template("pages/operator_notice.html")
