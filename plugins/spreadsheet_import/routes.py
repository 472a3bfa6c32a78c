"""The operator's spreadsheet import at ``/lodgings/<id>/import``: upload, wait while the
worker reads the file, map the columns, check every row, then import all rows or only the valid
ones, with a progress page.

Every page works without JavaScript (the progress page refreshes itself); with htmx the
progress part is polled as a fragment. Another operator's lodging or job answers 404.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, make_response, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from serasi_web.accounts.models import Role
from serasi_web.auth import role_required
from serasi_web.extensions import csrf, db
from serasi_web.htmx import render_page_or_fragment, see_other, wants_fragment
from serasi_web.lodgings.services import get_own_lodging_or_404
from serasi_web.officer.exports import CSV_MIMETYPE, XLSX_MIMETYPE, download
from serasi_web.stays.services import receipt_refusal

from . import service
from .columns import TARGETS
from .export import template_csv, template_xlsx
from .forms import UploadForm, mapping_form
from .models import ImportJob

# Its pages live in its own folder (templates/spreadsheet_import/...), found after the core ones.
blueprint = Blueprint("spreadsheet_import", __name__, url_prefix="/lodgings/<int:lodging_id>/import", template_folder="templates")
operator_only = role_required(Role.OPERATOR)
RECENT_JOBS = 10
ERRORS_ON_PAGE = 200
LANGUAGES = ("id", "en")


def _own_job_or_404(lodging, job_id: int) -> ImportJob:
    job = db.session.execute(select(ImportJob).where(ImportJob.id == job_id, ImportJob.lodging_id == lodging.id)).scalar_one_or_none()
    if job is None:
        abort(404)
    return job


def _max_mb() -> int:
    return service.setting("IMPORT_MAX_BYTES") // (1024 * 1024)


def _index_page(lodging, form):
    """The upload page (also with the form's message: bad input answers 200, never an error page)."""
    jobs = db.session.execute(select(ImportJob).where(ImportJob.lodging_id == lodging.id)
                              .order_by(ImportJob.created_at.desc(), ImportJob.id.desc()).limit(RECENT_JOBS)).scalars().all()
    return render_template("spreadsheet_import/index.html", lodging=lodging, form=form, jobs=jobs)


@blueprint.route("", methods=["GET", "POST"])
@csrf.exempt  # the upload form checks its own CSRF token, after the larger body limit below is set
@operator_only
def index(lodging_id: int):
    """Upload a file; the recent imports of the lodging."""
    lodging = get_own_lodging_or_404(current_user, lodging_id)
    if request.method == "POST":
        request.max_content_length = service.setting("IMPORT_REQUEST_LIMIT")
    try:
        form = UploadForm(max_mb=_max_mb())
        submitted = form.validate_on_submit()
    except RequestEntityTooLarge:
        form = UploadForm(formdata=None, max_mb=_max_mb())
        form.file.errors = [_("The file is larger than %(mb)d MB. Split it into smaller files and import them one after the other.", mb=_max_mb())]
        return _index_page(lodging, form)
    if submitted and (refusal := receipt_refusal(lodging)):
        form.file.errors = [refusal]
    elif submitted:
        try:
            job = service.create_job(lodging, current_user, form.file.data)
        except service.UploadError as error:
            db.session.rollback()
            form.file.errors = [str(error.message)]
            return _index_page(lodging, form)
        service.start(job, "read")  # in the worker; the job page waits for it
        return see_other(url_for("spreadsheet_import.job", lodging_id=lodging.id, job_id=job.id))
    return _index_page(lodging, form)


@blueprint.route("/template.<any(csv, xlsx):kind>")
@operator_only
def template(lodging_id: int, kind: str):
    """The empty template with one example row, headers in Indonesian (?lang=id) or English."""
    get_own_lodging_or_404(current_user, lodging_id)
    lang = request.args.get("lang") or str(get_locale())
    lang = lang if lang in LANGUAGES else "id"
    name = f"serasi-import-{lang}.{kind}"
    if kind == "csv":
        return Response(template_csv(lang), mimetype=CSV_MIMETYPE, headers={"Content-Disposition": f"attachment; filename={name}"})
    return Response(template_xlsx(lang), mimetype=XLSX_MIMETYPE, headers={"Content-Disposition": f"attachment; filename={name}"})


@blueprint.route("/<int:job_id>/columns", methods=["GET", "POST"])
@operator_only
def columns(lodging_id: int, job_id: int):
    """Choose which column of the file holds each field; then check every row."""
    lodging = get_own_lodging_or_404(current_user, lodging_id)
    job = _own_job_or_404(lodging, job_id)
    if job.status in service.RUNNING or job.status == service.DONE or not job.headers:  # not read (yet, or ever)
        return see_other(url_for("spreadsheet_import.job", lodging_id=lodging.id, job_id=job.id))
    if not service.file_exists(job):
        flash(_("The file of this import is no longer kept; upload it again."), "error")
        return see_other(url_for("spreadsheet_import.index", lodging_id=lodging.id))
    form = mapping_form(job.headers, job.mapping or {})
    if form.validate_on_submit():
        job.mapping = form.mapping()
        db.session.commit()
        service.start(job, "check")
        return see_other(url_for("spreadsheet_import.job", lodging_id=lodging.id, job_id=job.id))
    missing = [form[target].label.text for target in TARGETS if form[target].errors]
    return render_template("spreadsheet_import/columns.html", lodging=lodging, job=job, form=form, missing=missing)


@blueprint.route("/<int:job_id>")
@operator_only
def job(lodging_id: int, job_id: int):
    """Progress while checking or importing; the problems found; the result."""
    lodging = get_own_lodging_or_404(current_user, lodging_id)
    job = _own_job_or_404(lodging, job_id)
    if job.status == service.UPLOADED:  # read: the columns are next
        columns_url = url_for("spreadsheet_import.columns", lodging_id=lodging.id, job_id=job.id)
        if wants_fragment():  # the polling fragment: htmx loads the whole next page
            response = make_response("", 200)
            response.headers["HX-Redirect"] = columns_url
            response.vary.add("HX-Request")
            return response
        return see_other(columns_url)
    return render_page_or_fragment("spreadsheet_import/job.html", "spreadsheet_import/_job.html", lodging=lodging, job=job,
                                   running=job.status in service.RUNNING, errors_on_page=ERRORS_ON_PAGE,
                                   max_errors=service.setting("IMPORT_MAX_ERRORS"),
                                   file_kept=service.file_exists(job), skipped=_skipped(job))


def _skipped(job: ImportJob) -> int:
    if job.status != service.DONE:
        return 0
    return max(job.processed_rows - job.created_count - job.updated_count - job.unchanged_count, 0)


@blueprint.route("/<int:job_id>/import", methods=["POST"])
@operator_only
def run(lodging_id: int, job_id: int):
    """Import every row (only when the check found no problem) or only the valid rows."""
    lodging = get_own_lodging_or_404(current_user, lodging_id)
    job = _own_job_or_404(lodging, job_id)
    rows = request.form.get("rows")  # CSRF is checked app-wide by CSRFProtect
    if rows not in ("all", "valid"):
        flash(_("Choose whether to import all rows or only the valid ones."), "error")
    elif refusal := receipt_refusal(lodging):
        flash(refusal, "error")
    elif job.status != service.CHECKED:
        flash(_("This import cannot be started now: it is not checked, or it already ran."), "error")
    elif rows == "all" and job.error_rows:
        flash(_("Some rows have problems: fix the file and upload it again, or import only the valid rows."), "error")
    elif job.valid_rows == 0:
        flash(_("No row is valid: there is nothing to import."), "error")
    elif not service.file_exists(job):
        flash(_("The file of this import is no longer kept; upload it again."), "error")
    else:
        service.start(job, "import", only_valid=rows == "valid")
    return see_other(url_for("spreadsheet_import.job", lodging_id=lodging.id, job_id=job.id))


@blueprint.route("/<int:job_id>/cancel", methods=["POST"])
@operator_only
def cancel(lodging_id: int, job_id: int):
    lodging = get_own_lodging_or_404(current_user, lodging_id)
    job = _own_job_or_404(lodging, job_id)
    service.cancel(job)
    return see_other(url_for("spreadsheet_import.job", lodging_id=lodging.id, job_id=job.id))


@blueprint.route("/<int:job_id>/discard", methods=["POST"])
@operator_only
def discard(lodging_id: int, job_id: int):
    """Forget an import and delete its file (stays already imported are kept)."""
    lodging = get_own_lodging_or_404(current_user, lodging_id)
    job = _own_job_or_404(lodging, job_id)
    service.discard(job)
    flash(_("The import and its file were deleted."), "info")
    return see_other(url_for("spreadsheet_import.index", lodging_id=lodging.id))


@blueprint.route("/<int:job_id>/problems.csv")
@operator_only
def problems_csv(lodging_id: int, job_id: int):
    """The problems kept for the job as CSV (row, column, problem), every cell neutralised.

    They quote guests' names and document numbers, so the download is never cached (as the
    console's exports)."""
    lodging = get_own_lodging_or_404(current_user, lodging_id)
    job = _own_job_or_404(lodging, job_id)
    name = f"import-{job.id}-problems"
    rows = [[p.get("row"), p.get("column"), p.get("message")] for p in job.errors or []]
    return download("csv", name, name, [_("Row"), _("Column"), _("Problem")], rows)
