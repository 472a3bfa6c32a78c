"""The operator's "Connected systems" page of a lodging: connections to stay sources, their
schedule, "pull now" and the runs. Every page works without JavaScript (POST, then 303)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from wtforms import BooleanField, PasswordField, SelectField, StringField, ValidationError
from wtforms.validators import DataRequired, Length, Optional

from ..accounts.models import Role
from ..auth import role_required
from ..database import utcnow
from ..extensions import db
from ..forms import TOO_LONG, BaseForm, strip
from ..htmx import see_other
from ..lodgings.models import Lodging
from ..lodgings.services import get_own_lodging_or_404
from ..plugins import registry
from ..stays.forms import StayForm
from . import sources
from .models import SourceConnection, SourceRun

blueprint = Blueprint("connections", __name__, url_prefix="/lodgings/<int:lodging_id>/connections")


def _lodging_or_404(lodging_id: int) -> Lodging:
    """The operator's own lodging. Like every operator page, anyone else (an admin too) gets 404:
    the owner holds the other system's credentials (tests/test_isolation.py)."""
    return get_own_lodging_or_404(current_user, lodging_id)


def _connection_or_404(lodging: Lodging, connection_id: int) -> SourceConnection:
    connection = db.session.execute(select(SourceConnection).where(
        SourceConnection.id == connection_id, SourceConnection.lodging_id == lodging.id)).scalar_one_or_none()
    if connection is None:
        abort(404)
    return connection


