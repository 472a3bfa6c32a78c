"""The mess administrator's roster page, and ``PUT /api/v1/roster`` for the HR system."""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import DateTimeLocalField
from wtforms.validators import Optional

from plugins.push_api.auth import authenticate, json_body
from serasi_web.accounts.models import Role
from serasi_web.api.mapping import (
    check_in_as_local_text,
    pointer_errors,
    read_body,
    valid_external_id,
)
from serasi_web.api.problems import problem
from serasi_web.auth import role_required
from serasi_web.extensions import db
from serasi_web.forms import BaseForm, plausible_date
from serasi_web.htmx import see_other
from serasi_web.lodgings.services import get_own_lodging_or_404
from serasi_web.stays import services
from serasi_web.stays.forms import DATETIME_FORMATS
from serasi_web.stays.models import Stay

from .models import RosterSync
from .roster_csv import (
    MAX_CELL_LENGTH,
    MAX_COLUMNS,
    MAX_RESIDENTS,
    MAX_ROSTER_BYTES,
    RosterError,
)
from .service import (
    apply_roster,
    confirm_departures,
    dismiss,
    start_reading,
    store_upload,
)

roster = Blueprint("roster", __name__, template_folder="templates")  # its pages: templates/company_mess/
api_roster = Blueprint("api_roster", __name__, url_prefix="/api/v1")
api_roster.before_request(authenticate)


class RosterUploadForm(BaseForm):
    file = FileField(_l("Roster (CSV)"), description=_l("One row per resident: external_id and the report's fields; see the help below."),
                     validators=[FileRequired(_l("Choose a CSV file."))])


class ConfirmForm(BaseForm):
    # Empty: each resident leaves at the time the first roster without them arrived.
    checked_out_at = DateTimeLocalField(_l("Check-out date and time for all (optional)"), format=DATETIME_FORMATS,
                                        description=_l("Local time of the lodging. Leave it empty to check each resident out at the "
                                                       "time the roster first showed them gone (shown above); fill it in only if you "
                                                       "know they all left at another time."),
                                        validators=[Optional(), plausible_date])


def _mess_or_404(lodging_id: int):
    lodging = get_own_lodging_or_404(current_user, lodging_id)
    if lodging.lodging_type != "company_mess":
        abort(404)
    return lodging


def _record_or_404(lodging, roster_id: int) -> RosterSync:
    record = db.session.execute(select(RosterSync).where(RosterSync.id == roster_id, RosterSync.lodging_id == lodging.id)).scalar_one_or_none()
    if record is None:
        abort(404)
    return record


