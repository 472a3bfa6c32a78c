"""The operator's reporting pages: report a guest or a group, drafts, corrections, voiding,
check-out, receipts, the dashboard; and the public receipt verification page."""
from __future__ import annotations

import secrets

import segno
from flask import Blueprint, abort, current_app, flash, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from ..links import public_url
from ..accounts.models import Role
from ..auth import role_required
from ..database import utcnow
from ..extensions import db
from ..form_drafts import confirm_draft
from ..forms import page_arg, parse_id, text_arg
from ..htmx import render_page_or_fragment, see_other
from ..lodgings.models import Lodging
from ..lodgings.services import get_own_lodging_or_404, lodgings_of
from ..reference.permits import suggested_permit
from . import services
from .forms import CheckOutForm, CorrectionForm, GroupForm, GuestFields, StayForm, VoidForm
from .models import Stay, StayGroup, StayStatus
from .queries import VIEWS, count, stays_query
from .receipts import receipt_number_from_token, verification_token

blueprint = Blueprint("stays", __name__)
operator_only = role_required(Role.OPERATOR)
DASHBOARD_LIST_SIZE = 10
CAPTURE_ACTIONS = ("capture_photo", "capture_mrz")


@blueprint.before_request
def allow_large_photos():
    """Report forms may carry a photo: accept a larger body so that an oversized photo gets a
    message at the field (and the typed values come back) instead of a bare 413 page."""
    if request.method == "POST":
        request.max_content_length = current_app.config["CAPTURE_REQUEST_LIMIT"]


def _capture_into(form, lodging: Lodging | None = None, draft: Stay | None = None) -> bool:
    """Fill the form from a photo or typed MRZ when a capture button was pressed (True if so)."""
    from ..capture.images import CaptureError
    from ..capture.service import capture_mrz, capture_photo, read_photo
    from ..capture.storage import claim_photos, keep_photo

    action = request.form.get("action")
    if action not in CAPTURE_ACTIONS:
        return False
    form.capture_errors = {}
    try:
        if action == "capture_photo":
            data = read_photo(request.files.get("photo"))
            capture = capture_photo(data)
            if lodging is not None:
                keep_photo(data, lodging.id, form.form_token.data or "")
                if draft is not None:
                    claim_photos(draft)
                    db.session.commit()
        else:
            capture = capture_mrz(request.form.get("mrz_text", ""))
    except CaptureError as error:
        form.capture_errors["photo" if action == "capture_photo" else "mrz_text"] = str(error.message)
        return True
    for name, value in capture.values.items():
        field = getattr(form, name, None)
        if field is None:
            continue
        field.data = value
        field.raw_data = None  # render the captured value, not what the browser sent
        field.captured_from = capture.sources[name]
    for name, message in capture.problems.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + [message]
        else:
            form.capture_errors[name] = message
    for name, message in capture.warnings.items():
        field = getattr(form, name, None)
        if field is not None:
            field.warnings = [*getattr(field, "warnings", []), message]
    form.capture = capture
    return True


# ---- scoping ------------------------------------------------------------------------------

def _owned_or_404(model, object_id: int):
    """A stay or group of one of the operator's own lodgings; anything else answers 404."""
    found = db.session.execute(
        select(model).join(Lodging, model.lodging_id == Lodging.id).where(model.id == object_id, Lodging.owner_id == current_user.id)
    ).scalar_one_or_none()
    if found is None:
        abort(404)
    return found


def get_own_stay_or_404(stay_id: int) -> Stay:
    return _owned_or_404(Stay, stay_id)


def get_own_group_or_404(group_id: int) -> StayGroup:
    return _owned_or_404(StayGroup, group_id)


# ---- form helpers -------------------------------------------------------------------------

def _locale() -> str:
    return str(get_locale())


def _report_values(form, lodging: Lodging, fields=services.REPORT_FIELDS) -> dict:
    values = {name: getattr(form, name).data for name in fields if hasattr(form, name)}
    if values.get("check_in_at"):
        values["check_in_at"] = services.to_utc(values["check_in_at"], lodging)
    return values


