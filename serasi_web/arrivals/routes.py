"""Self check-in pages: the guest's (no account: the poster's code, then a secret status link)
and the operator's (settings, the printable poster, the arrivals waiting, review and approval)."""
from __future__ import annotations

import secrets

import segno
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from ..accounts.models import Role
from ..auth import role_required
from ..database import utcnow
from ..extensions import db
from ..form_drafts import confirm_draft
from ..forms import parse_id, select_choices
from ..htmx import render_page_or_fragment, see_other
from ..i18n import GUEST_BLUEPRINT, GUEST_LANGUAGE_NAMES, LANGUAGE_COOKIE
from ..links import public_url
from ..lodgings.models import Lodging
from ..lodgings.services import get_own_lodging_or_404
from ..rate_limits import allow
from ..reference.permits import suggested_permit
from ..stays import services as stays
from ..stays.forms import GuestFields
from ..stays.receipts import verification_token
from ..stays.routes import (
    _apply_errors,
    _attach_warnings,
    _capture_into,
    allow_large_photos,
)
from . import services
from .forms import ApprovalForm, RejectForm, SettingsForm, StartForm
from .models import Arrival, ArrivalStatus

blueprint = Blueprint("arrivals", __name__)
guest_blueprint = Blueprint(GUEST_BLUEPRINT, __name__)
operator_only = role_required(Role.OPERATOR)
guest_blueprint.before_request(allow_large_photos)


@guest_blueprint.after_request
def never_stored(response):
    """A guest's pages hold their details (and the status page a capability): no cache keeps them."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _locale() -> str:
    return str(get_locale())


def _too_many(wait_seconds: int):
    minutes = max(1, (wait_seconds + 59) // 60)
    return render_template("arrivals/guest_message.html", title=_("Too many check-ins"),
                           message=_("Too many check-ins were sent from here in a short time. Please wait %(minutes)d minutes, or go to the reception.",
                                     minutes=minutes)), 429, {"Retry-After": str(wait_seconds)}


def _address() -> str:
    return request.remote_addr or "-"


@guest_blueprint.before_request
def limit_guest_posts():
    """Every form a guest sends counts against one limit per client address (a photo to decode
    costs a worker up to a second and a half), whatever else limits it."""
    if request.method == "POST":
        allowed, wait = allow(current_app.config["ARRIVALS_POST_RATE_PER_ADDRESS"], "arrival-post", _address())
        if not allowed:
            return _too_many(wait)
    return None


# ---- the guest's pages ----------------------------------------------------------------------

def _poster_or_message(code: str):
    """(setting, None) for a working poster, else (None, the clear page to answer with)."""
    setting = services.find_poster(code)
    if setting is None:
        return None, (render_template("arrivals/guest_message.html", title=_("This check-in code is not valid"),
                                      message=_("This code does not open a check-in (any more): the lodging may have printed a new poster. "
                                                "Please scan the poster at the reception again, or ask there.")), 404)
    if not setting.enabled:
        return None, (render_template("arrivals/guest_message.html", title=_("Online check-in is switched off"),
                                      message=_("This lodging does not take online check-ins at the moment. Please go to the reception."),
                                      lodging=setting.lodging), 404)
    if refusal := services.poster_refusal(setting.lodging):
        return None, (render_template("arrivals/guest_message.html", title=_("Online check-in is not available"), message=refusal,
                                      lodging=setting.lodging), 403)
    return setting, None


@guest_blueprint.route("/c/<code>", methods=["GET", "POST"])
def start(code: str):
    """The poster's page: the privacy notice, consent, the stay's dates; then the first guest."""
    setting, answer = _poster_or_message(code)
    if answer:
        return answer
    lodging = setting.lodging
    form = StartForm()
    if request.method == "GET" and not form.check_in_at.data:
        form.check_in_at.data = stays.to_local(utcnow(), lodging).replace(tzinfo=None, second=0, microsecond=0)
    if form.validate_on_submit():
        for limit, key, identifier in ((current_app.config["ARRIVALS_RATE_PER_ADDRESS"], "arrival-address", _address()),
                                       (current_app.config["ARRIVALS_RATE_PER_POSTER"], "arrival-poster", setting.poster_code)):
            allowed, wait = allow(limit, key, identifier)
            if not allowed:
                return _too_many(wait)
        values = {"check_in_at": stays.to_utc(form.check_in_at.data, lodging), "planned_check_out": form.planned_check_out.data,
                  "purpose": form.purpose.data, "email": form.email.data or ""}
        try:
            _arrival, token = services.start_arrival(setting, values, _locale())
        except services.ArrivalError as error:
            form.form_errors = [str(error.message)]
        except stays.StayError as error:
            _apply_errors(form, error)
        else:
            confirm_draft()
            return see_other(url_for(".new_guest", token=token))
    return render_template("arrivals/start.html", form=form, lodging=lodging, code=setting.poster_code,
                           notice=_notice_in(_locale()))


def _notice_in(language: str) -> dict:
    from ..privacy.notices import guest_notice
    from ..privacy.retention import policy

    sections = guest_notice(policy()["stays"])
    return next((s for s in sections if s["lang"] == language), sections[0])


@guest_blueprint.route("/c/language", methods=["POST"])
def set_language():
    """The guest pages' own language switch (they offer more languages than the operator's pages)."""
    from ..accounts.routes import _safe_next

    language = request.form.get("language", "")
    target = _safe_next(request.form.get("next")) or url_for("pages.index")
    response = see_other(target)
    if language in current_app.config["GUEST_LANGUAGES"]:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def _arrival_or_404(token: str) -> Arrival:
    arrival = services.find_by_token(token)
    if arrival is None:
        abort(404)
    return arrival


def _party_choices(form, arrival: Arrival) -> None:
    """A minor's adult is another member of the party (by position), not a report of the lodging."""
    adults = [(g.position, _member_name(g.values)) for g in services.adults_of(arrival)]
    form.accompanying_stay_id.choices = select_choices([("", _("None"))] + adults)
    form.accompanying_stay_id.description = _("For a guest under 18: the adult of your party they travel with.")