def interval_label(minutes: int) -> str:
    if minutes % 1440 == 0:
        return ngettext("every day", "every %(num)d days", minutes // 1440)
    if minutes % 60 == 0:
        return ngettext("every hour", "every %(num)d hours", minutes // 60)
    return ngettext("every minute", "every %(num)d minutes", minutes)


class ConnectionForm(BaseForm):
    source = SelectField(_l("System"), choices=[], validate_choice=False,
                         validators=[DataRequired(_l("Choose the system to connect."))])
    interval_minutes = SelectField(_l("Pull"), coerce=int, default=sources.DEFAULT_INTERVAL, choices=[])
    enabled = BooleanField(_l("Pull on this schedule"), default=True)

    def validate_source(self, field):
        if registry().stay_source(field.data) is None:
            raise ValidationError(_l("Choose the system to connect."))


def _form_for(source, connection: SourceConnection | None, taken: set[str]):
    """The form with one input per field of ``source`` (``setting_<name>``); secrets are password
    inputs never filled: a stored secret is kept when left empty."""
    stored = sources.stored_secret_names(connection) if connection is not None else set()

    class Form(ConnectionForm):
        pass

    for source_field in (source.fields if source else ()):
        validators = [Length(max=500, message=TOO_LONG)]
        keep = source_field.secret and source_field.name in stored
        if source_field.required and not keep:
            validators.insert(0, DataRequired(_l("Enter %(field)s.", field=source_field.label)))
        else:
            validators.insert(0, Optional())
        description = source_field.help
        if keep:
            description = _l("Stored; leave empty to keep it.")
        kind = PasswordField if source_field.secret else StringField
        setattr(Form, f"setting_{source_field.name}", kind(source_field.label, filters=[strip], validators=validators,
                                                           description=description))
    data = {}
    if connection is not None:
        data = {"source": connection.source, "interval_minutes": connection.interval_minutes, "enabled": connection.enabled,
                **{f"setting_{name}": value for name, value in (connection.settings or {}).items()}}
    elif source is not None:
        data = {"source": source.name}
    form = Form(data=data)
    choices = [("", _("Choose…"))] if connection is None else []
    form.source.choices = choices + [(s.name, str(s.label)) for s in registry().stay_sources
                                     if s.name not in taken or (connection is not None and s.name == connection.source)]
    form.interval_minutes.choices = [(minutes, interval_label(minutes)) for minutes in sources.INTERVAL_CHOICES]
    return form


def _setting_fields(form):
    return [getattr(form, name) for name in form._fields if name.startswith("setting_")]


def _field_labeller():
    """A report field's label in the reader's language (a name no form has is shown as it is)."""
    labels = StayForm(formdata=None, meta={"csrf": False})
    return lambda name: str(labels[name].label.text) if name and name in labels else (name or "")


def _cannot_supply_labels(source) -> list[str]:
    if source is None or not source.cannot_supply:
        return []
    labels = StayForm(formdata=None, meta={"csrf": False})
    return [str(labels[name].label.text) if name in labels else name for name in source.cannot_supply]


@blueprint.route("/")
@role_required(Role.OPERATOR)
def index(lodging_id: int):
    lodging = _lodging_or_404(lodging_id)
    connections = sources.connections_of(lodging)
    taken = {connection.source for connection in connections}
    available = [source for source in registry().stay_sources if source.name not in taken]
    return render_template("integrations/connections.html", lodging=lodging, connections=connections, available=available,
                           source_label=sources.source_label, describe_failure=sources.describe_failure,
                           interval_label=interval_label)


@blueprint.route("/new", methods=["GET", "POST"])
@role_required(Role.OPERATOR)
def new(lodging_id: int):
    lodging = _lodging_or_404(lodging_id)
    return new_connection(lodging, url_for("connections.new", lodging_id=lodging.id),
                          url_for("connections.index", lodging_id=lodging.id))


class LodgingNumberForm(BaseForm):
    """The administrator's first choice when connecting a system: which lodging (by its number)."""

    class Meta:
        csrf = False  # also read from the GET form that shows the chosen system's settings

    lodging = StringField(_l("Lodging number"), filters=[strip], validators=[Length(max=12, message=TOO_LONG)],
                          description=_l("Shown as #number beside the lodging's name in the administration's lists; "
                                         "its owner sees it in the address of the lodging's pages."))


def new_connection(lodging: Lodging | None, action_url: str, back_url: str, lodging_form: LodgingNumberForm | None = None):
    """The "Connect a system" form and its save, shared by the operator's page (their lodging)
    and the administrator's (``admin.connection_new``: ``lodging_form`` chooses the lodging, None
    until a lodging with that number exists). Audited; the first pull runs at once."""
    taken = {connection.source for connection in sources.connections_of(lodging)} if lodging is not None else set()
    chosen = request.form.get("source") if request.method == "POST" else request.args.get("source")
    source = registry().stay_source(chosen or "")
    if source is not None and source.name in taken:
        source = None
    form = _form_for(source, None, taken)
    valid = request.method == "POST" and form.validate_on_submit()
    if lodging_form is not None and request.method == "POST" and lodging is None:
        valid = False
    if valid and source is not None:
        connection = SourceConnection(lodging_id=lodging.id, created_by_id=current_user.id)
        sources.save_connection(connection, source, _typed_settings(form), form.interval_minutes.data, form.enabled.data)
        db.session.add(connection)
        db.session.flush()
        record_connection_event("connection.created", connection)
        db.session.commit()
        _enqueue(connection)
        flash(_("%(system)s is connected; the first pull runs now.", system=source.label), "success")
        return see_other(back_url)
    if request.method == "POST" and source is None and not form.source.errors:
        form.source.errors = [_("Choose the system to connect.")]
    return render_template("integrations/connection_form.html", lodging=lodging, form=form, source=source, connection=None,
                           setting_fields=_setting_fields(form), cannot_supply=_cannot_supply_labels(source),
                           action_url=action_url, back_url=back_url, lodging_form=lodging_form)


@blueprint.route("/<int:connection_id>/edit", methods=["GET", "POST"])
@role_required(Role.OPERATOR)
def edit(lodging_id: int, connection_id: int):
    lodging = _lodging_or_404(lodging_id)
    connection = _connection_or_404(lodging, connection_id)
    return edit_connection(connection, url_for("connections.edit", lodging_id=lodging.id, connection_id=connection.id),
                           url_for("connections.index", lodging_id=lodging.id))


def edit_connection(connection: SourceConnection, action_url: str, back_url: str):
    """The settings form of ``connection`` and its save, shared by the operator's page and the
    administrator's (``admin.connection_edit``): secrets are never shown, an empty one is kept."""
    source = registry().stay_source(connection.source)
    if source is None:
        abort(404)  # the plugin is gone: the list says so; only deleting is offered
    form = _form_for(source, connection, set())
    form.source.data = connection.source  # a connection keeps its system: whatever is posted as "source" is ignored
    if form.validate_on_submit():
        before = _audited_state(connection)
        sources.save_connection(connection, source, _typed_settings(form), form.interval_minutes.data, form.enabled.data)
        changed = [name for name, value in _audited_state(connection).items() if before.get(name) != value]
        changed += [name for name, value in _typed_settings(form).items()
                    if value and any(f.secret and f.name == name for f in source.fields)]
        if changed:
            record_connection_event("connection.edited", connection, {"system": connection.source, "fields": changed})
        db.session.commit()
        _enqueue(connection)
        flash(_("The connection to %(system)s is saved.", system=source.label), "success")
        return see_other(back_url)
    return render_template("integrations/connection_form.html", lodging=connection.lodging, form=form, source=source,
                           connection=connection, setting_fields=_setting_fields(form),
                           cannot_supply=_cannot_supply_labels(source), action_url=action_url, back_url=back_url)


def _audited_state(connection: SourceConnection) -> dict:
    """What an edit may change, minus the secrets (a typed secret counts as changed, unread)."""
    return {**(connection.settings or {}), "interval_minutes": connection.interval_minutes, "enabled": connection.enabled}


def record_connection_event(action: str, connection: SourceConnection, details: dict | None = None) -> None:
    """An audit event of a connection: which fields changed, never their values (the caller commits)."""
    from ..audit.services import record

    record(action, connection, current_user, lodging_id=connection.lodging_id,
           changes=details or {"system": connection.source})


def set_connection_enabled(connection: SourceConnection, enabled: bool) -> None:
    """Pause or resume the schedule (audited; the caller commits). Resuming pulls at once and, like
    saving the settings, lifts a stop."""
    connection.enabled = enabled
    connection.next_run_at = utcnow() if enabled else None
    if enabled and connection.last_status == "stopped":
        connection.last_status = "failing"
    record_connection_event("connection.resumed" if enabled else "connection.paused", connection)


@blueprint.route("/<int:connection_id>/pull", methods=["POST"])
@role_required(Role.OPERATOR)
def pull(lodging_id: int, connection_id: int):
    lodging = _lodging_or_404(lodging_id)
    connection = _connection_or_404(lodging, connection_id)
    form = BaseForm()
    if form.validate_on_submit():
        pull_now(connection)
    return see_other(url_for("connections.index", lodging_id=lodging.id))


def pull_now(connection: SourceConnection) -> None:
    """The "Pull now" button of the operator's list and the administrator's."""
    if connection.enabled and connection.last_status != "stopped":
        sources.request_pull(connection)
        db.session.commit()
        _enqueue(connection)
        flash(_("The pull is queued; refresh this page in a moment."), "success")
    else:
        flash(_("This connection is paused: check its settings and save them first."), "error")


@blueprint.route("/<int:connection_id>/delete", methods=["POST"])
@role_required(Role.OPERATOR)
def delete(lodging_id: int, connection_id: int):
    lodging = _lodging_or_404(lodging_id)
    connection = _connection_or_404(lodging, connection_id)
    form = BaseForm()
    if form.validate_on_submit():
        record_connection_event("connection.deleted", connection)
        db.session.delete(connection)
        db.session.commit()
        flash(_("The connection is deleted; the stays it brought stay."), "success")
    return see_other(url_for("connections.index", lodging_id=lodging.id))


@blueprint.route("/<int:connection_id>/runs")
@role_required(Role.OPERATOR)
def runs(lodging_id: int, connection_id: int):
    lodging = _lodging_or_404(lodging_id)
    connection = _connection_or_404(lodging, connection_id)
    rows = db.session.execute(select(SourceRun).where(SourceRun.connection_id == connection.id)
                              .order_by(SourceRun.id.desc())).scalars().all()
    return render_template("integrations/runs.html", lodging=lodging, connection=connection, runs=rows,
                           source_label=sources.source_label, describe_failure=sources.describe_failure,
                           field_label=_field_labeller(), cannot_supply=_cannot_supply_labels(registry().stay_source(connection.source)))


def _typed_settings(form) -> dict[str, str]:
    return {name.removeprefix("setting_"): form[name].data or "" for name in form._fields if name.startswith("setting_")}


def _enqueue(connection: SourceConnection) -> None:
    """Run the pull in the worker now; the periodic job picks it up anyway if the queue is down."""
    if not connection.enabled:
        return
    from ..jobs import get_huey

    try:
        get_huey(current_app).serasi_tasks["pull_source_now"](connection.id)
    except Exception:  # noqa: BLE001 - the minute job runs it: a queue outage must not lose the save
        current_app.logger.warning("pull of connection %s not queued; the periodic job will run it", connection.id)