def _accompanying_choices(form, lodging: Lodging, exclude_id: int | None = None, group: StayGroup | None = None) -> None:
    """Offer the open adult stays of the lodging (or of the group) as accompanying adults.

    The list is built only when the form is shown: a submission that passes checks just the one
    id it sent (building 200 guests for every POST was half of a submission's time).
    """
    from ..forms import select_choices

    def adults() -> list[Stay]:
        if group is not None:
            candidates = [m for m in group.members if m.status != StayStatus.VOIDED]
        else:
            candidates = db.session.execute(
                select(Stay).where(Stay.lodging_id == lodging.id, Stay.status.in_(("draft", "reported"))).order_by(Stay.surname).limit(200)
            ).scalars().all()
        return [s for s in candidates if s.id != exclude_id and not services.is_minor(s)]

    form.accompanying_stay_id.choices = lambda: select_choices([("", _("None"))] + [(s.id, f"{s.full_name} ({s.document_number})") for s in adults()])
    form._accompanying_scope = (lodging, exclude_id, group)


def _accompanying_value(form) -> tuple[int | None, bool]:
    """The accompanying adult's stay id sent with the form, checked alone: (id or None, valid)."""
    raw = form.accompanying_stay_id.data
    if not raw:
        return None, True
    value = parse_id(raw)
    if value is None:
        return None, False
    lodging, exclude_id, group = form._accompanying_scope
    stay = db.session.get(Stay, value)
    ok = (stay is not None and stay.lodging_id == lodging.id and stay.id != exclude_id and stay.status in ("draft", "reported")
          and (group is None or stay.group_id == group.id) and not services.is_minor(stay))
    return (value, True) if ok else (None, False)


def _apply_errors(form, error: services.StayError) -> None:
    """Messages of broken rules at their fields; the others (a plugin's rule about no field of
    the form) at the top of the form, in the error summary, never under an internal name."""
    for field_name, message in error.field_errors.items():
        field = getattr(form, field_name, None) if field_name else None
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + [message]
        else:
            form.form_errors = list(getattr(form, "form_errors", [])) + [message]


def _validate_in_one_pass(form, lodging: Lodging, *, submit: bool, fields=services.REPORT_FIELDS, known: dict | None = None) -> bool:
    """Validate the form; when it fails, check the report's own rules on the values that did
    parse too, so every mistake (a birth date in the future, an expired document, a permit
    ending before entry, a check-out before the check-in, a missing stay permit) comes back in
    the first round. ``known``: values that come from elsewhere (a group's dates)."""
    if form.validate_on_submit():
        return True
    if request.method != "POST":
        return False
    values = {name: getattr(form, name).data for name in fields if hasattr(form, name) and not getattr(form, name).errors}
    if values.get("check_in_at"):
        values["check_in_at"] = services.to_utc(values["check_in_at"], lodging)
    values |= known or {}
    for name, message in services.rule_problems(lodging, services.complete_values(values), submit=submit).items():
        field = getattr(form, name, None)
        if field is not None and not field.errors:
            field.errors = [message]
    return False


def _attach_warnings(form, lodging: Lodging) -> None:
    """Warnings at their fields (the document or the permit ends before the planned check-out),
    from the values the form holds now: typed, read from the document, or saved."""
    values = {}
    for name in ("document_expiry", "planned_check_out", "permit_valid_until", "check_in_at"):
        field = getattr(form, name, None)
        if field is not None and not field.errors and field.data:
            values[name] = field.data
    if values.get("check_in_at"):
        values["check_in_at"] = services.to_utc(values["check_in_at"], lodging)
    for name, message in services.date_warnings(values, lodging).items():
        field = getattr(form, name)
        if not field.errors:
            field.warnings = [*getattr(field, "warnings", []), message]


def _render_report_form(template: str, form, warn_for: Lodging, **context):
    _attach_warnings(form, warn_for)
    return render_template(template, form=form, **context)


def _fill_from_stay(form, stay: Stay) -> None:
    """What ``obj=stay`` cannot fill: the check-in in the lodging's local time, the adult's id."""
    form.check_in_at.data = services.to_local(stay.check_in_at, stay.lodging).replace(tzinfo=None)
    form.accompanying_stay_id.data = str(stay.accompanying_stay_id or "")