def _member_name(values: dict) -> str:
    return f"{values.get('given_names', '')} {values.get('surname', '')}".strip()


def _chosen_adult(form, arrival: Arrival) -> tuple[int | None, bool]:
    raw = form.accompanying_stay_id.data
    if not raw:
        return None, True
    position = parse_id(raw)
    ok = position is not None and any(g.position == position for g in services.adults_of(arrival))
    return (position, True) if ok else (None, False)


@guest_blueprint.route("/c/s/<token>/guests/new", methods=["GET", "POST"])
def new_guest(token: str):
    """One member of the party: the report form's guest fields with the same capture."""
    arrival = _arrival_or_404(token)
    if arrival.status != ArrivalStatus.COLLECTING:
        return see_other(url_for(".status", token=token))
    form = GuestFields(locale=_locale())
    _party_choices(form, arrival)
    form.stay_permit.flags.marked_required = False  # the operator completes it when approving
    form.stay_permit.description = _("If you know it; the lodging completes it otherwise.")
    if request.method == "GET":
        form.form_token.data = secrets.token_urlsafe(32)
    elif _capture_into(form):
        pass  # no lodging: a guest's photo is read and forgotten, never kept
    elif form.validate_on_submit():
        adult, ok = _chosen_adult(form, arrival)
        if not ok:
            form.accompanying_stay_id.errors = [_("Choose an adult from the list.")]
        else:
            values = {name: getattr(form, name).data for name in stays.GUEST_FIELDS}
            try:
                services.add_guest(arrival, values, adult)
            except services.ArrivalError as error:
                form.form_errors = [str(error.message)]
            except stays.StayError as error:
                _apply_errors(form, error)
            else:
                confirm_draft()
                flash(_("%(name)s was added.", name=_member_name(values)), "success")
                return see_other(url_for(".status", token=token))
    _attach_warnings(form, arrival.lodging)
    return render_template("arrivals/guest_form.html", form=form, arrival=arrival, token=token)


@guest_blueprint.route("/c/permit-field")
def permit_field():
    """htmx: the stay permit, pre-set from the visa index typed (as on the operator's form)."""
    form = GuestFields(formdata=request.args, locale=_locale(), meta={"csrf": False})
    if not form.stay_permit.data:
        form.stay_permit.data = suggested_permit(form.visa_index.data or "")
    return render_page_or_fragment("stays/permit_page.html", "stays/_permit_field.html", form=form,
                                   permit_field_url=url_for(".permit_field"))


@guest_blueprint.route("/c/s/<token>/guests/<int:position>/remove", methods=["POST"])
def remove_guest(token: str, position: int):
    arrival = _arrival_or_404(token)
    try:
        services.remove_guest(arrival, position)
    except services.ArrivalError as error:
        flash(str(error.message), "error")
    return see_other(url_for(".status", token=token))


@guest_blueprint.route("/c/s/<token>/send", methods=["POST"])
def send(token: str):
    arrival = _arrival_or_404(token)
    try:
        services.send(arrival, status_url=public_url("guest_arrivals.status", token=token))
    except services.ArrivalError as error:
        flash(str(error.message), "error")
    return see_other(url_for(".status", token=token))


