"""The company mess's own table: the rosters received from HR systems (its migration branch
``company_mess``, in ``migrations/``)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from serasi_web.database import UTCDateTime, utcnow
from serasi_web.extensions import db


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
    departing_since: Mapped[dict[str, str] | None] = mapped_column(JSON, default=dict)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[list[Any]] = mapped_column(JSON, default=list)  # {external_id, field, message}
    # Why an uploaded roster was not read: {"message": msgid, "values": {...}}, translated when shown.
    failure: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def departed_at(self, stay_id: int) -> datetime:
        """When the HR roster first showed the resident gone: their check-out time, unless the
        administrator who confirms knows better."""
        since = (self.departing_since or {}).get(str(stay_id))
        return datetime.fromisoformat(since) if since else self.created_at