@roster.route("/lodgings/<int:lodging_id>/roster", methods=["GET", "POST"])
@role_required(Role.OPERATOR)
def index(lodging_id: int):
    """The rosters received, and the CSV upload: the request only stores the file (refused past
    MAX_ROSTER_BYTES while it streams in); the worker reads and applies it, and the roster's page
    says "being read" until then."""
    lodging = _mess_or_404(lodging_id)
    form = RosterUploadForm()
    if form.validate_on_submit():
        if refusal := services.receipt_refusal(lodging):
            form.file.errors = [refusal]
        else:
            try:
                record = store_upload(lodging, form.file.data, f"csv:{current_user.email}")
            except RosterError as error:
                form.file.errors = [str(error.message)]
            else:
                start_reading(record)
                return see_other(url_for("roster.show", lodging_id=lodging.id, roster_id=record.id))
    records = db.session.execute(select(RosterSync).where(RosterSync.lodging_id == lodging.id).order_by(RosterSync.id.desc()).limit(20)).scalars().all()
    limits = dict(mb=MAX_ROSTER_BYTES // (1024 * 1024), n=MAX_RESIDENTS, columns=MAX_COLUMNS, chars=MAX_CELL_LENGTH)
    return render_template("company_mess/roster.html", lodging=lodging, form=form, records=records, limits=limits)


@roster.route("/lodgings/<int:lodging_id>/roster/<int:roster_id>", methods=["GET", "POST"])
@role_required(Role.OPERATOR)
def show(lodging_id: int, roster_id: int):
    lodging = _mess_or_404(lodging_id)
    record = _record_or_404(lodging, roster_id)
    form = ConfirmForm()
    if request.method == "POST" and record.status != "pending":  # reading, failed or already decided
        flash(_("This roster was already decided."), "info")
        return see_other(url_for("roster.show", lodging_id=lodging.id, roster_id=record.id))
    if request.method == "POST" and request.form.get("action") == "dismiss":
        dismiss(record)
        flash(_("The departures were dismissed; the residents stay in the house."), "info")
        return see_other(url_for("roster.index", lodging_id=lodging.id))
    if form.validate_on_submit():
        given = form.checked_out_at.data  # empty: each at the time the roster first showed them gone
        try:
            count = confirm_departures(record, services.to_utc(given, lodging) if given else None, current_user)
        except services.StayError as error:  # in the future, or before a resident's check-in: nothing written
            form.checked_out_at.errors = list(error.field_errors.values())
        else:
            flash(_("%(count)d residents checked out.", count=count), "success")
            return see_other(url_for("roster.index", lodging_id=lodging.id))
    stays = {stay.id: stay for stay in db.session.execute(select(Stay).where(Stay.id.in_(record.arrived + record.departing))).scalars()}
    return render_template("company_mess/roster_show.html", lodging=lodging, record=record, form=form, stays=stays)


@api_roster.put("/roster")
def put_roster():
    """The HR system's full list of foreign residents housed now at the token's mess."""
    if g.lodging.lodging_type != "company_mess":
        return problem(409, "Conflict", "This token's lodging is not a company mess.", "not-a-mess")
    if refusal := services.receipt_refusal(g.lodging):
        # A roster is the whole truth: applied in part (departures without the arrivals) it would mislead.
        return problem(403, "Forbidden", refusal, "lodging-refused")
    body, failure = json_body(current_app.config["API_MAX_BATCH_BODY"])  # up to 5,000 residents
    if failure:
        return failure
    if not isinstance(body, dict) or not isinstance(body.get("residents"), list) or set(body) - {"residents"}:
        return problem(422, "Unprocessable Content", "Send {\"residents\": [...]}.", "invalid-roster", errors=[{"pointer": "/residents", "detail": "required: an array"}])
    if len(body["residents"]) > MAX_RESIDENTS:
        return problem(422, "Unprocessable Content", f"A roster holds at most {MAX_RESIDENTS} residents.", "invalid-roster",
                       errors=[{"pointer": "/residents", "detail": f"at most {MAX_RESIDENTS} items"}])
    residents, errors, seen = [], [], set()
    for index, item in enumerate(body["residents"]):
        prefix = f"/residents/{index}"
        external_id = item.get("external_id") if isinstance(item, dict) else None
        if not valid_external_id(external_id) or external_id in seen:
            errors.append({"pointer": prefix + "/external_id", "detail": "required, unique, 1-100 printable characters"})
            continue
        seen.add(external_id)
        values, problems = read_body(item, prefix, allowed_top={"external_id"})
        if problems:
            errors.extend(problems)
            continue
        if values.get("check_in_at"):
            values["check_in_at"] = check_in_as_local_text(values["check_in_at"], g.lodging)
        residents.append((external_id, values))
    if errors:
        # A roster is the whole truth: a partial one would propose wrong departures.
        return problem(422, "Unprocessable Content", "The roster has invalid entries; nothing was applied.", "invalid-roster", errors=errors)
    record = apply_roster(g.lodging, residents, f"api:{g.api_token.name}")
    external = dict(db.session.execute(select(Stay.id, Stay.external_id).where(Stay.id.in_(record.arrived + record.departing))).all())
    return {
        "roster_id": record.id, "status": record.status,
        "arrived": [external[i] for i in record.arrived], "departing_awaiting_confirmation": [external[i] for i in record.departing],
        # When a roster first left each one out: the check-out time a confirmation will record.
        "departing_since": {external[i]: record.departed_at(i).isoformat() for i in record.departing},
        "unchanged": record.unchanged,
        "problems": [{"external_id": p["external_id"], "errors": pointer_errors({p["field"]: p["message"]}, "")} for p in record.problems],
    }