def _prefill_check_in(form, lodging: Lodging) -> None:
    if not form.check_in_at.data:
        form.check_in_at.data = services.to_local(utcnow(), lodging).replace(tzinfo=None, second=0, microsecond=0)


# ---- report one guest ---------------------------------------------------------------------

@blueprint.route("/lodgings/<int:lodging_id>/stays/new", methods=["GET", "POST"])
@operator_only
def new(lodging_id: int):
    lodging = get_own_lodging_or_404(current_user, lodging_id)
    form = StayForm(locale=_locale())
    _accompanying_choices(form, lodging)
    if request.method == "GET":
        form.form_token.data = secrets.token_urlsafe(32)
        form.visa_index.data = request.args.get("visa_index", "")
        _prefill_check_in(form, lodging)
    elif _capture_into(form, lodging):
        pass
    elif _validate_in_one_pass(form, lodging, submit=request.form.get("action") == "submit"):
        accompanying, ok = _accompanying_value(form)
        if not ok:
            form.accompanying_stay_id.errors = [_("Choose an adult from the list.")]
        else:
            values = _report_values(form, lodging) | {"accompanying_stay_id": accompanying}
            submit = request.form.get("action") == "submit"
            try:
                result = services.create_stay(lodging, values, current_user, submit=submit, form_token=form.form_token.data or None)
            except services.DuplicateStay as duplicate:
                _apply_errors(form, duplicate)
                return _render_report_form("stays/form.html", form, lodging, lodging=lodging, stay=None, duplicate=duplicate.existing)
            except services.StayError as error:
                _apply_errors(form, error)
            else:
                stay = result.stay
                confirm_draft()
                if result.created:
                    flash(_("Report submitted. Receipt %(number)s.", number=stay.receipt_number) if stay.receipt_number
                          else _("Draft saved. Submit it before %(deadline)s.", deadline=_deadline_text(stay)), "success")
                return see_other(url_for("stays.show", stay_id=stay.id))
    return _render_report_form("stays/form.html", form, lodging, lodging=lodging, stay=None, duplicate=None)


def _deadline_text(stay: Stay) -> str:
    from ..templating import local_time

    return local_time(stay.deadline_at, stay.lodging.province_code, "short")


@blueprint.route("/stays/permit-field")
@operator_only
def permit_field():
    """htmx: the stay permit select, pre-set from the visa index typed (when still empty)."""
    form = GuestFields(formdata=request.args, locale=_locale(), meta={"csrf": False})
    if not form.stay_permit.data:
        form.stay_permit.data = suggested_permit(form.visa_index.data or "")
        if form.stay_permit.data:
            form.stay_permit.description = _("Suggested from the visa index; check it. Needed to submit the report.")
    return render_page_or_fragment("stays/permit_page.html", "stays/_permit_field.html", form=form)


def _missing_to_submit(draft: Stay) -> list[str]:
    """The labels of what ``draft`` still lacks to be submitted: a draft a property system
    brought waits for what it has no place for (the passport, the entry date), said up front."""
    names = [name for name in services.NEEDED_TO_SUBMIT if not getattr(draft, name)]
    if not names:
        return []
    labels = StayForm(formdata=None, meta={"csrf": False})
    return [str(labels[name].label.text) for name in names]


@blueprint.route("/stays/<int:stay_id>")
@operator_only
def show(stay_id: int):
    from ..capture.storage import photo_ids
    from ..integrations.sources import source_label

    stay = get_own_stay_or_404(stay_id)
    missing = _missing_to_submit(stay) if stay.status == StayStatus.DRAFT else []
    return render_template("stays/show.html", stay=stay, is_minor=services.is_minor(stay), now=utcnow(), photo_ids=photo_ids(stay),
                           source_label=source_label, missing=missing)


