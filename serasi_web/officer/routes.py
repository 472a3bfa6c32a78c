"""The immigration office's console: lodging verification, the report inbox, search, a foreigner's
timeline, watch lists and statistics.

Every view reads through the user's ``Scope`` (an officer: their office's area; a supervision
team: its regions; an admin: everything); an object outside it answers 404. Supervision teams
and admins read; only officers decide on lodgings. Every view of guests' data, every search and
every export is written to the access log.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import format_datetime, format_decimal, format_timedelta, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from ..accounts.models import Role
from ..auth import console_required, role_required
from ..database import utcnow
from ..extensions import db
from ..forms import BaseForm, page_arg
from ..htmx import render_page_or_fragment, see_other
from ..lodgings.models import Lodging, LodgingStatus
from ..lodgings.services import LodgingStateError, decide, lift_suspension, reopen, suspend
from ..reference import countries, regions
from . import charts, exports, queries, services, stats
from .forms import LegalHoldForm, MarkSeenForm, PeriodForm, RejectForm, SearchForm, SilentDaysForm, SuspendForm
from .scope import Scope, region_choices, scope_for

blueprint = Blueprint("officer", __name__, url_prefix="/officer")
officer_only = role_required(Role.OFFICER)


WATCH_LISTS = ("overstays", "late", "planned", "silent")
DEFAULT_SILENT_DAYS = 14
LATE_LIST_DAYS = 30


def current_scope() -> Scope:
    """The logged-in user's scope, looked up once per request."""
    if "console_scope" not in g:
        g.console_scope = scope_for(current_user)
    return g.console_scope


def _page_size() -> int:
    return current_app.config["PAGE_SIZE"]


def _scope_label() -> str:
    if current_user.is_officer and current_user.office:
        return current_user.office.name
    if current_user.is_supervisor:
        codes = list(current_scope().regency_codes + current_scope().district_codes)
        return ", ".join(regions.name(code) for code in codes) or _("No region assigned yet")
    return _("All offices")


@blueprint.context_processor
def _console_context():
    from ..privacy.purpose import current_purpose, label

    return {"scope_label": _scope_label, "can_decide": lambda: current_user.is_officer,
            # A Kanwil's, the Directorate General's or a supervision team's lists name each lodging's office.
            "across_offices": lambda: current_scope().spans_offices,
            "office_of": lambda lodging: lodging.office.name if lodging.office else _("No office"),
            "console_zone": lambda: current_scope().zone_region, "access_purpose": current_purpose, "purpose_label": label}


def _purpose_first():
    """When the user's office asks for a purpose and none was given this session: the answer
    that sends them to give it (then back to this page), else None."""
    from ..privacy.purpose import required_but_missing

    if not required_but_missing(current_user):
        return None
    target = url_for("purpose.set_purpose", next=request.path)
    if request.headers.get("HX-Request"):
        response = current_app.response_class(status=204)
        response.headers["HX-Redirect"] = target  # a full page, not a fragment in the results
        return response
    return redirect(target, code=303)


@blueprint.app_template_filter("duration")
def duration_filter(value: timedelta) -> str:
    """A time span in words ("3 days", "5 hours") in the user's language."""
    return format_timedelta(value, threshold=2, granularity="minute")


@blueprint.app_template_filter("number")
def number_filter(value) -> str:
    return format_decimal(value)


@blueprint.route("/")
@console_required
def index():
    return redirect(url_for("officer.inbox"))


# ---- lodging verification -----------------------------------------------------------------------

STATUS_FILTERS = {s.value for s in LodgingStatus}


def _lodging_or_404(lodging_id: int) -> Lodging:
    lodging = queries.lodging_in_scope(current_scope(), lodging_id)
    if lodging is None:
        abort(404)
    return lodging


def _decidable_lodging_or_404(lodging_id: int) -> Lodging:
    """A lodging this office may verify, reject or suspend: not one another instance mirrors
    here (its own office decides there; 409)."""
    lodging = _lodging_or_404(lodging_id)
    if lodging.federation_peer_id is not None:
        abort(409, description=_("This lodging belongs to another instance: its office decides there."))
    return lodging