@guest_blueprint.route("/c/s/<token>")
def status(token: str):
    """The guest's page: the party so far, then "sent", then each receipt's verification link."""
    arrival = _arrival_or_404(token)
    verify_links = [public_url("stays.verify", token=verification_token(stay.receipt_number))
                    for stay in services.receipts_of(arrival) if stay.receipt_number]
    return render_template("arrivals/status.html", arrival=arrival, token=token, verify_links=verify_links,
                           member_name=_member_name, is_minor=lambda g: services.is_minor_on(services.guest_values(g).get("date_of_birth"), arrival))


@guest_blueprint.app_template_global()
def guest_language_names() -> dict:
    return {code: GUEST_LANGUAGE_NAMES.get(code, code) for code in current_app.config["GUEST_LANGUAGES"]}


# ---- the operator's pages -------------------------------------------------------------------

@blueprint.route("/lodgings/<int:lodging_id>/self-check-in", methods=["GET", "POST"])
@operator_only
def settings(lodging_id: int):
    lodging = get_own_lodging_or_404(current_user, lodging_id)
    setting = services.setting_of(lodging)
    form = SettingsForm(obj=setting) if setting else SettingsForm()
    if request.method == "POST":
        action = request.form.get("action")
        if action == "on":
            services.switch_on(lodging, current_user)
            flash(_("Self check-in is on. Print the poster and put it where guests see it."), "success")
            return see_other(url_for(".settings", lodging_id=lodging.id))
        if setting is not None and action == "off":
            services.switch_off(setting, current_user)
            flash(_("Self check-in is off: the poster's code no longer opens the guest page."), "info")
            return see_other(url_for(".settings", lodging_id=lodging.id))
        if setting is not None and action == "rotate":
            services.rotate_code(setting, current_user)
            flash(_("The poster has a new code: print it again. The old posters no longer work."), "success")
            return see_other(url_for(".settings", lodging_id=lodging.id))
        if action not in ("off", "rotate", "save"):
            abort(400)  # no button of this page sends anything else
        if setting is None:
            flash(_("Switch self check-in on first."), "error")
            return see_other(url_for(".settings", lodging_id=lodging.id))
        if form.validate_on_submit():
            services.save_preferences(setting, form.notify_by_email.data, form.expiry_hours.data, current_user)
            flash(_("Settings saved."), "success")
            return see_other(url_for(".settings", lodging_id=lodging.id))
    return render_template("arrivals/settings.html", lodging=lodging, setting=setting, form=form,
                           refusal=services.poster_refusal(lodging), guest_url=_guest_url(setting) if setting else "")


def _guest_url(setting) -> str:
    return public_url("guest_arrivals.start", code=setting.poster_code)


@blueprint.route("/lodgings/<int:lodging_id>/self-check-in/poster")
@operator_only
def poster(lodging_id: int):
    """The printable poster (A4 or A6): a large QR code of the short guest URL, in three languages."""
    lodging = get_own_lodging_or_404(current_user, lodging_id)
    setting = services.setting_of(lodging)
    size = "a6" if request.args.get("size") == "a6" else "a4"
    refusal = services.poster_refusal(lodging)
    if setting is None or not setting.enabled or refusal:
        return render_template("arrivals/poster_unavailable.html", lodging=lodging, setting=setting, refusal=refusal), 409
    url = _guest_url(setting)
    qr_svg = segno.make_qr(url, error="q").svg_inline(border=4, omitsize=True, svgclass="poster-qr")
    return render_template("arrivals/poster.html", lodging=lodging, setting=setting, size=size, url=url,
                           qr_svg=Markup(qr_svg), texts=_poster_texts())


def _poster_texts() -> list[dict]:
    """The poster's instructions in Indonesian, English and Chinese at once (one poster for every
    guest, whatever the operator's interface language), from the catalogues."""
    from flask_babel import force_locale

    texts = []
    for language in current_app.config["GUEST_LANGUAGES"]:
        with force_locale(language):
            texts.append({"lang": language, "title": _("Check in with your phone"),
                          "steps": _("Scan the code with your phone's camera, fill in your details (or take a photo of your passport), and send them. "
                                     "The reception checks them and reports your stay to immigration.")})
    return texts


def _own_arrival_or_404(arrival_id: int) -> Arrival:
    found = db.session.execute(select(Arrival).join(Lodging, Arrival.lodging_id == Lodging.id)
                               .where(Arrival.id == arrival_id, Lodging.owner_id == current_user.id)).scalar_one_or_none()
    if found is None or found.status == ArrivalStatus.COLLECTING:
        abort(404)  # another operator's, or a party the guest has not sent yet
    return found


@blueprint.route("/arrivals")
@operator_only
def index():
    return render_template("arrivals/index.html", arrivals=services.waiting_for(current_user.id))


@blueprint.app_template_global()
def waiting_arrivals(lodging=None) -> list:
    """The arrivals waiting for the logged-in operator (for the dashboard)."""
    if not current_user.is_authenticated or current_user.role != Role.OPERATOR:
        return []
    return services.waiting_for(current_user.id, lodging.id if lodging else None)