@blueprint.route("/stays/<int:stay_id>/photos/<int:photo_id>.jpg")
@operator_only
def photo(stay_id: int, photo_id: int):
    """A photo kept with a draft (CAPTURE_KEEP_PHOTOS), for the operator who finishes the report."""
    from ..capture.models import CapturePhoto

    stay = get_own_stay_or_404(stay_id)
    row = db.session.execute(select(CapturePhoto).where(CapturePhoto.id == photo_id, CapturePhoto.stay_id == stay.id)).scalar_one_or_none()
    if row is None:
        abort(404)
    return current_app.response_class(row.content, mimetype="image/jpeg", headers={"Cache-Control": "private, no-store"})


@blueprint.route("/stays/<int:stay_id>/edit", methods=["GET", "POST"])
@operator_only
def edit(stay_id: int):
    stay = get_own_stay_or_404(stay_id)
    if stay.status != StayStatus.DRAFT:
        return see_other(url_for("stays.correct", stay_id=stay.id))
    form = StayForm(obj=stay, locale=_locale())
    _accompanying_choices(form, stay.lodging, exclude_id=stay.id)
    if request.method == "GET":
        _fill_from_stay(form, stay)
    elif _capture_into(form, stay.lodging, stay):
        pass
    elif _validate_in_one_pass(form, stay.lodging, submit=request.form.get("action") == "submit"):
        accompanying, ok = _accompanying_value(form)
        if not ok:
            form.accompanying_stay_id.errors = [_("Choose an adult from the list.")]
        else:
            values = _report_values(form, stay.lodging) | {"accompanying_stay_id": accompanying}
            try:
                services.update_draft(stay, values, current_user, submit=request.form.get("action") == "submit")
            except services.DuplicateStay as duplicate:
                _apply_errors(form, duplicate)
                return _render_report_form("stays/form.html", form, stay.lodging, lodging=stay.lodging, stay=stay, duplicate=duplicate.existing)
            except services.StayError as error:
                _apply_errors(form, error)
            else:
                confirm_draft()
                flash(_("Report submitted. Receipt %(number)s.", number=stay.receipt_number) if stay.receipt_number else _("Draft saved."), "success")
                return see_other(url_for("stays.show", stay_id=stay.id))
    return _render_report_form("stays/form.html", form, stay.lodging, lodging=stay.lodging, stay=stay, duplicate=None)


@blueprint.route("/stays/<int:stay_id>/submit", methods=["POST"])
@operator_only
def submit(stay_id: int):
    stay = get_own_stay_or_404(stay_id)
    if stay.status == StayStatus.DRAFT:
        try:
            services.submit(stay, current_user)
            flash(_("Report submitted. Receipt %(number)s.", number=stay.receipt_number), "success")
        except services.StayError as error:
            db.session.rollback()
            for message in error.field_errors.values():
                flash(message, "error")
            return see_other(url_for("stays.edit", stay_id=stay.id))
    return see_other(url_for("stays.show", stay_id=stay.id))


@blueprint.route("/stays/<int:stay_id>/correct", methods=["GET", "POST"])
@operator_only
def correct(stay_id: int):
    stay = get_own_stay_or_404(stay_id)
    if stay.status == StayStatus.DRAFT:
        return see_other(url_for("stays.edit", stay_id=stay.id))
    if stay.status == StayStatus.VOIDED:
        abort(404)
    form = CorrectionForm(obj=stay, locale=_locale())
    _accompanying_choices(form, stay.lodging, exclude_id=stay.id)
    if request.method == "GET":
        _fill_from_stay(form, stay)
    elif _validate_in_one_pass(form, stay.lodging, submit=True):
        accompanying, ok = _accompanying_value(form)
        if not ok:
            form.accompanying_stay_id.errors = [_("Choose an adult from the list.")]
        else:
            values = _report_values(form, stay.lodging) | {"accompanying_stay_id": accompanying}
            try:
                changed = services.correct(stay, values, form.reason.data, current_user)
            except services.DuplicateStay as duplicate:
                _apply_errors(form, duplicate)
                return _render_report_form("stays/correct.html", form, stay.lodging, stay=stay, duplicate=duplicate.existing)
            except services.StayError as error:
                db.session.rollback()
                stay = get_own_stay_or_404(stay_id)
                _apply_errors(form, error)
            else:
                confirm_draft()
                flash(_("Correction saved as version %(version)d.", version=stay.version) if changed else _("Nothing was changed."),
                      "success" if changed else "info")
                return see_other(url_for("stays.show", stay_id=stay.id))
    return _render_report_form("stays/correct.html", form, stay.lodging, stay=stay, duplicate=None)