@blueprint.route("/lodgings")
@console_required
def lodgings():
    status = request.args.get("status", LodgingStatus.PENDING.value)
    if status not in STATUS_FILTERS:
        status = LodgingStatus.PENDING.value
    condition = current_scope().lodging_condition()
    query = select(Lodging).where(condition, Lodging.status == status).order_by(Lodging.created_at, Lodging.id)
    page = queries.fetch_page(query, page_arg(), 50)
    counts = dict(db.session.execute(select(Lodging.status, func.count()).where(condition).group_by(Lodging.status)).all())
    return render_page_or_fragment("officer/lodgings.html", "officer/_lodging_list.html", page=page, status=status, counts=counts)


@blueprint.route("/lodgings/<int:lodging_id>")
@console_required
def lodging(lodging_id: int):
    lodging = _lodging_or_404(lodging_id)
    return _lodging_page(lodging)


def _lodging_page(lodging: Lodging, reject_form: RejectForm | None = None, suspend_form: SuspendForm | None = None):
    return render_template("officer/lodging.html", lodging=lodging, reject_form=reject_form or RejectForm(formdata=None),
                           suspend_form=suspend_form or SuspendForm(formdata=None))


@blueprint.route("/lodgings/<int:lodging_id>/verify", methods=["POST"])
@officer_only
def verify(lodging_id: int):
    lodging = _decidable_lodging_or_404(lodging_id)
    if BaseForm().validate_on_submit():
        decide(lodging, current_user, verified=True)
        flash(_("%(name)s is verified.", name=lodging.name), "success")
    return see_other(url_for("officer.lodgings"))


@blueprint.route("/lodgings/<int:lodging_id>/reject", methods=["POST"])
@officer_only
def reject(lodging_id: int):
    lodging = _decidable_lodging_or_404(lodging_id)
    form = RejectForm()
    if form.validate_on_submit():
        decide(lodging, current_user, verified=False, reason=form.reason.data)
        flash(_("%(name)s is rejected.", name=lodging.name), "info")
        return see_other(url_for("officer.lodgings"))
    return _lodging_page(lodging, reject_form=form)


@blueprint.route("/lodgings/<int:lodging_id>/suspend", methods=["POST"])
@officer_only
def suspend_lodging(lodging_id: int):
    """Stop a verified lodging from obtaining receipts, with a reason the operator reads."""
    lodging = _decidable_lodging_or_404(lodging_id)
    form = SuspendForm()
    if not form.validate_on_submit():
        return _lodging_page(lodging, suspend_form=form)
    try:
        suspend(lodging, current_user, form.reason.data)
    except LodgingStateError:
        flash(_("Only a verified lodging can be suspended."), "error")
    else:
        flash(_("%(name)s is suspended: it cannot submit reports, and its receipts say so.", name=lodging.name), "info")
    return see_other(url_for("officer.lodging", lodging_id=lodging.id))


@blueprint.route("/lodgings/<int:lodging_id>/lift-suspension", methods=["POST"])
@officer_only
def lift_lodging_suspension(lodging_id: int):
    lodging = _decidable_lodging_or_404(lodging_id)
    if BaseForm().validate_on_submit():
        try:
            lift_suspension(lodging, current_user)
        except LodgingStateError:
            flash(_("This lodging is not suspended."), "error")
        else:
            flash(_("%(name)s is verified again.", name=lodging.name), "success")
    return see_other(url_for("officer.lodging", lodging_id=lodging.id))


@blueprint.route("/lodgings/<int:lodging_id>/reopen", methods=["POST"])
@officer_only
def reopen_lodging(lodging_id: int):
    lodging = _decidable_lodging_or_404(lodging_id)
    if BaseForm().validate_on_submit():
        reopen(lodging)
        flash(_("%(name)s is back in the queue.", name=lodging.name), "info")
    return see_other(url_for("officer.lodging", lodging_id=lodging.id))


# ---- the report inbox ---------------------------------------------------------------------------

