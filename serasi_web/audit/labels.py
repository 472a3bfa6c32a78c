"""Audit actions in words, in the reader's language: the log shows no internal codes."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTION_LABELS = {
    "stay.created": _l("Draft created"),
    "stay.edited": _l("Draft edited"),
    "stay.submitted": _l("Submitted"),
    "stay.corrected": _l("Corrected"),
    "stay.checked_out": _l("Checked out"),
    "stay.voided": _l("Voided"),
    "stay.legal_hold_set": _l("Legal hold set"),
    "stay.legal_hold_released": _l("Legal hold released"),
    "console.stay_viewed": _l("Report viewed by the office"),
    "console.timeline_viewed": _l("Stays of the document viewed by the office"),
    "console.search": _l("Reports searched"),
    "console.inbox_viewed": _l("Report inbox read"),
    "console.watch_list_viewed": _l("Watch list read"),
    "console.export": _l("Statistics exported"),
    "admin.audit_export": _l("Audit log exported"),
    "import.completed": _l("Spreadsheet imported"),
    "privacy.request_recorded": _l("Data access request recorded"),
    "privacy.request_answered": _l("Data access request answered"),
    "retention.run": _l("Retention job run"),
    "retention.policy_changed": _l("Retention period changed"),
}


def action_label(action: str) -> str:
    """The action in words; an action of a plugin that has no words yet reads "Other event"."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else str(_l("Other event"))