@blueprint.route("/stays/<int:stay_id>/void", methods=["GET", "POST"])
@operator_only
def void(stay_id: int):
    from ..forms import select_choices

    stay = get_own_stay_or_404(stay_id)
    form = VoidForm()
    if stay.status == StayStatus.VOIDED:
        return see_other(url_for("stays.show", stay_id=stay.id))
    minors = services.linked_minors(stay)
    adults = []
    if minors:
        # Other adults who could accompany the minors: open reports of this lodging, 18 or over.
        candidates = db.session.execute(select(Stay).where(
            Stay.lodging_id == stay.lodging_id, Stay.status.in_(("draft", "reported")), Stay.id != stay.id)
            .order_by(Stay.surname).limit(200)).scalars().all()
        adults = [s for s in candidates if not services.is_minor(s)]
        form.new_adult_id.choices = select_choices([("", _("Choose ..."))] + [(s.id, f"{s.full_name} ({s.document_number})") for s in adults])
        form.minors.flags.marked_required = True
    valid = form.validate_on_submit()
    if request.method == "POST" and minors and request.form.get("minors") not in ("void", "move"):
        form.minors.errors = list(form.minors.errors) + [_("Choose what happens to the minors travelling with this guest.")]
        valid = False
    if valid:
        new_adult = next((s for s in adults if s.id == parse_id(form.new_adult_id.data or "")), None)
        try:
            services.void_with_minors(stay, form.reason.data, current_user, minors=form.minors.data if minors else None, new_adult=new_adult)
        except services.StayError as error:
            db.session.rollback()
            stay = get_own_stay_or_404(stay_id)
            _apply_errors(form, error)
        else:
            flash(_("The report was voided. It stays in the history."), "info")
            return see_other(url_for("stays.show", stay_id=stay.id))
    return render_template("stays/void.html", form=form, stay=stay, minors=minors, adults=adults)


@blueprint.route("/stays/<int:stay_id>/check-out", methods=["GET", "POST"])
@operator_only
def check_out(stay_id: int):
    stay = get_own_stay_or_404(stay_id)
    return _check_out_page(stay.lodging, [stay], single=stay)


@blueprint.route("/lodgings/<int:lodging_id>/check-out", methods=["GET", "POST"])
@operator_only
def check_out_many(lodging_id: int):
    lodging = get_own_lodging_or_404(current_user, lodging_id)
    in_house = db.session.execute(
        select(Stay).where(Stay.lodging_id == lodging.id, Stay.status == StayStatus.REPORTED).order_by(Stay.room, Stay.surname).limit(500)
    ).scalars().all()
    return _check_out_page(lodging, in_house)


def _check_out_page(lodging: Lodging, candidates: list[Stay], single: Stay | None = None):
    form = CheckOutForm()
    selected_ids = {stay.id for stay in candidates} if single else set()
    if request.method == "GET":
        form.checked_out_at.data = services.to_local(utcnow(), lodging).replace(tzinfo=None, second=0, microsecond=0)
    else:
        if not single:
            selected_ids = {parse_id(v) for v in request.form.getlist("stay_ids")} - {None}
        if form.validate_on_submit():
            chosen = [stay for stay in candidates if stay.id in selected_ids]
            if not chosen:
                form.checked_out_at.errors = [_("Choose at least one guest.")]
            else:
                try:
                    services.check_out(chosen, services.to_utc(form.checked_out_at.data, lodging), current_user)
                except services.StayError as error:
                    db.session.rollback()
                    _apply_errors(form, error)
                else:
                    confirm_draft()
                    flash(_("%(count)d guests checked out.", count=len(chosen)) if len(chosen) > 1 else _("Guest checked out."), "success")
                    return see_other(url_for("stays.show", stay_id=single.id) if single else url_for("stays.dashboard", lodging=lodging.id))
    return render_template("stays/check_out.html", form=form, lodging=lodging, candidates=candidates, single=single,
                           selected_ids=selected_ids)


