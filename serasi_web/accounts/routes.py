"""Sign-up and e-mail verification, login and logout; the account page (password, sessions);
password reset by e-mail; the steps an account must take before anything else (its own password,
two-step login)."""
from __future__ import annotations

from urllib.parse import urlsplit

import time

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..form_drafts import forget_all_drafts
from ..htmx import see_other
from ..audit.services import record
from ..passwords import verify_password
from ..rate_limits import allow
from . import mfa
from .forms import ChangePasswordForm, ForgotPasswordForm, LoginForm, MfaCodeForm, MfaEnrolForm, MfaManageForm, ResetPasswordForm, SignUpForm
from .models import Role, User
from .services import (authenticate, change_password, mark_email_verified, send_email_verification, send_password_reset, sign_up,
                       user_for_reset_token, user_for_verification_token)
from ..database import utcnow
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
    if user.role == Role.DPO:
        return url_for("access_log.index")
    return url_for("stays.dashboard")


@blueprint.route("/signup", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = SignUpForm()
    if form.validate_on_submit():
        # The same answer whether or not the address has an account (its owner gets a notice).
        sign_up(email=form.email.data, password=form.password.data, full_name=form.full_name.data,
                account_kind=form.account_kind.data, locale=str(get_locale()), remote_addr=request.remote_addr or "unknown")
        return see_other(url_for("accounts.signup_sent"))
    return render_template("accounts/signup.html", form=form)


@blueprint.route("/signup/sent")
def signup_sent():
    """What every sign-up hears: check your e-mail, then log in."""
    return render_template("accounts/signup_sent.html")


@blueprint.route("/account/verify/<token>")
def verify_email(token: str):
    """The link mailed at sign-up: the address is the account holder's. Works once."""
    user = user_for_verification_token(token)
    if user is None:
        if current_user.is_authenticated and current_user.email_verified:
            flash(_("Your e-mail address is confirmed already."), "info")
            return redirect(home_for(current_user))
        return render_template("accounts/verify_email_invalid.html"), 404
    mark_email_verified(user)
    db.session.commit()
    flash(_("Your e-mail address is confirmed. You can now submit reports."), "success")
    if current_user.is_authenticated and current_user.id == user.id:
        return redirect(home_for(user))
    return redirect(url_for("accounts.login"))


@blueprint.route("/account/verify", methods=["GET", "POST"])
@login_required
def email_verification():
    """Why reports wait for the address to be confirmed, and "send the link again"."""
    if current_user.email_verified:
        return redirect(home_for(current_user))
    if request.method == "POST":  # CSRFProtect has checked the token
        if send_email_verification(current_user._get_current_object(), request.remote_addr or "unknown"):
            flash(_("We have sent a new link to %(email)s.", email=current_user.email), "success")
        else:
            flash(_("No new link was sent: several were sent in the last hour. Look for them in your inbox and spam folder, "
                    "or try again later."), "info")
        return see_other(url_for("accounts.email_verification"))
    return render_template("accounts/verify_email.html")


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        result = authenticate(form.email.data, form.password.data, request.remote_addr or "unknown")
        if result.throttled:
            form.password.errors.append(
                ngettext("Too many failed attempts. Try again in %(num)d second.",
                         "Too many failed attempts. Try again in %(num)d seconds.", result.retry_after_seconds)
            )
            # 200, not 429: htmx 2 does not swap 4xx answers, and the message must show.
            return render_template("accounts/login.html", form=form)
        if result.disabled:
            form.email.errors.append(_("This account has been disabled. Contact the administrator."))
        elif result.user is None:
            form.password.errors.append(_("The e-mail address or the password is wrong."))
        elif mfa.has_mfa(result.user):
            # The password is right; the session starts after the second step.
            session.clear()
            session[PENDING_USER] = result.user.id
            session[PENDING_SINCE] = int(time.time())
            session[PENDING_NEXT] = _safe_next(request.args.get("next")) or ""
            return see_other(url_for("accounts.login_code"))
        else:
            start_session(result.user)
            return see_other(_safe_next(request.args.get("next")) or home_for(result.user))
    return render_template("accounts/login.html", form=form)


PENDING_USER, PENDING_SINCE, PENDING_NEXT = "serasi_mfa_user", "serasi_mfa_since", "serasi_mfa_next"


def _pending_user() -> User | None:
    """The account whose password was right in this browser, within ``MFA_PENDING_SECONDS``."""
    user_id, since = session.get(PENDING_USER), session.get(PENDING_SINCE)
    if not isinstance(user_id, int) or not isinstance(since, int):
        return None
    if time.time() - since > current_app.config["MFA_PENDING_SECONDS"]:
        return None
    user = db.session.get(User, user_id)
    return user if user is not None and user.enabled else None


@blueprint.route("/login/code", methods=["GET", "POST"])
def login_code():
    """The second step of a login: a code from the authenticator app or a recovery code."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    user = _pending_user()
    if user is None:
        flash(_("Log in with your password first (it is asked again after 5 minutes)."), "info")
        return see_other(url_for("accounts.login"))
    form = MfaCodeForm()
    if form.validate_on_submit():
        if not allow(current_app.config["MFA_RATE_LIMIT"], "mfa", str(user.id))[0]:
            form.code.errors.append(_("Too many wrong codes. Wait a few minutes, then log in again."))
            return render_template("accounts/login_code.html", form=form)
        used = mfa.check_second_step(user, form.code.data)
        db.session.commit()
        if used is None:
            form.code.errors.append(_("This code is wrong or has been used already. Wait for the next code in the app."))
        else:
            target = session.get(PENDING_NEXT) or home_for(user)
            start_session(user)
            if used == "recovery":
                record("account.mfa_recovery_code_used", user, user)
                db.session.commit()
                flash(ngettext("You used a recovery code; %(num)d is left. Set up your app again on your account page if the phone is lost.",
                               "You used a recovery code; %(num)d are left. Set up your app again on your account page if the phone is lost.",
                               mfa.unused_recovery_codes(user)), "info")
            return see_other(target)
    return render_template("accounts/login_code.html", form=form)


@blueprint.route("/logout", methods=["POST"])
@login_required
def logout():
    end_session()
    # Nothing typed on this device stays after logging out: the browser deletes the site's
    # storage (Clear-Site-Data), and the next page tells the script to delete the drafts it kept
    # (for a browser that ignores the header, e.g. on plain HTTP).
    forget_all_drafts()
    flash(_("You have logged out."), "info")
    response = see_other(url_for("pages.index"))
    response.headers["Clear-Site-Data"] = '"storage"'
    return response


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
    form.account = user
    if form.validate_on_submit():
        change_password(user, form.password.data, how="reset")
        mark_email_verified(user)  # the link came through the account's mailbox
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
                           current_session=current_session_id(), has_mfa=mfa.has_mfa(current_user),
                           mfa_required=mfa.mfa_required(current_user))


@blueprint.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """Change the password (every other session ends) and see the account's sessions."""
    form = ChangePasswordForm()
    form.account = current_user
    if form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.current_password.data):
            form.current_password.errors.append(_("This is not your current password."))
        else:
            user = current_user._get_current_object()
            first_own_password = user.password_change_required
            change_password(user, form.password.data)
            db.session.commit()
            start_session(user)
            flash(_("Your password has been changed. Every other session of the account has ended."), "success")
            # After the password an admin chose, on to what comes next (two-step login, the work).
            return see_other(home_for(user) if first_own_password else url_for("accounts.account"))
    return _account_page(form)


