"""The plugin's own table: the tents of a glamping site (created by its own migration branch)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from serasi_web.database import UTCDateTime, utcnow
from serasi_web.extensions import db


class Tent(db.Model):
    __tablename__ = "example_tent"

    id: Mapped[int] = mapped_column(primary_key=True)
    lodging_id: Mapped[int] = mapped_column(ForeignKey("lodging.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    beds: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
