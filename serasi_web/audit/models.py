"""The audit trail: who did what to which record, and what changed."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database import UTCDateTime, utcnow
from ..extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    actor_label: Mapped[str] = mapped_column(String(120), default="")  # e.g. "api:<token name>" when no user
    action: Mapped[str] = mapped_column(String(40))  # stay.created, stay.submitted, stay.corrected ...
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int] = mapped_column()
    lodging_id: Mapped[Optional[int]] = mapped_column(ForeignKey("lodging.id", ondelete="SET NULL"), index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"field": [old, new]} or details


class AuditSubject(db.Model):
    """One report an access-log event showed (a view, a list page, a search, an export).

    Kept beside the event so that the data-protection officer can ask "who saw this person's
    reports" with an index on both databases, instead of reading every event's JSON.
    """

    __tablename__ = "audit_subject"

    event_id: Mapped[int] = mapped_column(ForeignKey("audit_event.id", ondelete="CASCADE"), primary_key=True)
    stay_id: Mapped[int] = mapped_column(ForeignKey("stay.id", ondelete="CASCADE"), primary_key=True, index=True)