# ---- receipts -----------------------------------------------------------------------------

@blueprint.route("/stays/<int:stay_id>/receipt")
@operator_only
def receipt(stay_id: int):
    stay = get_own_stay_or_404(stay_id)
    if not stay.receipt_number:
        abort(404)
    verify_url = public_url("stays.verify", token=verification_token(stay.receipt_number))
    qr_svg = Markup(segno.make_qr(verify_url, error="m").svg_inline(scale=3, border=2, omitsize=False))
    return render_template("stays/receipt.html", stay=stay, verify_url=verify_url, qr_svg=qr_svg)


@blueprint.route("/verify/<token>")
def verify(token: str):
    """Public: is this receipt genuine? Shows no name and no document number."""
    number = receipt_number_from_token(token)
    stay = db.session.execute(select(Stay).where(Stay.receipt_number == number)).scalar_one_or_none() if number else None
    response = render_template("stays/verify.html", stay=stay, number=number)
    return response, (200 if stay else 404)


# ---- groups -------------------------------------------------------------------------------

@blueprint.route("/lodgings/<int:lodging_id>/groups/new", methods=["GET", "POST"])
@operator_only
def new_group(lodging_id: int):
    lodging = get_own_lodging_or_404(current_user, lodging_id)
    form = GroupForm()
    if request.method == "GET":
        _prefill_check_in(form, lodging)
    elif _validate_in_one_pass(form, lodging, submit=False, fields=services.STAY_FIELDS):
        values = _report_values(form, lodging, fields=("name", "check_in_at", "planned_check_out", "room", "purpose", "notes"))
        try:
            group = services.create_group(lodging, values, current_user)
        except services.StayError as error:
            _apply_errors(form, error)
        else:
            confirm_draft()
            return see_other(url_for("stays.group", group_id=group.id))
    return render_template("stays/group_form.html", form=form, lodging=lodging)


@blueprint.route("/groups/<int:group_id>")
@operator_only
def group(group_id: int):
    group = get_own_group_or_404(group_id)
    return render_template("stays/group.html", group=group, is_minor=services.is_minor)


@blueprint.route("/groups/<int:group_id>/guests/new", methods=["GET", "POST"])
@operator_only
def add_group_guest(group_id: int):
    group = get_own_group_or_404(group_id)
    lodging = group.lodging
    form = GuestFields(locale=_locale())
    _accompanying_choices(form, lodging, group=group)
    if request.method == "GET":
        form.form_token.data = secrets.token_urlsafe(32)
    elif _capture_into(form, lodging):
        pass
    else:
        # A guest joins the group only with everything the report needs (the stay permit, an
        # adult for a minor): "send all reports" must not fail later, guest by guest.
        valid = _validate_in_one_pass(form, lodging, submit=True, fields=services.GUEST_FIELDS, known=services.group_stay_values(group))
        accompanying, ok = _accompanying_value(form)
        birth = form.date_of_birth.data if not form.date_of_birth.errors else None
        minor = birth and services.age_on(birth, services.to_local(group.check_in_at, lodging).date()) < services.ADULT_AGE
        if not ok:
            form.accompanying_stay_id.errors = [_("Choose an adult from the list.")]
        elif minor and accompanying is None:
            form.accompanying_stay_id.errors = [_("A guest under 18 needs an accompanying adult: add the adult first, then choose them here.")]
        values = _report_values(form, lodging, fields=services.GUEST_FIELDS) | services.group_stay_values(group)
        problems = services.report_problems(lodging, services.complete_values(values), submit=True) if valid and not form.accompanying_stay_id.errors else {}
        if problems:
            _apply_errors(form, services.StayError(problems))
        elif valid and not form.accompanying_stay_id.errors:
            try:
                services.create_stay(lodging, values | {"accompanying_stay_id": accompanying}, current_user, submit=False,
                                     form_token=form.form_token.data or None, group=group)
            except services.DuplicateStay as duplicate:
                _apply_errors(form, duplicate)
                return render_template("stays/group_guest.html", form=form, group=group, duplicate=duplicate.existing)
            except services.StayError as error:
                _apply_errors(form, error)
            else:
                confirm_draft()
                flash(_("Guest added to the group."), "success")
                return see_other(url_for("stays.group", group_id=group.id))
    return render_template("stays/group_guest.html", form=form, group=group, duplicate=None)


