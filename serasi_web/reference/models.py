"""Editable code tables (they drift: immigration adds visa indexes every year)."""
from __future__ import annotations

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class VisaIndex(db.Model):
    """A visa index such as C1 or E33G, with the stay permit it usually comes with."""

    __tablename__ = "visa_index"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    suggested_permit: Mapped[str] = mapped_column(String(20), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
