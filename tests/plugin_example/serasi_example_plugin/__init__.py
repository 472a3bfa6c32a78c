"""Example third-party plugin for SERASI Web.

- A lodging type "glamping" with its own field (number of tents) and rule.
- A stay source "example_pms" that pulls stays from a PMS export: a JSON file named by the
  app setting EXAMPLE_PMS_FILE, mapping lodging id -> [{"external_id", "values"}].
- Its own table (``example_tent``, models.py) created by its own migration branch ("example",
  ``migrations/``), and its own page (the tents of a glamping site, routes.py and
  ``templates/``), linked from the lodging's page.
- Its own message catalogue (``translations/``, Indonesian), merged at start: the field label
  and the rule's message show in the user's language. Rebuild it after changing a string:
  ``pybabel extract -k _l -o messages.pot serasi_example_plugin`` and
  ``pybabel update -i messages.pot -d serasi_example_plugin/translations``, then
  ``pybabel compile -d serasi_example_plugin/translations`` (the package build ships the .mo).
"""
from __future__ import annotations

import json
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import IntegerField
from wtforms.validators import NumberRange, Optional

from serasi_web import hookimpl
from serasi_web.lodgings.types import LodgingLink, LodgingType
from serasi_web.plugin_types import SourceError, SourceField
from serasi_web.stays.sync import ExternalStay


def _glamping_rules(values):
    if values.get("room_count") and values.get("tent_count") and values["tent_count"] > values["room_count"]:
        return {"tent_count": str(_l("A glamping site cannot have more tents than rooms (units)."))}
    return {}


GLAMPING = LodgingType("glamping", _l("Glamping"), order=65, validate=_glamping_rules,
                       extra_fields={"tent_count": IntegerField(_l("Number of tents"), validators=[
                           Optional(), NumberRange(min=1, max=500, message=_l("Enter a number of tents from 1 to 500."))])})
HERE = Path(__file__).resolve().parent
TRANSLATIONS = HERE / "translations"
MIGRATIONS = HERE / "migrations"


class ExamplePmsSource:
    name = "example_pms"
    label = _l("Example PMS export")
    fields = (SourceField("export_file", _l("Export file"), required=False,
                          help=_l("The path of the PMS's JSON export on the server (default: the EXAMPLE_PMS_FILE setting).")),)
    cannot_supply = ()

    def pull(self, lodging, settings):
        path = settings.get("export_file") or current_app.config.get("EXAMPLE_PMS_FILE")
        if not path:
            return []
        try:
            exported = json.loads(Path(path).read_text())
        except (OSError, ValueError):
            raise SourceError(_l("The export file cannot be read.")) from None
        return [ExternalStay(item["external_id"], item["values"]) for item in exported.get(str(lodging.id), [])]


@hookimpl
def serasi_register_lodging_types(register):
    register(GLAMPING)


@hookimpl
def serasi_register_stay_sources(register):
    register(ExamplePmsSource())


@hookimpl
def serasi_register_translations(register):
    register(TRANSLATIONS)


@hookimpl
def serasi_register_migrations(register):
    register(MIGRATIONS)


@hookimpl
def serasi_register_blueprints(register):
    from .routes import tents

    register(tents)


@hookimpl
def serasi_register_lodging_links(register):
    register(LodgingLink(_l("Tents"), "example_tents.index", lodging_types=("glamping",)))
