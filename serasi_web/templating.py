"""Template globals and filters: region and country names, local times, lodging types."""
from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_babel import format_date, format_datetime, get_locale

from .i18n import LANGUAGE_NAMES
from .plugins import registry
from .lodgings.types import lodging_links, lodging_type, lodging_type_label
from .reference import countries, permits, regions

_LABELS = {
    "purpose": permits.PURPOSES, "sex": permits.SEXES, "document_type": permits.DOCUMENT_TYPES,
    "stay_permit": permits.STAY_PERMITS,
}


def label_of(kind: str, key: str) -> str:
    """The translated label of a code (purpose, sex, document type, stay permit)."""
    found = _LABELS.get(kind, {}).get(key)
    return str(found) if found is not None else (key or "")


def local_time(value: datetime | None, region_code: str = "", style: str = "medium") -> str:
    """A UTC timestamp shown in the time zone of ``region_code`` (WIB/WITA/WIT), with its label."""
    if value is None:
        return ""
    if not region_code:
        return format_datetime(value, style)
    zone = regions.time_zone_of(region_code)
    local = value.astimezone(zone)
    return f"{format_datetime(local.replace(tzinfo=None), style)} {regions.time_zone_label(region_code)}"


def extra_field_label(type_key: str, name: str) -> str:
    """The label of a lodging type's extra field (its name when the plugin is gone)."""
    chosen = lodging_type(type_key)
    field = chosen.extra_fields.get(name) if chosen else None
    return str(field.args[0]) if field is not None and field.args else name


def stay_source_label(name: str | None) -> str:
    """The label of the pull adapter that brought a stay in (``serasi_register_stay_sources``),
    "" for the report form and for sources no installed adapter registers."""
    source = registry().stay_source(name) if name and name != "form" else None
    return str(source.label) if source is not None else ""


def init_app(app: Flask) -> None:
    from . import form_drafts
    from .audit import labels
    from .plugins import plugin_failures
    from .stays.services import receipt_refusal

    app.jinja_env.globals.update(
        region_name=regions.name,
        country_name=lambda code: countries.country_name(code, str(get_locale())),
        lodging_type_label=lodging_type_label,
        lodging_links=lodging_links,
        stay_sources_installed=lambda: bool(app.extensions["serasi.registry"].stay_sources),
        stay_source_label=stay_source_label,
        language_names=LANGUAGE_NAMES,
        current_locale=lambda: str(get_locale()),
        label_of=label_of,
        extra_field_label=extra_field_label,
        lodging_time_zone=lambda lodging: regions.time_zone_label(lodging.province_code),
        plugin_failures=plugin_failures,
        audit_action_label=labels.audit_action_label,
        details_for_admin=labels.details_for_admin,
        object_type_label=labels.object_type_label,
        version_action_label=labels.version_action_label,
        stay_event_label=labels.stay_event_label,
        describe_changes=labels.describe_changes,
        describe_details=labels.describe_details,
        visa_index_description=permits.visa_index_description,
        receipt_refusal=receipt_refusal,
        keep_draft=form_drafts.keep_draft,
        drafts_done=form_drafts.drafts_done,
    )
    app.jinja_env.filters["format_date"] = lambda value, style="medium": format_date(value, style) if value else ""
    app.jinja_env.filters["local_time"] = local_time
    from .audit.labels import action_label

    app.jinja_env.filters["action_label"] = action_label
    from .privacy.purpose import label as purpose_label

    app.jinja_env.globals["purpose_label"] = purpose_label