@blueprint.route("/inbox")
@console_required
def inbox():
    now = utcnow()
    since = services.inbox_seen_until(current_user, now)
    page = queries.inbox(current_scope(), since, page_arg(), _page_size())
    waiting = queries.inbox_count(current_scope(), since)
    newest = page.items[0].version.changed_at if page.items and page.number == 1 else None
    services.record_access(current_user, services.INBOX_VIEWED, stays=[event.stay for event in page.items],
                           details={"page": page.number})
    form = MarkSeenForm(until=newest.isoformat() if newest else "")
    return render_page_or_fragment("officer/inbox.html", "officer/_inbox_events.html", page=page, since=since,
                                   waiting=waiting, cap=queries.INBOX_COUNT_CAP, form=form)


@blueprint.route("/inbox/seen", methods=["POST"])
@console_required
def inbox_seen():
    form = MarkSeenForm()
    if form.validate_on_submit():
        try:
            until = datetime.fromisoformat(form.until.data)
        except ValueError:
            until = None
        if until is not None and until.tzinfo is not None:
            services.mark_inbox_seen(current_user, until)
            flash(_("The inbox is marked as seen."), "success")
    return see_other(url_for("officer.inbox"))


# ---- search and a report ------------------------------------------------------------------------

def _country_choices() -> list[tuple[str, str]]:
    return countries.choices(str(get_locale()))


OFFICER_SEARCH = "officer.stays"


@blueprint.route("/stays", methods=["GET", "POST"])
@console_required
def stays():
    """Search the reports of the scope; with no criteria, every report, newest check-in first.

    The search form is POSTed and answered with a redirect to ``/officer/stays/s/<id>`` (the
    criteria kept on the server, ``serasi_web.searches``), so a name or document number never
    appears in a URL, a Referer or an access log. A GET reads only the filters that are not
    personal (a lodging, a status, a region ... from links); a name or number in the query
    string (an old bookmark) is ignored.
    """
    if (asked := _purpose_first()) is not None:
        return asked
    if request.method == "POST":
        formdata = request.form.copy()
        if formdata.pop("all_lodgings", None):
            formdata.pop("lodging", None)
        form, valid = _search_form(formdata)
        if valid:
            from ..searches.services import save_search

            criteria = {name: formdata.get(name, "") for name in SearchForm.CRITERIA_FIELDS}
            saved = save_search(current_user, OFFICER_SEARCH, criteria)
            return see_other(url_for("officer.saved_search", search_id=saved.id))
        return _search_page(form, valid)
    args = request.args.copy()
    for name in SearchForm.PERSONAL_FIELDS:
        args.pop(name, None)
    form, valid = _search_form(args)
    return _search_page(form, valid, query_args={key: value[:200] for key, value in args.items()
                                                 if key in SearchForm.CRITERIA_FIELDS and value})


@blueprint.route("/stays/s/<search_id>")
@console_required
def saved_search(search_id: str):
    """The results of a search sent by POST; only its user may open it (anyone else: 404)."""
    from werkzeug.datastructures import MultiDict

    from ..searches.views import open_saved_search

    if (asked := _purpose_first()) is not None:
        return asked
    saved = open_saved_search(OFFICER_SEARCH, search_id, url_for("officer.stays"))
    form, valid = _search_form(MultiDict(saved.criteria))
    return _search_page(form, valid, search_id=saved.id)


def _search_form(formdata) -> tuple[SearchForm, bool]:
    """The search form filled from ``formdata``, and whether it is valid (a lodging outside the
    scope is an error at its field)."""
    form = SearchForm(formdata)
    form.set_choices(_country_choices(), region_choices(current_scope()))
    valid = form.validate()
    if valid and form.lodging.data and queries.lodging_in_scope(current_scope(), form.lodging.data) is None:
        form.lodging.errors = [_("This lodging is not in your area.")]
        valid = False
    return form, valid


def _search_page(form: SearchForm, valid: bool, *, search_id: str | None = None, query_args: dict | None = None):
    scope = current_scope()
    page, lodging = None, None
    if valid:
        criteria = form.criteria()
        lodging = queries.lodging_in_scope(scope, criteria.lodging_id) if criteria.lodging_id else None
        page = queries.search(scope, criteria, page_arg(), _page_size())
        services.record_access(current_user, services.SEARCHED, stays=page.items,
                               details={"criteria": criteria.as_record(), "page": page.number})
    # Pages of a kept search link to its id; a plain search (no personal terms) to its filters.
    pager_view = ("officer.saved_search", {"search_id": search_id}) if search_id else ("officer.stays", {})
    return render_page_or_fragment("officer/stays.html", "officer/_search_results.html", form=form, page=page,
                                   lodging=lodging, query_args=query_args or {}, pager_view=pager_view)


