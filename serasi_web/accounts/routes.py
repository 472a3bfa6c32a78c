"""Sign-up, login and logout; the account page (password, sessions); password reset by e-mail."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..htmx import see_other
from ..passwords import verify_password
from .forms import ChangePasswordForm, ForgotPasswordForm, LoginForm, ResetPasswordForm, SignUpForm
from .models import Role
from .services import authenticate, change_password, create_user, find_user_by_email, send_password_reset, user_for_reset_token
from .sessions import current_session_id, end_other_sessions, end_session, sessions_of, start_session

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


# ---- password reset by e-mail -------------------------------------------------------------------

@blueprint.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    if current_user.is_authenticated:
        return redirect(url_for("accounts.account"))
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        send_password_reset(form.email.data, request.remote_addr or "unknown")
        # The same answer whether or not the address has an account.
        flash(_("If an account uses this address, we have sent it a link to choose a new password. "
                "The link works once, for 30 minutes."), "info")
        return see_other(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


@blueprint.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    user = user_for_reset_token(token)
    if user is None:
        return render_template("accounts/reset_password.html", form=None), 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        change_password(user, form.password.data, how="reset")
        db.session.commit()
        if current_user.is_authenticated:
            end_session()
        flash(_("Your password has been changed and every session of the account has ended. Log in with the new password."),
              "success")
        return see_other(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form, token=token)


# ---- the account page -----------------------------------------------------------------------------

def _account_page(form: ChangePasswordForm):
    return render_template("accounts/account.html", form=form, sessions=sessions_of(current_user),
                           current_session=current_session_id())


@blueprint.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """Change the password (every other session ends) and see the account's sessions."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.current_password.data):
            form.current_password.errors.append(_("This is not your current password."))
        else:
            user = current_user._get_current_object()
            change_password(user, form.password.data)
            db.session.commit()
            start_session(user)
            flash(_("Your password has been changed. Every other session of the account has ended."), "success")
            return see_other(url_for("accounts.account"))
    return _account_page(form)


@blueprint.route("/account/sessions/end-others", methods=["POST"])
@login_required
def end_others():
    ended = end_other_sessions(current_user)
    flash(ngettext("%(num)d other session has ended.", "%(num)d other sessions have ended.", ended), "success")
    return see_other(url_for("accounts.account"))
