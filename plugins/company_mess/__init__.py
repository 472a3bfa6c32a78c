"""Bundled plugin: company mess halls (mes perusahaan) and HR roster sync.

A company mess has an employer and usually a sponsor of its foreign workers' stay permits. Its
HR system sends the full list of foreign residents housed now (``PUT /api/v1/roster`` or a CSV
upload, read by the background worker under a memory limit): new arrivals are reported at once; residents no longer listed are proposed for
check-out and wait for the mess administrator's confirmation.
"""
from __future__ import annotations

from pathlib import Path

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from serasi_web import hookimpl
from serasi_web.forms import TOO_LONG, strip
from serasi_web.lodgings.types import LodgingLink, LodgingType

COMPANY_MESS = LodgingType(
    "company_mess", _l("Company mess"), order=30,
    extra_fields={
        "employer_name": StringField(_l("Employer"), filters=[strip], description=_l("The company whose workers live here."),
                                     validators=[DataRequired(_l("Enter the employer's name.")), Length(max=160, message=TOO_LONG)]),
        "permit_sponsor": StringField(_l("Sponsor of the stay permits"), filters=[strip],
                                      description=_l("The company that sponsors the workers' ITAS, if not the employer."),
                                      validators=[Length(max=160, message=TOO_LONG)]),
        "hr_contact": EmailField(_l("HR contact e-mail"), filters=[strip],
                                 validators=[Optional(), Email(_l("Enter a valid e-mail address.")), Length(max=254, message=TOO_LONG)]),
    },
)


@hookimpl(trylast=True)
def serasi_register_lodging_types(register):
    register(COMPANY_MESS)


@hookimpl(trylast=True)
def serasi_register_lodging_links(register):
    register(LodgingLink(_l("Roster"), "roster.index", lodging_types=("company_mess",), order=30))


@hookimpl(trylast=True)
def serasi_register_blueprints(register):
    from .routes import api_roster, roster

    register(roster)
    register(api_roster)


def read_roster_upload(record_id: int) -> None:
    """The worker's task: read and apply an uploaded roster CSV (``service.read_uploaded_roster``)."""
    from .service import read_uploaded_roster

    read_uploaded_roster(record_id)


@hookimpl(trylast=True)
def serasi_register_tasks(register):
    from .service import READ_TASK

    register(READ_TASK, read_roster_upload)


MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@hookimpl(trylast=True)
def serasi_register_migrations(register):
    from . import models  # noqa: F401  (its table joins the metadata only when the plugin is on)

    register(MIGRATIONS)


@hookimpl(trylast=True)
def serasi_purge_expired(moment, batch_size):
    """Rosters received before ``moment`` go, with the departures they proposed."""
    from serasi_web.privacy.retention import delete_in_batches

    from .models import RosterSync

    return {"roster_syncs_deleted": delete_in_batches(RosterSync, RosterSync.created_at < moment, batch_size)}
