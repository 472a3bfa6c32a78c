"""What the console keeps per user: how far each officer has read the report inbox."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from ..database import UTCDateTime
from ..extensions import db


class InboxMark(db.Model):
    """The newest report event a console user has marked as seen; the inbox shows what came after."""

    __tablename__ = "inbox_mark"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    seen_until: Mapped[datetime] = mapped_column(UTCDateTime)
