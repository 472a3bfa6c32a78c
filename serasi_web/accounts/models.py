"""Accounts: users with a role, their server-side sessions and failed login attempts."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Optional

from flask_login import UserMixin
from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db

if TYPE_CHECKING:
    from ..offices.models import ImmigrationOffice


class Role(StrEnum):
    OPERATOR = "operator"  # reports guests of their own lodgings
    OFFICER = "officer"  # works for exactly one immigration office
    SUPERVISOR = "supervisor"  # read-only supervision team (Timpora, police), scoped to chosen regions
    ADMIN = "admin"  # runs this instance; sees guest data only when also given an office (office_id)
    DPO = "dpo"  # data-protection officer of one office: the access log and data-subject requests, no console


class AccountKind(StrEnum):
    """The reporter kinds of the official system."""

    LODGING_BUSINESS = "lodging_business"
    COMPANY = "company"
    INDIVIDUAL = "individual"


class User(UserMixin, db.Model):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("role IN ('operator', 'officer', 'supervisor', 'admin', 'dpo')", name="role_known"),
        CheckConstraint("role NOT IN ('officer', 'dpo') OR office_id IS NOT NULL", name="officer_has_office"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16), default=Role.OPERATOR)
    account_kind: Mapped[Optional[str]] = mapped_column(String(24))
    office_id: Mapped[Optional[int]] = mapped_column(ForeignKey("immigration_office.id", ondelete="RESTRICT"), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[Optional[str]] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # Empty until the owner of the address opens the link mailed at sign-up; accounts made by an
    # admin, the command line or the demo count as verified (``create_user``).
    email_verified_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # An admin chose the password: the account holder picks their own at the first login.
    password_change_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    office: Mapped[Optional["ImmigrationOffice"]] = relationship(back_populates="officers")
    sessions: Mapped[list["UserSession"]] = relationship(back_populates="user", cascade="all, delete-orphan")
    supervision_regions: Mapped[list["SupervisionRegion"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="SupervisionRegion.region_code")

    @property
    def is_active(self) -> bool:  # Flask-Login: a disabled account cannot log in or stay logged in
        return self.enabled

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_officer(self) -> bool:
        return self.role == Role.OFFICER

    @property
    def is_operator(self) -> bool:
        return self.role == Role.OPERATOR

    @property
    def is_supervisor(self) -> bool:
        return self.role == Role.SUPERVISOR

    @property
    def is_dpo(self) -> bool:
        return self.role == Role.DPO

    @property
    def sees_guest_data(self) -> bool:
        """May open the office console: officers, supervision teams, and an admin who was also
        given an office (running the instance alone shows no guest, UU PDP's need to know)."""
        return self.role in (Role.OFFICER, Role.SUPERVISOR) or (self.role == Role.ADMIN and self.office_id is not None)


class SupervisionRegion(db.Model):
    """One regency ("51.03") or district ("51.03.05") a supervision-team account may look at.

    A supervisor sees the lodgings (and their guests) whose address lies in any of its regions.
    """

    __tablename__ = "supervision_region"
    __table_args__ = (UniqueConstraint("user_id", "region_code", name="uq_supervision_region_user_id_region_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    region_code: Mapped[str] = mapped_column(String(13))

    user: Mapped[User] = relationship(back_populates="supervision_regions")


class UserSession(db.Model):
    """A login. The browser's cookie holds the random key; logging out or disabling deletes the row,
    so a copied cookie stops working at once."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_agent: Mapped[Optional[str]] = mapped_column(String(200))

    user: Mapped[User] = relationship(back_populates="sessions")


class LoginFailure(db.Model):
    """One failed login. Kept in the database so throttling holds across gunicorn workers."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_email_created_at", "email", "created_at"),
        Index("ix_login_failure_remote_addr_created_at", "remote_addr", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    remote_addr: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MfaTotp(db.Model):
    """An account's authenticator app (TOTP, RFC 6238). ``enabled_at`` is empty while enrolment
    waits for the first code; ``last_step`` is the 30-second step of the last code accepted, so a
    code is never accepted twice (not even inside its own window)."""

    __tablename__ = "mfa_totp"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))
    enabled_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    last_step: Mapped[Optional[int]] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MfaRecoveryCode(db.Model):
    """One of an account's ten single-use recovery codes (a SHA-256 of the code: the codes are
    random and long, so a slow hash adds nothing)."""

    __tablename__ = "mfa_recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