def _query_args(form=None) -> dict[str, str]:
    """The filter values of the query string (only the form's own fields, bounded) for links."""
    names = {field.name for field in form} if form is not None else set()
    return {key: value[:200] for key, value in request.args.items() if key in names and value}


def _report_or_404(stay_id: int):
    stay = queries.report_in_scope(current_scope(), stay_id)
    if stay is None:
        abort(404)
    return stay


@blueprint.route("/stays/<int:stay_id>")
@console_required
def stay(stay_id: int):
    stay = _report_or_404(stay_id)
    services.record_access(current_user, services.STAY_VIEWED, stay=stay)
    return _stay_page(stay, LegalHoldForm(formdata=None))


def _stay_page(stay, hold_form: LegalHoldForm):
    from ..privacy.retention import active_hold, is_held
    from ..stays.services import is_minor

    return render_template("officer/stay.html", stay=stay, is_minor=is_minor(stay), hold=active_hold(stay),
                           document_held=is_held(stay), hold_form=hold_form)


@blueprint.route("/stays/<int:stay_id>/hold", methods=["POST"])
@officer_only
def set_legal_hold(stay_id: int):
    """Keep this guest's reports past the retention period (an investigation, a court case)."""
    from ..privacy.retention import HoldRefused, set_hold

    stay = _report_or_404(stay_id)
    form = LegalHoldForm()
    if not form.validate_on_submit():
        # The page the officer just opened (and was logged for) comes back with the message; a
        # refused form writes nothing, not even to the access log.
        return _stay_page(stay, form)
    try:
        set_hold(stay, form.reason.data, current_user)
    except HoldRefused as refused:
        flash(_("This report is already under a legal hold.") if str(refused) == "already_held"
              else _("This report no longer holds the guest's identity: there is nothing to keep."), "error")
    else:
        flash(_("Legal hold set: this guest's reports are kept until the hold is released."), "success")
    return see_other(url_for("officer.stay", stay_id=stay.id))


@blueprint.route("/stays/<int:stay_id>/hold/release", methods=["POST"])
@officer_only
def release_legal_hold(stay_id: int):
    from ..privacy.retention import HoldRefused, release_hold

    stay = _report_or_404(stay_id)
    if BaseForm().validate_on_submit():
        try:
            release_hold(stay, current_user)
        except HoldRefused:
            flash(_("This report is not under a legal hold."), "error")
        else:
            flash(_("Legal hold released: the retention period applies again."), "info")
    return see_other(url_for("officer.stay", stay_id=stay.id))


@blueprint.route("/stays/<int:stay_id>/timeline")
@console_required
def timeline(stay_id: int):
    """Every stay of this guest's document in the scope, with gaps and overlaps."""
    stay = _report_or_404(stay_id)
    if (asked := _purpose_first()) is not None:
        return asked
    now = utcnow()
    found = queries.timeline(current_scope(), stay, now)
    services.record_access(current_user, services.TIMELINE_VIEWED, stay=stay, stays=[entry.stay for entry in found.entries],
                           details={"document_number": found.document_number, "issuing_state": found.issuing_state})
    zone_code = stay.lodging.province_code
    bars = [(entry.stay.lodging.name, entry.stay.check_in_at, entry.ends_at or now, entry.ends_at is None, bool(entry.overlap))
            for entry in found.entries if entry.stay.status != "voided"]
    chart = charts.timeline_chart(bars, _("Stays of document %(number)s", number=found.document_number),
                                  lambda moment: format_datetime(moment.astimezone(regions.time_zone_of(zone_code)).replace(tzinfo=None), "short"))
    return render_template("officer/timeline.html", stay=stay, timeline=found, chart=chart, now=now,
                           origins=queries.federated_origins([entry.stay for entry in found.entries]))


# ---- watch lists --------------------------------------------------------------------------------

