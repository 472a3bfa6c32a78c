"""Sign-up, login and logout."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..htmx import see_other
from .forms import LoginForm, SignUpForm
from .models import Role
from .services import authenticate, create_user, find_user_by_email
from .sessions import end_session, start_session

blueprint = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths may be redirected to after login (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def home_for(user) -> str:
    if user.role == Role.ADMIN:
        return url_for("admin.index")
    if user.role == Role.OFFICER:
        return url_for("officer.lodgings")
    if user.role == Role.SUPERVISOR:
        return url_for("officer.inbox")
    return url_for("stays.dashboard")


@blueprint.route("/signup", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = SignUpForm()
    if form.validate_on_submit():
        if find_user_by_email(form.email.data):
            form.email.errors.append(_("An account with this e-mail already exists. Log in instead."))
        else:
            user = create_user(
                email=form.email.data,
                password=form.password.data,
                full_name=form.full_name.data,
                account_kind=form.account_kind.data,
                locale=str(get_locale()),
            )
            db.session.commit()
            start_session(user)
            flash(_("Welcome! Now register your first lodging."), "success")
            return see_other(url_for("lodgings.new"))
    return render_template("accounts/signup.html", form=form)


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        result = authenticate(form.email.data, form.password.data, request.remote_addr or "unknown")
        if result.throttled:
            form.password.errors.append(
                _("Too many failed attempts. Try again in %(minutes)d minutes.", minutes=result.retry_after_minutes)
            )
            # 200, not 429: htmx 2 does not swap 4xx answers, and the message must show.
            return render_template("accounts/login.html", form=form)
        if result.disabled:
            form.email.errors.append(_("This account has been disabled. Contact the administrator."))
        elif result.user is None:
            form.password.errors.append(_("The e-mail address or the password is wrong."))
        else:
            start_session(result.user)
            return see_other(_safe_next(request.args.get("next")) or home_for(result.user))
    return render_template("accounts/login.html", form=form)


@blueprint.route("/logout", methods=["POST"])
@login_required
def logout():
    end_session()
    flash(_("You have logged out."), "info")
    return see_other(url_for("pages.index"))
