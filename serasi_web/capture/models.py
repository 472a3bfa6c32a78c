"""Photos kept while a report is a draft (only when CAPTURE_KEEP_PHOTOS is on)."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database import UTCDateTime, utcnow
from ..extensions import db


class CapturePhoto(db.Model):
    """A re-encoded copy of an uploaded photo (no EXIF, no GPS), deleted once the report is sent."""

    __tablename__ = "capture_photo"
    __table_args__ = (Index("ix_capture_photo_lodging_id_form_token", "lodging_id", "form_token"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lodging_id: Mapped[int] = mapped_column(ForeignKey("lodging.id", ondelete="CASCADE"))
    form_token: Mapped[str] = mapped_column(String(43))
    stay_id: Mapped[Optional[int]] = mapped_column(ForeignKey("stay.id", ondelete="CASCADE"), index=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
