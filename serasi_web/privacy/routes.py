"""The office's answers to data subjects' access requests (officers only; docs/privacy.md)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from ..accounts.models import Role
from ..auth import role_required
from ..forms import page_arg
from ..htmx import see_other
from ..officer.queries import normalise_document_number
from ..reference import countries
from . import access
from .forms import CHANNEL_LABELS, SubjectRequestForm

blueprint = Blueprint("privacy", __name__, url_prefix="/officer/requests")
# Data-subject requests are answered by the office's officers and its data-protection officer.
officer_only = role_required(Role.OFFICER, Role.DPO)


def _private(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _form(*, empty: bool = False) -> SubjectRequestForm:
    form = SubjectRequestForm(formdata=None) if empty else SubjectRequestForm()
    form.set_choices(countries.choices(str(get_locale())))
    return form


@blueprint.route("/", methods=["GET", "POST"])
@officer_only
def index():
    """The office's requests, and the form to record a new one."""
    if request.method == "POST":
        form = _form()
        if form.validate_on_submit():
            recorded = access.record_request(
                current_user, document_number=normalise_document_number(form.document_number.data), issuing_state=form.issuing_state.data,
                received_on=form.received_on.data, channel=form.channel.data, reference=form.reference.data or "")
            return see_other(url_for("privacy.answer", request_id=recorded.id))
    else:
        form = _form(empty=True)
    page = _page(page_arg())
    return _private(current_app.make_response(render_template("privacy/requests.html", form=form, page=page, channels=CHANNEL_LABELS)))


def _page(number: int):
    from ..officer.queries import fetch_page

    return fetch_page(access.requests_of(current_user), number, current_app.config["PAGE_SIZE"])


def _request_or_404(request_id: int):
    found = access.request_in_scope(current_user, request_id)
    if found is None:
        abort(404)
    return found


@blueprint.route("/<int:request_id>")
@officer_only
def answer(request_id: int):
    """The answer, to print (or save as PDF from the browser) and hand over."""
    from ..officer.scope import scope_for

    result = access.answer(_request_or_404(request_id), current_user)
    return _private(current_app.make_response(render_template("privacy/answer.html", result=result, channels=CHANNEL_LABELS,
                                                              zone_region=scope_for(current_user).zone_region)))


@blueprint.route("/<int:request_id>/answer.json")
@officer_only
def answer_json(request_id: int):
    import json

    result = access.answer(_request_or_404(request_id), current_user)
    body = json.dumps(access.as_json(result), ensure_ascii=False, indent=2)
    return _private(current_app.response_class(body, mimetype="application/json", headers={
        "Content-Disposition": f"attachment; filename=access-request-{result.request.id}.json"}))


# ---- the purpose of access ----------------------------------------------------------------------

purpose_blueprint = Blueprint("purpose", __name__, url_prefix="/officer/purpose")


def safe_next(value: str | None) -> str:
    """Where to go back to: a console path of this site (no query string, so no search terms)."""
    if value and value.startswith("/officer/") and "//" not in value and "\\" not in value and "?" not in value:
        return value
    return url_for("officer.stays")


@purpose_blueprint.route("/", methods=["GET", "POST"])
@role_required(Role.OFFICER, Role.SUPERVISOR, Role.ADMIN)
def set_purpose():
    """Say why you need guests' data in this session; every access-log entry carries it."""
    from flask import flash
    from flask_babel import gettext as _

    from .forms import PurposeForm
    from .purpose import current_purpose, set_purpose as remember

    form = PurposeForm() if request.method == "POST" else PurposeForm(formdata=None)
    form.set_choices()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
        if (given := current_purpose()) is not None:
            form.purpose.data, form.text.data = given["code"], given.get("text", "")
    elif form.validate_on_submit():
        remember(form.purpose.data, form.text.data or "")
        flash(_("Purpose noted for this session."), "success")
        return see_other(safe_next(form.next.data))
    return _private(current_app.make_response(render_template("privacy/purpose.html", form=form)))


# ---- the office's access log (its data-protection officer) -------------------------------------

access_log_blueprint = Blueprint("access_log", __name__, url_prefix="/officer/access-log")
dpo_only = role_required(Role.DPO)


def _access_log_form():
    """The filter form (POST, so that no guest's name reaches a URL) and the filters it selects."""
    from datetime import datetime, time, timedelta

    from ..officer.scope import scope_for
    from .access_log import Filters, office_lodgings
    from .forms import AccessLogFilterForm

    form = AccessLogFilterForm() if request.method == "POST" else AccessLogFilterForm(formdata=None)
    lodgings = office_lodgings(current_user)
    form.set_choices(lodgings)
    if request.method == "POST" and not form.validate_on_submit():
        return form, None
    zone = scope_for(current_user).time_zone

    def day_start(day):
        return datetime.combine(day, time(0), tzinfo=zone) if day else None

    return form, Filters(actor=form.actor.data or "", guest=form.guest.data or "",
                         lodging_id=form.lodging_id.data or None,
                         start=day_start(form.start.data), end=day_start(form.end.data + timedelta(days=1)) if form.end.data else None)


@access_log_blueprint.route("/", methods=["GET", "POST"], endpoint="index")
@dpo_only
def access_log_page():
    """Who read which guest's data, when and what for; filters by staff, guest, lodging and day."""
    from ..officer.queries import fetch_page
    from ..officer.scope import scope_for
    from ..officer.services import record_access
    from . import access_log

    form, filters = _access_log_form()
    page = subjects = None
    if filters is not None:
        if filters.names_a_guest():  # looking a person up in the log is itself an access
            record_access(current_user, access_log.SEARCHED, details={"page": form.page_number()})
        page = fetch_page(access_log.events_query(current_user, filters), form.page_number(), current_app.config["PAGE_SIZE"])
        subjects = access_log.subjects_of(page.items)
    return _private(current_app.make_response(render_template(
        "privacy/access_log.html", form=form, page=page, subjects=subjects, zone_region=scope_for(current_user).zone_region)))


@access_log_blueprint.route("/export", methods=["POST"])
@dpo_only
def export():
    """The filtered log as CSV (every report each event showed), itself logged."""
    from ..officer.exports import streamed_csv
    from ..officer.services import record_access
    from . import access_log

    form, filters = _access_log_form()
    if filters is None:
        return access_log_page()  # the form again, with the messages at its fields
    record_access(current_user, access_log.EXPORTED)
    return streamed_csv(access_log.EXPORT_COLUMNS, access_log.export_rows(current_user, filters), "access-log.csv")