@blueprint.route("/groups/<int:group_id>/submit", methods=["POST"])
@operator_only
def submit_group(group_id: int):
    group = get_own_group_or_404(group_id)
    try:
        submitted = services.submit_group(group, current_user)
    except services.StayError as error:
        db.session.rollback()
        for name, message in error.field_errors.items():
            flash(f"{name}: {message}" if name else message, "error")
    else:
        flash(_("%(count)d reports submitted.", count=len(submitted)), "success")
    return see_other(url_for("stays.group", group_id=group.id))


# ---- dashboard and lists ------------------------------------------------------------------

DASHBOARD_SECTIONS = ("drafts_overdue", "drafts_due", "planned_passed", "in_house", "recent")


def _lodging_filter(raw: str | None = None) -> Lodging | None:
    raw = request.args.get("lodging", "") if raw is None else raw
    if not raw:
        return None
    lodging_id = parse_id(raw)
    if lodging_id is None:
        abort(404)  # not an id: no lodging of anyone's
    return get_own_lodging_or_404(current_user, lodging_id)


@blueprint.route("/dashboard")
@operator_only
def dashboard():
    lodging = _lodging_filter()
    lodgings = lodgings_of(current_user)
    now = utcnow()
    sections = {}
    for view in DASHBOARD_SECTIONS:
        query = stays_query(current_user.id, view, now, lodging.id if lodging else None)
        sections[view] = {"stays": db.session.execute(query.limit(DASHBOARD_LIST_SIZE)).scalars().all(), "count": count(query)}
    return render_template("stays/dashboard.html", lodging=lodging, lodgings=lodgings, sections=sections, now=now)


OPERATOR_SEARCH = "stays.index"


@blueprint.route("/stays", methods=["GET", "POST"])
@operator_only
def index():
    """A list of the operator's guests, and the search by name or document number.

    The search is POSTed and answered with a redirect to ``/stays/s/<id>`` (the terms kept on
    the server, ``serasi_web.searches``), so a guest's name or passport number never appears in
    a URL, a Referer or an access log. A GET reads only the list and the lodging.
    """
    if request.method == "POST":
        from ..searches.services import save_search

        view, lodging = _view(request.form.get("view")), _lodging_filter(request.form.get("lodging", ""))
        search = text_arg("q", source=request.form)
        if not search:
            return see_other(url_for("stays.index", view=view, lodging=lodging.id if lodging else None))
        saved = save_search(current_user, OPERATOR_SEARCH, {"q": search, "view": view, "lodging": str(lodging.id) if lodging else ""})
        return see_other(url_for("stays.saved_search", search_id=saved.id))
    return _stays_page(_view(request.args.get("view")), _lodging_filter(), "")


@blueprint.route("/stays/s/<search_id>")
@operator_only
def saved_search(search_id: str):
    """The results of a search sent by POST; only its operator may open it (anyone else: 404)."""
    from ..searches.views import open_saved_search

    saved = open_saved_search(OPERATOR_SEARCH, search_id, url_for("stays.index"))
    criteria = saved.criteria
    return _stays_page(_view(criteria.get("view")), _lodging_filter(criteria.get("lodging", "")), criteria.get("q", ""), saved.id)


def _view(value: str | None) -> str:
    return value if value in VIEWS else "all"


def _stays_page(view: str, lodging: Lodging | None, search: str, search_id: str | None = None):
    query = stays_query(current_user.id, view, utcnow(), lodging.id if lodging else None, search)
    page = db.paginate(query, page=page_arg(), per_page=current_app.config["PAGE_SIZE"], error_out=False, count=True)
    return render_page_or_fragment("stays/index.html", "stays/_results.html", page=page, view=view, search=search,
                                   lodging=lodging, lodgings=lodgings_of(current_user), now=utcnow(), search_id=search_id)
