"""Immigration offices (Kantor Imigrasi) and the region codes that make up their areas."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db

if TYPE_CHECKING:
    from ..accounts.models import User


class OfficeLevel(StrEnum):
    """Whose lodgings an office's officers see (on a regional or national instance only;
    docs/officer.md, "A national or regional console")."""

    OFFICE = "office"  # the lodgings routed to the office
    REGIONAL = "regional"  # a Kanwil: every lodging whose address is in its area (provinces)
    NATIONAL = "national"  # the Directorate General: every lodging


class ImmigrationOffice(db.Model):
    """An office; its name and class are data (ministries get renamed), never template text."""

    __tablename__ = "immigration_office"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # short stable key for CSV import/export
    name: Mapped[str] = mapped_column(String(160))
    office_class: Mapped[str] = mapped_column(String(80), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    # The lines printed above the office's name on receipts (ministry, directorate, regional
    # office): data too, as they change with each reorganisation.
    letterhead: Mapped[str] = mapped_column(String(300), default="", server_default="")
    # Officers must say why before searching, following a timeline or exporting (docs/privacy.md).
    access_purpose_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    level: Mapped[str] = mapped_column(String(12), default=OfficeLevel.OFFICE, server_default=OfficeLevel.OFFICE.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    areas: Mapped[list["OfficeArea"]] = relationship(
        back_populates="office", cascade="all, delete-orphan", order_by="OfficeArea.region_code"
    )
    officers: Mapped[list["User"]] = relationship(back_populates="office")


class OfficeArea(db.Model):
    """One region code (regency "51.03" or district "51.03.05") in an office's area.

    A code belongs to at most one office; routing picks the most specific code that matches.
    """

    __tablename__ = "office_area"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("immigration_office.id", ondelete="CASCADE"), index=True)
    region_code: Mapped[str] = mapped_column(String(13), unique=True)

    office: Mapped[ImmigrationOffice] = relationship(back_populates="areas")
