"""Example third-party plugin for SERASI Web.

- A lodging type "glamping" with its own field (number of tents) and rule.
- A stay source "example_pms" that pulls stays from a PMS export: a JSON file named by the
  app setting EXAMPLE_PMS_FILE, mapping lodging id -> [{"external_id", "values"}].
"""
from __future__ import annotations

import json
from pathlib import Path

from flask import current_app
from wtforms import IntegerField
from wtforms.validators import NumberRange, Optional

from serasi_web import hookimpl
from serasi_web.lodgings.types import LodgingType
from serasi_web.stays.sync import ExternalStay


def _glamping_rules(values):
    if values.get("room_count") and values.get("tent_count") and values["tent_count"] > values["room_count"]:
        return {"tent_count": "A glamping site cannot have more tents than rooms (units)."}
    return {}


GLAMPING = LodgingType("glamping", "Glamping", order=65, validate=_glamping_rules,
                       extra_fields={"tent_count": IntegerField("Number of tents", validators=[Optional(), NumberRange(min=1, max=500)])})


class ExamplePmsSource:
    name = "example_pms"
    label = "Example PMS export"

    def pull(self, lodging):
        path = current_app.config.get("EXAMPLE_PMS_FILE")
        if not path:
            return []
        exported = json.loads(Path(path).read_text())
        return [ExternalStay(item["external_id"], item["values"]) for item in exported.get(str(lodging.id), [])]


@hookimpl
def serasi_register_lodging_types(register):
    register(GLAMPING)


@hookimpl
def serasi_register_stay_sources(register):
    register(ExamplePmsSource())
