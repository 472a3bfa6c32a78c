"""Tables of the integrations: API tokens, spreadsheet import jobs, company-mess roster syncs,
and the scheduled pulls from stay sources (connections and their runs)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db


class ApiToken(db.Model):
    """A bearer token that lets one system act on one lodging. Only its hash is stored.

    Every token expires (``expires_at``); a ``read`` token may only read (GET), a ``write``
    token may also create, correct, check out and void."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    lodging_id: Mapped[int] = mapped_column(ForeignKey("lodging.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))  # the system using it, e.g. "Front desk PMS"
    prefix: Mapped[str] = mapped_column(String(12))  # shown in lists so the operator can tell tokens apart
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)  # at most a minute off: see push_api.auth
    revoked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    scope: Mapped[str] = mapped_column(String(8), default="write", server_default="write")  # "read" or "write"

    lodging = relationship("Lodging")


class ImportJob(db.Model):
    """A spreadsheet upload: checked first (dry run), then imported, with its progress."""

    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    lodging_id: Mapped[int] = mapped_column(ForeignKey("lodging.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(200))
    file_format: Mapped[str] = mapped_column(String(8))  # csv or xlsx
    encoding: Mapped[str] = mapped_column(String(20), default="utf-8")
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # report field -> column header
    headers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="uploaded")  # uploaded, checked, importing, done, failed
    only_valid: Mapped[bool] = mapped_column(default=False)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    valid_rows: Mapped[int] = mapped_column(Integer, default=0)
    error_rows: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    unchanged_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)  # the first problems: {row, column, message}
    failure: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)


class RosterSync(db.Model):
    """One roster received from a company's HR system, and the departures awaiting confirmation."""

    __tablename__ = "roster_sync"

    id: Mapped[int] = mapped_column(primary_key=True)
    lodging_id: Mapped[int] = mapped_column(ForeignKey("lodging.id", ondelete="CASCADE"), index=True)
    received_from: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # reading, failed, applied, pending, confirmed, dismissed, superseded
    arrived: Mapped[list[Any]] = mapped_column(JSON, default=list)  # stay ids reported from this roster
    departing: Mapped[list[Any]] = mapped_column(JSON, default=list)  # stay ids no longer listed
    # {stay id (as text): ISO time in UTC} when a roster first left each departing resident out:
    # this roster's arrival, or an earlier one's still waiting that it superseded.
    departing_since: Mapped[Optional[dict[str, str]]] = mapped_column(JSON, default=dict)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[list[Any]] = mapped_column(JSON, default=list)  # {external_id, field, message}
    # Why an uploaded roster was not read: {"message": msgid, "values": {...}}, translated when shown.
    failure: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    def departed_at(self, stay_id: int) -> datetime:
        """When the HR roster first showed the resident gone: their check-out time, unless the
        administrator who confirms knows better."""
        since = (self.departing_since or {}).get(str(stay_id))
        return datetime.fromisoformat(since) if since else self.created_at


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