@blueprint.route("/watch")
@console_required
def watch_lists():
    return redirect(url_for("officer.watch_list", name="overstays"))


@blueprint.route("/watch/<name>")
@console_required
def watch_list(name: str):
    if name not in WATCH_LISTS:
        abort(404)
    scope, now = current_scope(), utcnow()
    today = queries.today_in_indonesia(now)
    context = {"name": name, "today": today, "query_args": {}}
    if name == "silent":
        form = SilentDaysForm(request.args)
        days = form.days.data if form.validate() and form.days.data else DEFAULT_SILENT_DAYS
        context["query_args"] = _query_args(form)
        page = queries.fetch_page(queries.silent_lodgings(scope, now - timedelta(days=days)), page_arg(), _page_size(), scalars=False)
        context.update(form=form, days=days)
    else:
        query = {
            "overstays": lambda: queries.overstays(scope, today),
            "late": lambda: queries.late_reports(scope, now - timedelta(days=LATE_LIST_DAYS)),
            "planned": lambda: queries.planned_check_out_passed(scope, today),
        }[name]()
        page = queries.fetch_page(query, page_arg(), _page_size())
        services.record_access(current_user, services.WATCH_LIST_VIEWED, stays=page.items, details={"list": name, "page": page.number})
        if name == "late" and page.number == 1:
            context["late_lodgings"] = queries.late_lodgings(scope, now - timedelta(days=LATE_LIST_DAYS))
        context["late_days"] = LATE_LIST_DAYS
    return render_page_or_fragment("officer/watch.html", "officer/_watch_rows.html", page=page, **context)


# ---- statistics ---------------------------------------------------------------------------------

def _period_form() -> tuple[PeriodForm, stats.Period | None]:
    form = PeriodForm(request.args)
    default = stats.default_period(queries.today_in_indonesia(utcnow()))
    if not form.validate():
        return form, None
    return form, form.period(default)


def _number(value) -> str:
    return format_decimal(value)


@blueprint.route("/statistics")
@console_required
def statistics():
    form, period = _period_form()
    tables, chart_of = [], {}
    if period is not None:
        locale = str(get_locale())
        keys = [key for key in stats.keys_for(current_scope()) if key != "per_day" or period.days <= stats.MAX_DAILY_DAYS]
        tables = stats.tables(keys, current_scope(), period, locale)
        for table in tables:
            chart_of[table.key] = _chart(table)
        services.record_access(current_user, services.STATISTICS_VIEWED, details={
            "tables": keys, "start": period.start.isoformat(), "end": period.end.isoformat()})
    return render_template("officer/statistics.html", form=form, period=period, tables=tables, chart_of=chart_of,
                           max_daily_days=stats.MAX_DAILY_DAYS, query_args=_query_args(form))


def _chart(table: stats.Table):
    if table.key in ("per_day", "per_month"):
        return charts.column_chart([(row[0][5:] if table.key == "per_day" else row[0], row[1]) for row in table.rows],
                                   table.title, format_value=_number)
    if table.key == "late_rate":
        return charts.column_chart([(row[0], row[3]) for row in table.rows], table.title,
                                   format_value=lambda value: f"{format_decimal(round(value, 1))} %")
    return charts.bar_chart([(row[0], row[1]) for row in table.rows], table.title, format_value=_number, others_label=_("Others"))


@blueprint.route("/statistics/<key>.<file_format>")
@console_required
def statistics_export(key: str, file_format: str):
    """One statistics table as CSV or XLSX, always of the user's own scope."""
    if key not in stats.keys_for(current_scope()) or file_format not in ("csv", "xlsx"):
        abort(404)
    if (asked := _purpose_first()) is not None:
        return asked
    form, period = _period_form()
    if period is None:  # bad dates: the page says what is wrong
        return see_other(url_for("officer.statistics", **_query_args(form)))
    table = stats.table(key, current_scope(), period, str(get_locale()))
    services.record_access(current_user, services.EXPORTED, details={
        "table": key, "format": file_format, "start": period.start.isoformat(), "end": period.end.isoformat()})
    filename = f"{key}_{period.start.isoformat()}_{period.end.isoformat()}"
    return exports.download(file_format, filename, table.title, table.header, table.rows)
