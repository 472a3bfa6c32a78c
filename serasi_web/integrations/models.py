"""Tables of the scheduled pulls from stay sources (connections and their runs). The bundled
plugins' tables (API tokens, spreadsheet imports, roster syncs) live with each plugin."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db


class SourceConnection(db.Model):
    """A lodging connected to a stay source (a plugin's pull adapter): its settings, its secrets
    (encrypted, see ``integrations.sources``) and the schedule the worker pulls on."""

    __tablename__ = "source_connection"
    __table_args__ = (UniqueConstraint("lodging_id", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lodging_id: Mapped[int] = mapped_column(ForeignKey("lodging.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(60))  # StaySource.name
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the fields that are not secret
    # The secret fields as one Fernet token of their JSON: never shown, never logged.
    secrets_encrypted: Mapped[Optional[str]] = mapped_column(Text)
    interval_minutes: Mapped[int] = mapped_column(Integer, default=60)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime, index=True)
    claimed_until: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)  # a worker runs it until then
    last_run_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    last_status: Mapped[str] = mapped_column(String(16), default="")  # "", ok, failing, stopped
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # Why the last pull failed: {"message": msgid, "values": {...}}, translated when shown.
    failure: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lodging = relationship("Lodging")


class SourceRun(db.Model):
    """One pull of a connection and what it did (the last ``sources.RUNS_KEPT`` are kept)."""

    __tablename__ = "source_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("source_connection.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    unchanged_count: Mapped[int] = mapped_column(Integer, default=0)
    draft_count: Mapped[int] = mapped_column(Integer, default=0)  # incomplete stays kept (or waiting) as drafts
    refused_count: Mapped[int] = mapped_column(Integer, default=0)  # invalid, conflicting or refused items
    # Reports voided because the other system says their booking was cancelled.
    voided_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Why items were refused (the first ``sources.PROBLEMS_KEPT``): {external_id, field, message};
    # the field's name is labelled when shown, the message is in the lodging owner's language.
    problems: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Why the pull failed, as SourceConnection.failure; None when it ran.
    failure: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
