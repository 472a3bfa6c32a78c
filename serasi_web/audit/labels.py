"""Audit events, report history and stay events in the reader's language.

The database keeps stable codes (``stay.checked_out``, ``room``, ``itk``); people read labels.
Everything shown of a history or an audit entry goes through here, so no internal name reaches
a page or an e-mail (tests/test_language.py renders the pages in Indonesian and checks).
"""
from __future__ import annotations

from datetime import date, datetime

from flask_babel import format_date, format_datetime, get_locale
from flask_babel import lazy_gettext as _l

# Actions written by the core. A plugin names its own (``serasi_register_audit_labels``); an
# action nobody named shows as its code.
AUDIT_ACTIONS = {
    "stay.created": _l("Draft report created"),
    "stay.edited": _l("Draft report edited"),
    "stay.submitted": _l("Report submitted"),
    "stay.corrected": _l("Report corrected"),
    "stay.checked_out": _l("Guest checked out"),
    "stay.voided": _l("Report voided"),
    "console.stay_viewed": _l("Officer viewed a report"),
    "console.timeline_viewed": _l("Officer viewed a guest's timeline"),
    "console.search": _l("Officer searched reports"),
    "console.inbox_viewed": _l("Officer viewed the inbox"),
    "console.watch_list_viewed": _l("Officer viewed a watch list"),
    "console.statistics_viewed": _l("Officer viewed statistics"),
    "console.export": _l("Officer exported reports"),
    "admin.audit_export": _l("Audit log exported"),
    "stay.legal_hold_set": _l("Legal hold set"),
    "stay.legal_hold_released": _l("Legal hold released"),
    "privacy.request_recorded": _l("Data access request recorded"),
    "privacy.request_answered": _l("Data access request answered"),
    "privacy.access_log_searched": _l("Access log searched for a guest"),
    "privacy.access_log_exported": _l("Access log exported"),
    "account.mfa_reset_by_admin": _l("Two-step login reset by an administrator"),
    "account.mfa_enabled": _l("Two-step login switched on"),
    "account.mfa_removed": _l("Two-step login switched off"),
    "account.mfa_device_replaced": _l("Two-step login moved to a new device"),
    "account.mfa_recovery_code_used": _l("Recovery code used to log in"),
    "account.mfa_recovery_codes_renewed": _l("New recovery codes made"),
    "account.office_role_changed": _l("Office role of an administrator changed"),
    "retention.run": _l("Retention job run"),
    "retention.policy_changed": _l("Retention period changed"),
    "account.email_verified": _l("E-mail address confirmed"),
    "lodging.suspended": _l("Lodging suspended"),
    "lodging.suspension_lifted": _l("Lodging suspension lifted"),
    "connection.created": _l("System connected"),
    "connection.edited": _l("Connection settings changed"),
    "connection.paused": _l("Connection paused"),
    "connection.resumed": _l("Connection resumed"),
    "connection.deleted": _l("Connection deleted"),
    "arrival.self_check_in_on": _l("Self check-in switched on"),
    "arrival.self_check_in_off": _l("Self check-in switched off"),
    "arrival.poster_rotated": _l("Self check-in poster given a new code"),
    "arrival.settings_changed": _l("Self check-in settings changed"),
    "arrival.started": _l("Guest started a self check-in"),
    "arrival.sent": _l("Guest sent a self check-in"),
    "arrival.approved": _l("Self check-in approved"),
    "arrival.rejected": _l("Self check-in rejected"),
    "arrival.deleted": _l("Self check-in deleted"),
    "arrival.expired": _l("Self check-in expired unapproved"),
    "federation.peer_created": _l("Federated instance added"),
    "federation.peer_renamed": _l("Federated instance renamed"),
    "federation.peer_token_rotated": _l("Federated instance given a new token"),
    "federation.peer_revoked": _l("Federated instance revoked"),
    "federation.lodging_mirrored": _l("Lodging received from a federated instance"),
    "federation.lodging_updated": _l("Lodging updated by a federated instance"),
    "federation.backfill_started": _l("Sending of earlier reports started"),
    "federation.backfill_cancelled": _l("Sending of earlier reports cancelled"),
}

