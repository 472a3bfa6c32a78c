"""The administrator's pages: accounts, officers, offices and their areas, lodgings with no office."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from ..accounts.forms import OfficerForm
from ..accounts.models import Role, User
from ..accounts.services import create_user, find_user_by_email, set_enabled
from ..auth import role_required
from ..extensions import db
from ..federation.models import FederationPeer
from ..integrations.models import SourceConnection
from ..forms import page_arg, select_choices, text_arg
from ..stays.queries import escape_like
from ..htmx import see_other
from ..lodgings.models import Lodging
from ..officer.queries import fetch_page
from ..officer.scope import office_level_in_effect
from ..offices.csv_io import OfficeUploadError, export_offices, import_offices, read_office_upload
from ..offices.forms import LEVEL_LABELS, OfficeForm, OfficeImportForm
from ..offices.models import ImmigrationOffice
from ..offices.services import area_conflicts, offices_ordered, peer_names_by_office, replace_areas
from ..reference import regions

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
admin_only = role_required(Role.ADMIN)


@blueprint.route("/")
@admin_only
def index():
    counts = {
        "users": db.session.scalar(select(func.count()).select_from(User)),
        "offices": db.session.scalar(select(func.count()).select_from(ImmigrationOffice)),
        "lodgings": db.session.scalar(select(func.count()).select_from(Lodging)),
        "no_office": db.session.scalar(select(func.count()).select_from(Lodging).where(Lodging.office_id.is_(None))),
        "connections": db.session.scalar(select(func.count()).select_from(SourceConnection)),
    }
    return render_template("admin/index.html", counts=counts)


USER_SEARCH = "admin.users"


@blueprint.route("/users", methods=["GET", "POST"])
@admin_only
def users():
    """The accounts; a search by e-mail or name is POSTed and kept behind a search id (people's
    names and addresses stay out of URLs and access logs, docs/security.md)."""
    if request.method == "POST":
        from flask_login import current_user

        from ..searches.services import save_search

        term = text_arg("q", source=request.form)
        if not term:
            return see_other(url_for("admin.users"))
        return see_other(url_for("admin.user_search", search_id=save_search(current_user, USER_SEARCH, {"q": term}).id))
    return _users_page("")


@blueprint.route("/users/s/<search_id>")
@admin_only
def user_search(search_id: str):
    from ..searches.views import open_saved_search

    saved = open_saved_search(USER_SEARCH, search_id, url_for("admin.users"))
    return _users_page(saved.criteria.get("q", ""), saved.id)


def _users_page(term: str, search_id: str | None = None):
    # The rows show each account's office and number of regions: loaded with the page, not per row.
    query = (select(User).options(joinedload(User.office), selectinload(User.supervision_regions))
             .order_by(User.role, User.email))
    if term:
        pattern = "%" + escape_like(term) + "%"
        query = query.where(or_(User.email.ilike(pattern, escape="\\"), User.full_name.ilike(pattern, escape="\\")))
    page = fetch_page(query, page_arg(), 50)  # no count: the page shows none
    return render_template("admin/users.html", page=page, term=term, search_id=search_id, offices=offices_ordered())


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@blueprint.route("/users/<int:user_id>/disable", methods=["POST"])
@admin_only
def disable_user(user_id: int):
    from flask_login import current_user

    user = _user_or_404(user_id)
    if user.id == current_user.id:
        flash(_("You cannot disable your own account."), "error")
    else:
        set_enabled(user, False)
        flash(_("%(email)s is disabled; all its sessions have ended.", email=user.email), "success")
    return see_other(url_for("admin.users"))


@blueprint.route("/users/<int:user_id>/enable", methods=["POST"])
@admin_only
def enable_user(user_id: int):
    user = _user_or_404(user_id)
    set_enabled(user, True)
    flash(_("%(email)s is enabled.", email=user.email), "success")
    return see_other(url_for("admin.users"))


@blueprint.route("/users/<int:user_id>/two-step/reset", methods=["POST"])
@admin_only
def reset_two_step(user_id: int):
    """A user lost the phone and the recovery codes: forget the authenticator (audited). The
    account's sessions end; at the next login it sets up a new app (officers, supervision teams
    and admins must)."""
    from flask_login import current_user

    from ..accounts.mfa import remove_mfa
    from ..accounts.sessions import end_all_sessions
    from ..audit.services import record

    user = _user_or_404(user_id)
    remove_mfa(user)
    end_all_sessions(user)
    record("account.mfa_reset_by_admin", user, current_user)
    db.session.commit()
    flash(_("Two-step login of %(email)s is reset; its sessions have ended.", email=user.email), "success")
    return see_other(url_for("admin.users"))


@blueprint.route("/users/<int:user_id>/office", methods=["POST"])
@admin_only
def set_office_role(user_id: int):
    """An administrator who also works for an office sees that office's console; without one, no
    guest data at all. Audited, and the account's sessions end so the change applies at once."""
    from flask_login import current_user

    from ..accounts.forms import OfficeRoleForm
    from ..accounts.sessions import end_all_sessions
    from ..audit.services import record

    user = _user_or_404(user_id)
    if user.role != Role.ADMIN:
        abort(404)
    form = OfficeRoleForm()
    form.office_id.choices = select_choices([(0, "")] + [(office.id, office.name) for office in offices_ordered()])
    if not form.validate_on_submit():
        flash(_("Choose the office."), "error")
        return see_other(url_for("admin.users"))
    before = user.office.name if user.office else ""
    user.office_id = form.office_id.data or None
    db.session.flush()
    db.session.refresh(user)
    record("account.office_role_changed", user, current_user, changes={"office": [before, user.office.name if user.office else ""]})
    if user.id != current_user.id:
        end_all_sessions(user)
    db.session.commit()
    flash(_("Office role of %(email)s saved.", email=user.email), "success")
    return see_other(url_for("admin.users"))


