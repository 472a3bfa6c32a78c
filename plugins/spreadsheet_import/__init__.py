"""Bundled plugin: import guests from a spreadsheet (CSV or XLSX) at ``/lodgings/<id>/import``.

Upload, map the columns (pre-filled for the downloadable template's English or Indonesian
headers), check every row, then import all rows or only the valid ones through the same
idempotent upsert as the push API. Every phase (reading the file, the check, the import) runs in
the background worker. See docs/import.md.
"""
from __future__ import annotations

from pathlib import Path

from flask_babel import lazy_gettext as _l

from serasi_web import hookimpl
from serasi_web.lodgings.types import LodgingLink
from serasi_web.plugin_types import AuditLabels


@hookimpl(trylast=True)
def serasi_register_blueprints(register):
    from .routes import blueprint

    register(blueprint)


@hookimpl(trylast=True)
def serasi_register_lodging_links(register):
    register(LodgingLink(_l("Import from a spreadsheet"), "spreadsheet_import.index", order=20))


def run_import_job(job_id: int, phase: str) -> None:
    """The worker's task: one phase of an import job (``service.run_job``)."""
    from flask import current_app

    from .service import run_job

    run_job(current_app._get_current_object(), job_id, phase)


@hookimpl(trylast=True)
def serasi_register_tasks(register):
    from .service import TASK_NAME

    register(TASK_NAME, run_import_job)


MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@hookimpl(trylast=True)
def serasi_register_migrations(register):
    from . import models  # noqa: F401  (its table joins the metadata only when the plugin is on)

    register(MIGRATIONS)


@hookimpl(trylast=True)
def serasi_purge_expired(moment, batch_size):
    """Jobs uploaded before ``moment`` go with their error rows; one still importing is kept."""
    from sqlalchemy import and_

    from serasi_web.privacy.retention import delete_in_batches

    from .models import ImportJob

    return {"import_jobs_deleted": delete_in_batches(ImportJob, and_(ImportJob.created_at < moment, ImportJob.status != "importing"), batch_size)}


@hookimpl(trylast=True)
def serasi_register_audit_labels(register):
    register(AuditLabels(actions={"import.completed": _l("Spreadsheet import completed")},
                         object_types={"ImportJob": _l("Spreadsheet import")}))