def _guest_forms(arrival: Arrival, formdata=None) -> list[tuple]:
    """One prefixed guest form per member, filled from what the guest sent (or from the POST)."""
    forms = []
    adults = [(g.position, _member_name(g.values)) for g in services.adults_of(arrival)]
    for guest in arrival.guests:
        values = services.guest_values(guest)
        form = GuestFields(formdata=formdata, data=None if formdata else values, prefix=f"g{guest.position}-", locale=_locale(),
                           meta={"csrf": False})
        form.accompanying_stay_id.choices = select_choices([("", _("None"))] + [(p, n) for p, n in adults if p != guest.position])
        form.accompanying_stay_id.description = _("For a guest under 18: the adult of this party they travel with.")
        if not formdata:
            form.accompanying_stay_id.data = str(guest.adult_position or "")
        forms.append((guest, form))
    return forms


@blueprint.route("/arrivals/<int:arrival_id>", methods=["GET", "POST"])
@operator_only
def review(arrival_id: int):
    """Check the guests' details against their passports, set the room, approve with one tap."""
    arrival = _own_arrival_or_404(arrival_id)
    lodging = arrival.lodging
    if arrival.status != ArrivalStatus.WAITING:
        if request.method == "POST":  # a second tab, a resent form: say so, report nothing again
            flash(str(services.decided_message(arrival)), "info")
            return see_other(url_for(".review", arrival_id=arrival_id))
        return render_template("arrivals/decided.html", arrival=arrival, stays=services.receipts_of(arrival))
    form = ApprovalForm(obj=None)
    guest_forms = _guest_forms(arrival, request.form if request.method == "POST" else None)
    if request.method == "GET":
        form.check_in_at.data = stays.to_local(arrival.check_in_at, lodging).replace(tzinfo=None)
        form.planned_check_out.data = arrival.planned_check_out
        form.purpose.data = arrival.purpose
    else:
        valid = form.validate_on_submit()
        for guest, guest_form in guest_forms:
            valid = guest_form.validate() and valid
        if valid:
            stay_values = {name: getattr(form, name).data for name in stays.STAY_FIELDS}
            stay_values["check_in_at"] = stays.to_utc(stay_values["check_in_at"], lodging)
            values = {}
            for guest, guest_form in guest_forms:
                values[guest.position] = {name: getattr(guest_form, name).data for name in stays.GUEST_FIELDS}
                adult = parse_id(guest_form.accompanying_stay_id.data or "")
                guest.adult_position = adult if adult and adult != guest.position and any(g.position == adult for g in arrival.guests) else None
            try:
                made = services.approve(arrival, values, stay_values, current_user)
            except services.AlreadyDecided as error:
                db.session.rollback()
                flash(str(error.message), "info")
                return see_other(url_for(".review", arrival_id=arrival_id))
            except services.ApprovalProblems as problems:
                db.session.rollback()
                _apply_errors(form, problems)
                for guest, guest_form in guest_forms:
                    if guest.position in problems.by_guest:
                        _apply_errors(guest_form, stays.StayError(problems.by_guest[guest.position]))
            except stays.StayError as error:
                db.session.rollback()
                _apply_errors(form, error)
            else:
                flash(ngettext("Approved: %(num)d report submitted.", "Approved: %(num)d reports submitted.", len(made)), "success")
                return see_other(url_for(".review", arrival_id=arrival_id))
    for _guest, guest_form in guest_forms:
        _attach_warnings(guest_form, lodging)
    return render_template("arrivals/review.html", arrival=arrival, form=form, guest_forms=guest_forms, lodging=lodging,
                           reject_form=RejectForm())


@blueprint.route("/arrivals/<int:arrival_id>/reject", methods=["POST"])
@operator_only
def reject(arrival_id: int):
    arrival = _own_arrival_or_404(arrival_id)
    form = RejectForm()
    if form.validate_on_submit():
        try:
            services.reject(arrival, current_user, form.reason.data or "")
        except services.AlreadyDecided as error:
            flash(str(error.message), "info")
        else:
            flash(_("Rejected: the guests' details were deleted."), "info")
    return see_other(url_for(".index"))


@blueprint.route("/arrivals/<int:arrival_id>/delete", methods=["POST"])
@operator_only
def delete(arrival_id: int):
    arrival = _own_arrival_or_404(arrival_id)
    try:
        services.delete_arrival(arrival, current_user)
    except services.AlreadyDecided as error:
        flash(str(error.message), "info")
        return see_other(url_for(".review", arrival_id=arrival_id))
    flash(_("Deleted: nothing of this check-in is kept."), "info")
    return see_other(url_for(".index"))


def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


blueprint.after_request(no_store)
