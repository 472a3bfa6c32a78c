"""A search sent by POST and kept for a while, so its result pages have an address without terms."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database import UTCDateTime, utcnow
from ..extensions import db


class SavedSearch(db.Model):
    """The criteria of one search of one user; its random id is all the URL carries."""

    __tablename__ = "saved_search"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # the page it belongs to, e.g. "officer.stays"
    criteria: Mapped[dict] = mapped_column(JSON)  # the form's values as sent (text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
