"""The operator's lodgings: list, register, view, edit; the address selects' htmx fragment."""
from __future__ import annotations

from flask import Blueprint, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts.models import Role
from ..accounts.services import may_register_lodging
from ..auth import role_required
from ..htmx import render_page_or_fragment, see_other
from .forms import LodgingForm, lodging_form_class
from .services import EDITABLE_FIELDS, get_own_lodging_or_404, lodgings_of, register_lodging, update_lodging

blueprint = Blueprint("lodgings", __name__, url_prefix="/lodgings")
operator_only = role_required(Role.OPERATOR)

REFRESH_REGIONS = "refresh_regions"  # the no-JavaScript "show the choices" button


def _form_values(form: LodgingForm) -> dict:
    # A field the chosen type leaves out (an individual host's NIB, another type's host NIK) is
    # saved empty: nothing stays behind from a type the lodging no longer has.
    values = {name: form[name].data if name in form else None for name in EDITABLE_FIELDS}
    values["extra"] = {name: getattr(form, name).data for name in form.extra_field_names()}
    return values


def _chosen_type(lodging=None) -> str:
    source = request.form if request.method == "POST" else request.args
    return source.get("lodging_type") or (lodging.lodging_type if lodging else "")


@blueprint.route("/")
@operator_only
def index():
    return render_template("lodgings/index.html", lodgings=lodgings_of(current_user))


@blueprint.route("/new", methods=["GET", "POST"])
@operator_only
def new():
    if not may_register_lodging(current_user):
        flash(_("Confirm your e-mail address to register more than one lodging."), "info")
        return see_other(url_for("accounts.email_verification"))
    form = lodging_form_class(_chosen_type())()
    if request.method == "POST" and request.form.get("action") == REFRESH_REGIONS:
        form.suggest_postal_code()
    elif form.validate_on_submit():
        lodging = register_lodging(current_user, _form_values(form))
        flash(_("Lodging registered. It now waits for verification by the immigration office."), "success")
        return see_other(url_for("lodgings.show", lodging_id=lodging.id))
    return render_template("lodgings/form.html", form=form, lodging=None)


@blueprint.route("/<int:lodging_id>")
@operator_only
def show(lodging_id: int):
    lodging = get_own_lodging_or_404(current_user, lodging_id)
    return render_template("lodgings/show.html", lodging=lodging)


@blueprint.route("/<int:lodging_id>/edit", methods=["GET", "POST"])
@operator_only
def edit(lodging_id: int):
    lodging = get_own_lodging_or_404(current_user, lodging_id)
    form = lodging_form_class(_chosen_type(lodging))(obj=lodging)
    if request.method == "GET":
        for name in form.extra_field_names():
            getattr(form, name).data = (lodging.extra or {}).get(name)
    if request.method == "POST" and request.form.get("action") == REFRESH_REGIONS:
        form.suggest_postal_code()
    elif form.validate_on_submit():
        if update_lodging(lodging, _form_values(form)):
            flash(_("Changes saved. The lodging waits for verification again."), "success")
        else:
            flash(_("Changes saved."), "success")
        return see_other(url_for("lodgings.show", lodging_id=lodging.id))
    return render_template("lodgings/form.html", form=form, lodging=lodging)


@blueprint.route("/type-fields")
@operator_only
def type_fields():
    """The extra fields of the chosen lodging type (htmx), e.g. a company mess's employer."""
    form = lodging_form_class(request.args.get("lodging_type"))(formdata=request.args, meta={"csrf": False})
    return render_page_or_fragment("lodgings/form.html", "lodgings/_type_fields.html", form=form, lodging=None)


@blueprint.route("/address-fields")
@operator_only
def address_fields():
    """The address fieldset re-rendered for the chosen province/regency/district/village (htmx)."""
    form = lodging_form_class(request.args.get("lodging_type"))(formdata=request.args, meta={"csrf": False})
    form.suggest_postal_code(overwrite=request.headers.get("HX-Trigger-Name") == "village_code")
    return render_page_or_fragment("lodgings/form.html", "lodgings/_address_fields.html", form=form, lodging=None)