@blueprint.route("/officers/new", methods=["GET", "POST"])
@admin_only
def new_officer():
    form = OfficerForm()
    form.office_id.choices = select_choices([(0, _("Choose ..."))] + [(office.id, office.name) for office in offices_ordered()])
    if form.validate_on_submit():
        if db.session.get(ImmigrationOffice, form.office_id.data) is None:
            form.office_id.errors.append(_("Choose the office."))
        elif find_user_by_email(form.email.data):
            form.email.errors.append(_("An account with this e-mail already exists."))
        else:
            create_user(email=form.email.data, password=form.password.data, full_name=form.full_name.data,
                        role=Role(form.role.data), office_id=form.office_id.data, password_change_required=True)
            db.session.commit()
            if form.role.data == Role.DPO:
                flash(_("Data-protection officer account created for %(email)s.", email=form.email.data), "success")
            else:
                flash(_("Officer account created for %(email)s.", email=form.email.data), "success")
            return see_other(url_for("admin.users"))
    return render_template("admin/officer_form.html", form=form)


@blueprint.route("/offices")
@admin_only
def offices():
    return _offices_page(OfficeImportForm())


def _offices_page(import_form: OfficeImportForm, import_errors=None):
    """Every office with its area, what its officers see and the instance it stands for: three
    queries (offices, areas, peers) however many offices."""
    return render_template("admin/offices.html", offices=offices_ordered(with_areas=True), import_form=import_form,
                           import_errors=import_errors or [], peer_names=peer_names_by_office(),
                           level_labels=LEVEL_LABELS, level_in_effect=office_level_in_effect)


def _office_or_404(office_id: int) -> ImmigrationOffice:
    office = db.session.get(ImmigrationOffice, office_id)
    if office is None:
        abort(404)
    return office