OBJECT_TYPES = {"Stay": _l("Report"), "Console": _l("Office console"),
                "Lodging": _l("Lodging"), "StayGroup": _l("Group"),
                "User": _l("Account"), "SubjectAccessRequest": _l("Data access request"),
                "SourceConnection": _l("Connected system"), "Arrival": _l("Self check-in"),
                "FederationPeer": _l("Federated instance"), "FederationBackfill": _l("Sending of earlier reports")}

# Versions of a report (stay_version.action) and the stay events other systems receive.
VERSION_ACTIONS = {
    "created": _l("Draft created"), "edited": _l("Draft edited"), "submitted": _l("Submitted"),
    "corrected": _l("Corrected"), "checked_out": _l("Checked out"), "voided": _l("Voided"),
}
STAY_EVENTS = {"reported": _l("Report received"), "corrected": _l("Report corrected"),
               "checked_out": _l("Guest checked out"), "voided": _l("Report voided")}
STAY_STATUSES = {"draft": _l("Draft"), "reported": _l("Reported"), "checked_out": _l("Checked out"), "voided": _l("Voided")}

# Fields of a report that are not on the report form.
_OTHER_FIELDS = {"status": _l("Status"), "accompanying_stay_id": _l("Accompanying adult"), "checked_out_at": _l("Check-out"),
                 "version": _l("Version"), "reason": _l("Reason"), "changes": _l("Changes")}

# Detail keys of the access log.
_DETAIL_KEYS = {"list": _l("List"), "page": _l("Page"), "filters": _l("Filters"), "count": _l("Number"),
                "stay_ids": _l("Reports"), "rows": _l("Rows"), "format": _l("Format"), "criteria": _l("Search"),
                "table": _l("Table"), "start": _l("From"), "end": _l("To"), "created": _l("Created"), "updated": _l("Updated"),
                "unchanged": _l("Unchanged"), "skipped": _l("Skipped"), "name": _l("Name"), "region": _l("Region"),
                "check_in_from": _l("Check-in from"), "check_in_to": _l("Check-in to"), "actor": _l("Who"), "action": _l("What"),
                "system": _l("System"), "fields": _l("Changed"), "guests": _l("Guests"), "reports": _l("Reports"),
                "notify_by_email": _l("E-mail notice"), "expiry_hours": _l("Hours before deletion"),
                "office": _l("Office"), "prefix": _l("Token begins with"), "since": _l("From"), "total": _l("Total"),
                "enqueued": _l("Sent so far"), "origin_lodging_id": _l("Number at the sending instance")}
# A connection's own settings (a source's fields are labelled by its plugin, see connection_field_label).
_CONNECTION_FIELDS = {"interval_minutes": _l("Pull"), "enabled": _l("Pull on this schedule")}
_WATCH_LISTS = {"overstays": _l("Overstays"), "late": _l("Late reports"), "planned": _l("Planned check-out passed"),
                "silent": _l("Silent lodgings")}


def _with_plugins(core: dict, kind: str) -> dict:
    """The core's labels with those the app's plugins registered (``serasi_register_audit_labels``);
    the core's win, as its catalogue does."""
    from flask import current_app, has_app_context

    registry = current_app.extensions.get("serasi.registry") if has_app_context() else None
    return {**getattr(registry, kind), **core} if registry is not None else core


def audit_action_label(action: str) -> str:
    label = _with_plugins(AUDIT_ACTIONS, "audit_actions").get(action)
    return str(label) if label is not None else action


def action_label(action: str) -> str:
    """The action in words for the log and a data subject's answer; a plugin's action that has no
    words yet reads "Other event" (never a raw code in the Indonesian UI)."""
    label = _with_plugins(AUDIT_ACTIONS, "audit_actions").get(action)
    return str(label) if label is not None else str(_l("Other event"))


def audit_action_choices() -> list[tuple[str, str]]:
    """(code, label) of every action, for the audit log's filter."""
    return [(code, str(label)) for code, label in _with_plugins(AUDIT_ACTIONS, "audit_actions").items()]


def object_type_label(object_type: str) -> str:
    label = _with_plugins(OBJECT_TYPES, "audit_object_types").get(object_type)
    return str(label) if label is not None else object_type


def version_action_label(action: str) -> str:
    label = VERSION_ACTIONS.get(action)
    return str(label) if label is not None else action