@blueprint.route("/account/sessions/end-others", methods=["POST"])
@login_required
def end_others():
    ended = end_other_sessions(current_user)
    flash(ngettext("%(num)d other session has ended.", "%(num)d other sessions have ended.", ended), "success")
    return see_other(url_for("accounts.account"))


# ---- two-step login: enrolment and management ---------------------------------------------------

def _manage_choices(user) -> list[tuple[str, str]]:
    choices = [("codes", _("Make ten new recovery codes (the old ones stop working)")),
               ("replace", _("Set up a new phone or app (the old one stops working)"))]
    if not mfa.mfa_required(user):
        choices.append(("disable", _("Turn two-step login off")))
    return choices


@blueprint.route("/account/two-step", methods=["GET", "POST"])
@login_required
def two_step():
    """Enrol an authenticator app (required for officers, supervision teams and admins before
    anything else), or manage it: new recovery codes, a new phone, turning it off (operators)."""
    user = current_user._get_current_object()
    if mfa.has_mfa(user):
        form = MfaManageForm()
        form.action.choices = _manage_choices(user)
        if form.validate_on_submit():
            if not verify_password(user.password_hash, form.password.data):
                form.password.errors.append(_("This is not your current password."))
            elif form.action.data == "codes":
                codes = mfa.new_recovery_codes(user)
                record("account.mfa_recovery_codes_renewed", user, user)
                db.session.commit()
                return render_template("accounts/recovery_codes.html", codes=codes)
            else:
                mfa.remove_mfa(user)
                record("account.mfa_removed" if form.action.data == "disable" else "account.mfa_device_replaced", user, user)
                db.session.commit()
                flash(_("Two-step login is off.") if form.action.data == "disable"
                      else _("The old app no longer works. Add the account to the new one."), "success")
                return see_other(url_for("accounts.two_step"))
        return render_template("accounts/two_step.html", manage_form=form, unused=mfa.unused_recovery_codes(user))

    pending = mfa.pending_enrolment(user)
    db.session.commit()
    form = MfaEnrolForm()
    if form.validate_on_submit():
        if mfa.check_totp(pending, form.code.data):
            pending.enabled_at = utcnow()
            codes = mfa.new_recovery_codes(user)
            record("account.mfa_enabled", user, user)
            db.session.commit()
            return render_template("accounts/recovery_codes.html", codes=codes, enrolled=True)
        db.session.commit()
        form.code.errors.append(_("This code is wrong. Check the phone's clock and type the code the app shows now."))
    uri = mfa.provisioning_uri(user, pending.secret)
    return render_template("accounts/two_step.html", enrol_form=form, qr_svg=mfa.qr_svg(uri), secret=mfa.grouped(pending.secret),
                           required=mfa.mfa_required(user))


def require_account_setup():
    """``before_request``: the steps an account takes before anything else, in this order.
    First its own password when an admin chose it (``password_change_required``), then two-step
    login when its role needs it and it has none yet. Until then every page but that step's page
    (and logging out) redirects there."""
    if request.endpoint in ALWAYS_OPEN_ENDPOINTS or request.endpoint is None or not current_user.is_authenticated:
        return None
    if current_user.password_change_required:
        if request.endpoint == "accounts.account":
            return None
        flash(_("Choose your own password first: the one you were given was chosen by an administrator."), "info")
        return redirect(url_for("accounts.account"), code=303)
    if request.endpoint == "accounts.two_step" or not mfa.mfa_required(current_user) or mfa.has_mfa(current_user):
        return None
    flash(_("Set up two-step login first: your role needs it."), "info")
    return redirect(url_for("accounts.two_step"), code=303)


ALWAYS_OPEN_ENDPOINTS = frozenset({"accounts.logout", "static", "pages.set_language", "health.healthz"})


blueprint.before_app_request(require_account_setup)