@blueprint.route("/offices/new", methods=["GET", "POST"])
@blueprint.route("/offices/<int:office_id>/edit", methods=["GET", "POST"])
@admin_only
def office_form(office_id: int | None = None):
    office = _office_or_404(office_id) if office_id else None
    form = OfficeForm(obj=office)
    form.offer_levels(current_app.config["INSTANCE_LEVEL"],
                      db.session.scalars(select(FederationPeer).order_by(FederationPeer.name)))  # a revoked peer's lodgings stay
    if request.method == "GET" and office:
        form.region_codes.data = "\n".join(f"{a.region_code}  # {regions.name(a.region_code)}" for a in office.areas)
        if "federation_peer_id" in form._fields:
            form.federation_peer_id.data = db.session.scalar(select(FederationPeer.id).where(FederationPeer.office_id == office.id)) or 0
    if form.validate_on_submit():
        same_code = db.session.execute(select(ImmigrationOffice).where(ImmigrationOffice.code == form.code.data)).scalar_one_or_none()
        conflicts = area_conflicts(form.area_codes(), office)
        peer_id = form.federation_peer_id.data if "federation_peer_id" in form._fields else 0
        peer = db.session.get(FederationPeer, peer_id) if peer_id else None
        peer_office = db.session.get(ImmigrationOffice, peer.office_id) if peer is not None and peer.office_id else None
        if same_code is not None and same_code is not office:
            form.code.errors.append(_("Another office already uses this code."))
        elif peer_office is not None and peer_office is not office:
            form.federation_peer_id.errors.append(_("%(office)s already stands for this instance.", office=peer_office.name))
        elif conflicts:
            form.region_codes.errors.append(", ".join(
                _("%(code)s belongs to %(office)s", code=code, office=owner.name) for code, owner in conflicts.items()))
        else:
            if office is None:
                office = ImmigrationOffice()
                db.session.add(office)
            for name in ("code", "name", "office_class", "letterhead", "address", "phone", "email"):
                setattr(office, name, getattr(form, name).data or "")
            office.access_purpose_required = bool(form.access_purpose_required.data)
            db.session.flush()
            if "level" in form._fields:
                office.level = form.level.data
                for standing in db.session.scalars(select(FederationPeer).where(FederationPeer.office_id == office.id)):
                    standing.office_id = None
                db.session.flush()  # one office per peer (unique): the old link goes first
                if peer is not None:
                    peer.office_id = office.id
                db.session.flush()
            replace_areas(office, form.area_codes())  # re-routes, also the lodgings of the instance it stands for
            db.session.commit()
            flash(_("Office %(name)s saved.", name=office.name), "success")
            return see_other(url_for("admin.offices"))
    return render_template("admin/office_form.html", form=form, office=office)


@blueprint.route("/offices/import", methods=["POST"])
@admin_only
def import_offices_csv():
    form = OfficeImportForm()
    errors = []
    if form.validate_on_submit():
        try:
            text = read_office_upload(form.file.data.stream)
        except OfficeUploadError as error:
            form.file.errors = [error.message]
            return _offices_page(form)
        result = import_offices(text)
        if result.ok:
            flash(_("Imported %(offices)d offices with %(codes)d region codes.", offices=result.offices, codes=result.region_codes), "success")
            return see_other(url_for("admin.offices"))
        errors = result.errors
    return _offices_page(form, errors)