def stay_event_label(event: str) -> str:
    label = STAY_EVENTS.get(event)
    return str(label) if label is not None else event


def report_field_label(name: str) -> str:
    """The form's label of a report field (``room`` -> "Kamar"), for histories and audit details;
    a lodging's field (a federated instance's update names them) by the lodging form's label."""
    from ..lodgings.forms import LodgingForm
    from ..stays.forms import CorrectionForm

    def form_label(form):
        unbound = getattr(form, name, None)
        return unbound.args[0] if unbound is not None and getattr(unbound, "args", None) else None

    # The report form first, then the words of audit details ("name" is a peer's or a system's
    # name as often as a lodging's), then the lodging form.
    label = form_label(CorrectionForm) or _OTHER_FIELDS.get(name) or _DETAIL_KEYS.get(name) or form_label(LodgingForm)
    return str(label) if label is not None else name.replace("_", " ")


def report_value(name: str, value) -> str:
    """A value of a report field as people read it: labels for codes, local dates, "—" for none."""
    from ..reference import countries
    from ..templating import label_of

    if value in (None, "", [], {}):
        return "—"
    if name in ("sex", "purpose", "document_type", "stay_permit"):
        return label_of(name, value)
    if name in ("nationality", "issuing_state"):
        return countries.country_name(value, str(get_locale()))
    if name == "status":
        return str(STAY_STATUSES.get(value, value))
    if name == "list":
        return str(_WATCH_LISTS.get(value, value))
    if name == "action":
        return audit_action_label(value)
    if name == "system":
        from ..integrations.sources import source_label

        return source_label(value)
    if isinstance(value, bool):
        return str(_l("yes") if value else _l("no"))
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[:4].isdigit():
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return format_datetime(moment, "short") if len(value) > 10 else format_date(moment.date(), "medium")
    if isinstance(value, datetime):
        return format_datetime(value, "short")
    if isinstance(value, date):
        return format_date(value, "medium")
    return str(value)


def connection_field_label(name: str) -> str:
    """A field of a connection in words: the schedule's, or the one its source's plugin declares."""
    from ..plugins import registry

    if name in _CONNECTION_FIELDS:
        return str(_CONNECTION_FIELDS[name])
    for source in registry().stay_sources:
        for source_field in source.fields:
            if source_field.name == name:
                return str(source_field.label)
    return name.replace("_", " ")


def describe_changes(changes: dict) -> list[str]:
    """``{"room": ["A3", "B1"]}`` as ["Kamar: A3 → B1"]."""
    lines = []
    for name, change in (changes or {}).items():
        if isinstance(change, (list, tuple)) and len(change) == 2:
            lines.append(f"{report_field_label(name)}: {report_value(name, change[0])} → {report_value(name, change[1])}")
        else:
            lines.append(f"{report_field_label(name)}: {report_value(name, change)}")
    return lines


def describe_details(details: dict) -> list[str]:
    """The details of an audit event, readable: the version, the reason, each change by its label."""
    lines = []
    for key, value in (details or {}).items():
        if key == "changes" and isinstance(value, dict):
            lines.extend(describe_changes(value))
        elif isinstance(value, dict):
            inner = ", ".join(f"{report_field_label(k)}: {report_value(k, v)}" for k, v in value.items())
            lines.append(f"{report_field_label(key)}: {inner or '—'}")
        elif key == "fields" and isinstance(value, list):  # a connection's changed fields: names only
            lines.append(f"{report_field_label(key)}: {', '.join(connection_field_label(item) for item in value) or '—'}")
        elif isinstance(value, list):
            lines.append(f"{report_field_label(key)}: {', '.join(str(item) for item in value[:20]) or '—'}")
        else:
            lines.append(f"{report_field_label(key)}: {report_value(key, value)}")
    return lines


# What the administrator's audit log leaves out: the details of reading and changing reports name
# guests (search terms, corrected names), and running the instance shows no guest data. The
# office's data-protection officer reads them in the office's access log.
GUEST_DATA_ACTIONS = ("console.", "stay.", "privacy.")


def details_for_admin(action: str, details: dict) -> list[str]:
    """``describe_details`` for the admin's audit log: nothing about guests."""
    if action.startswith(GUEST_DATA_ACTIONS):
        return []
    return describe_details(details)
