"""The push API's own table: the tokens systems authenticate with (its migration branch
``push_api``, in ``migrations/``)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from serasi_web.database import UTCDateTime, utcnow
from serasi_web.extensions import db


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
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # at most a minute off: see push_api.auth
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    scope: Mapped[str] = mapped_column(String(8), default="write", server_default="write")  # "read" or "write"

    lodging = relationship("Lodging")
