"""Recording audit events (the caller commits, so the event lands with the change it records)."""
from __future__ import annotations

from typing import Any

from ..extensions import db
from .models import AuditEvent


def event_values(action: str, obj, actor=None, *, lodging_id: int | None = None, changes: dict[str, Any] | None = None,
                 actor_label: str = "") -> dict[str, Any]:
    """The columns of one audit event (``at`` is filled when it is written)."""
    return {
        "action": action,
        "object_type": type(obj).__name__,
        "object_id": obj.id,
        "actor_id": getattr(actor, "id", None),
        "actor_label": actor_label or (getattr(actor, "email", "") or ""),
        "lodging_id": lodging_id,
        "changes": changes or {},
    }


def record(action: str, obj, actor=None, *, lodging_id: int | None = None, changes: dict[str, Any] | None = None,
           actor_label: str = "") -> AuditEvent:
    event = AuditEvent(**event_values(action, obj, actor, lodging_id=lodging_id, changes=changes, actor_label=actor_label))
    db.session.add(event)
    return event