@blueprint.route("/offices/export.csv")
@admin_only
def export_offices_csv():
    return Response(export_offices(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=offices.csv"})


@blueprint.route("/lodgings/no-office")
@admin_only
def lodgings_without_office():
    rows = db.session.execute(select(Lodging).where(Lodging.office_id.is_(None)).order_by(Lodging.created_at)).scalars().all()
    return render_template("admin/no_office.html", lodgings=rows)


# ---- the visa index table -----------------------------------------------------------------

@blueprint.route("/visa-indexes", methods=["GET", "POST"])
@blueprint.route("/visa-indexes/<int:visa_index_id>", methods=["GET", "POST"])
@admin_only
def visa_indexes(visa_index_id: int | None = None):
    """The editable visa index table: codes drift every year, so admins keep it current."""
    from ..reference.forms import VisaIndexForm
    from ..reference.models import VisaIndex

    row = db.session.get(VisaIndex, visa_index_id) if visa_index_id else None
    if visa_index_id and row is None:
        abort(404)
    form = VisaIndexForm(obj=row)
    if form.validate_on_submit():
        same = db.session.execute(select(VisaIndex).where(VisaIndex.code == form.code.data)).scalar_one_or_none()
        if same is not None and same is not row:
            form.code.errors.append(_("This visa index already exists."))
        else:
            if row is None:
                row = VisaIndex()
                db.session.add(row)
            form.populate_obj(row)
            db.session.commit()
            flash(_("Visa index %(code)s saved.", code=row.code), "success")
            return see_other(url_for("admin.visa_indexes"))
    rows = db.session.execute(select(VisaIndex).order_by(VisaIndex.code)).scalars().all()
    return render_template("admin/visa_indexes.html", rows=rows, form=form, editing=row)


# ---- supervision teams (Timpora, police): read-only console accounts scoped to regions ---------

@blueprint.route("/supervisors/new", methods=["GET", "POST"])
@admin_only
def new_supervisor():
    from ..officer.forms import SupervisorForm
    from ..officer.services import create_supervisor

    form = SupervisorForm()
    if form.validate_on_submit():
        if find_user_by_email(form.email.data):
            form.email.errors.append(_("An account with this e-mail already exists."))
        else:
            create_supervisor(email=form.email.data, password=form.password.data, full_name=form.full_name.data,
                              region_codes=form.codes(), password_change_required=True)
            flash(_("Supervision-team account created for %(email)s.", email=form.email.data), "success")
            return see_other(url_for("admin.users"))
    return render_template("admin/supervisor_form.html", form=form, supervisor=None)


@blueprint.route("/supervisors/<int:user_id>/regions", methods=["GET", "POST"])
@admin_only
def supervisor_regions(user_id: int):
    from ..officer.forms import SupervisionRegionsForm
    from ..officer.services import set_supervision_regions, supervision_region_codes

    supervisor = _user_or_404(user_id)
    if supervisor.role != Role.SUPERVISOR:
        abort(404)
    form = SupervisionRegionsForm()
    if request.method == "GET":
        form.fill(supervision_region_codes(supervisor))
    if form.validate_on_submit():
        set_supervision_regions(supervisor, form.codes())
        flash(_("Regions of %(email)s saved.", email=supervisor.email), "success")
        return see_other(url_for("admin.users"))
    return render_template("admin/supervisor_form.html", form=form, supervisor=supervisor)


# ---- the audit log ------------------------------------------------------------------------------

AUDIT_SEARCH = "admin.audit"
AUDIT_FILTERS = ("actor", "action", "start", "end")
# What a filter may carry in the address: no staff member's e-mail (that is POSTed and kept
# behind a search id, like the console's searches).
AUDIT_URL_FILTERS = ("action", "start", "end")


def _audit_filters(values):
    """The audit filter form from ``values`` (the query string, or a saved search's criteria) and
    the query it selects (None when invalid)."""
    from datetime import datetime, time, timedelta

    from ..officer.forms import AuditFilterForm
    from ..officer.scope import WESTERN_INDONESIA
    from ..audit.labels import audit_action_label
    from ..officer.services import ACCESS_ACTIONS, STAY_ACTIONS, audit_query

    form = AuditFilterForm(values)
    form.action.choices = select_choices(
        [("", _("Anything")), ("access", _("Views, searches and exports")), ("stay.*", _("Changes to reports"))]
        + [(action, audit_action_label(action)) for action in ACCESS_ACTIONS + STAY_ACTIONS])
    if not form.validate():
        return form, None

    def day_start(day):
        return datetime.combine(day, time(0), tzinfo=WESTERN_INDONESIA) if day else None

    query = audit_query(actor=form.actor.data or "", action=form.action.data or "", start=day_start(form.start.data),
                        end=day_start(form.end.data + timedelta(days=1)) if form.end.data else None)
    return form, query


def _url_filters() -> MultiDict:
    """The filters the address may carry (an ``actor`` there is ignored: it is never read from a URL)."""
    return MultiDict({name: value for name in AUDIT_URL_FILTERS if (value := text_arg(name, 254))})


@blueprint.route("/audit", methods=["GET", "POST"])
@admin_only
def audit_log():
    """The audit log. The filter form is POSTed and kept behind a search id (``/audit/s/<id>``):
    a staff member's e-mail stays out of URLs and access logs (docs/security.md)."""
    if request.method == "POST":
        from flask_login import current_user

        from ..searches.services import save_search

        criteria = {name: text_arg(name, 254, source=request.form) for name in AUDIT_FILTERS}
        if not any(criteria.values()):
            return see_other(url_for("admin.audit_log"))
        return see_other(url_for("admin.audit_search", search_id=save_search(current_user, AUDIT_SEARCH, criteria).id))
    filters = _url_filters()
    return _audit_page(filters, None, dict(filters))


@blueprint.route("/audit/s/<search_id>")
@admin_only
def audit_search(search_id: str):
    from ..searches.views import open_saved_search

    saved = open_saved_search(AUDIT_SEARCH, search_id, url_for("admin.audit_log"))
    return _audit_page(MultiDict(saved.criteria), saved.id, {})


def _audit_page(values: MultiDict, search_id: str | None, query_args: dict):
    from ..htmx import render_page_or_fragment

    form, query = _audit_filters(values)
    page = fetch_page(query, page_arg(), 50) if query is not None else None
    return render_page_or_fragment("admin/audit.html", "admin/_audit_events.html", form=form, page=page,
                                   query_args=query_args, search_id=search_id)


@blueprint.route("/audit.csv")
@blueprint.route("/audit/s/<search_id>.csv")
@admin_only
def audit_export(search_id: str | None = None):
    from flask_login import current_user

    from ..officer.exports import streamed_csv
    from ..officer.services import AUDIT_COLUMNS, AUDIT_EXPORTED, audit_rows, record_access
    from ..searches.views import open_saved_search

    if search_id is not None:
        values = MultiDict(open_saved_search(AUDIT_SEARCH, search_id, url_for("admin.audit_log")).criteria)
    else:
        values = _url_filters()
    form, query = _audit_filters(values)
    if query is None:
        if search_id is not None:
            return see_other(url_for("admin.audit_search", search_id=search_id))
        return see_other(url_for("admin.audit_log", **values))
    record_access(current_user, AUDIT_EXPORTED, details={"filters": {k: v[:254] for k, v in values.items()}})
    return streamed_csv(AUDIT_COLUMNS, audit_rows(query), "audit-log.csv")


# ---- connected systems of every lodging (the operator's pages stay the owner's alone) ---------

def _connection_or_404(connection_id: int):
    connection = db.session.get(SourceConnection, connection_id)
    if connection is None:
        abort(404)
    return connection


@blueprint.route("/connections")
@admin_only
def connections():
    """Every connection to a stay source: its status and schedule, failing and stopped first.
    No run's refused bookings: they name guests (issue #17)."""
    from ..integrations.routes import interval_label
    from ..integrations.sources import describe_failure, source_label

    rank = {"stopped": 0, "failing": 1}
    rows = db.session.execute(select(SourceConnection).options(
        joinedload(SourceConnection.lodging).joinedload(Lodging.owner))).scalars().all()
    rows.sort(key=lambda c: (rank.get(c.last_status, 2) if c.enabled else 2, c.lodging.name.lower(), c.source))
    return render_template("admin/connections.html", connections=rows, source_label=source_label,
                           describe_failure=describe_failure, interval_label=interval_label)


@blueprint.route("/connections/new", methods=["GET", "POST"])
@admin_only
def connection_new():
    """Connect a lodging (chosen by its number) to a system: the operator's form and save."""
    from ..integrations.routes import LodgingNumberForm, new_connection

    lodging_form = LodgingNumberForm(formdata=request.values)
    number = lodging_form.lodging.data or ""
    lodging = None
    if lodging_form.validate():
        lodging = db.session.get(Lodging, int(number)) if number.isascii() and number.isdigit() and len(number) <= 9 else None
        if number and lodging is None:
            lodging_form.lodging.errors = [_("No lodging has this number.")]
    if lodging is None and request.method == "POST" and not lodging_form.lodging.errors:
        lodging_form.lodging.errors = [_("Enter the lodging's number.")]
    return new_connection(lodging, url_for("admin.connection_new"), url_for("admin.connections"), lodging_form)


@blueprint.route("/connections/<int:connection_id>/edit", methods=["GET", "POST"])
@admin_only
def connection_edit(connection_id: int):
    from ..integrations.routes import edit_connection

    connection = _connection_or_404(connection_id)
    return edit_connection(connection, url_for("admin.connection_edit", connection_id=connection.id),
                           url_for("admin.connections"))


@blueprint.route("/connections/<int:connection_id>/pause", methods=["POST"])
@blueprint.route("/connections/<int:connection_id>/resume", methods=["POST"], endpoint="connection_resume")
@admin_only
def connection_pause(connection_id: int):
    from ..forms import BaseForm
    from ..integrations.routes import _enqueue, set_connection_enabled

    connection = _connection_or_404(connection_id)
    resume = request.endpoint == "admin.connection_resume"
    if BaseForm().validate_on_submit() and connection.enabled != resume:
        set_connection_enabled(connection, resume)
        db.session.commit()
        _enqueue(connection)
        flash(_("The connection is resumed; it pulls now.") if resume else _("The connection is paused."), "success")
    return see_other(url_for("admin.connections"))


@blueprint.route("/connections/<int:connection_id>/pull", methods=["POST"])
@admin_only
def connection_pull(connection_id: int):
    from ..forms import BaseForm
    from ..integrations.routes import pull_now

    connection = _connection_or_404(connection_id)
    if BaseForm().validate_on_submit():
        pull_now(connection)
    return see_other(url_for("admin.connections"))
