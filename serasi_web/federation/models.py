"""Federation between SERASI Web instances (docs/delivery.md, "Federation").

On the **receiving** instance: the peers (other instances allowed to send, each with its own
token), the lodgings they mirrored here and the stays they sent, keyed by the sender's own ids.
On the **sending** instance: the backfills an admin started ("send everything from date D").
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db


class FederationPeer(db.Model):
    """Another instance allowed to send its lodgings and stays here.

    Its token is shown once and stored hashed; rotating replaces the hash (the old token stops at
    once), revoking ends it. ``account_id`` is a disabled placeholder account that owns the peer's
    mirrored lodgings: ``lodging.owner_id`` must name someone, and nobody can log in as it, so no
    operator here can open or edit them.
    """

    __tablename__ = "federation_peer"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique, trimmed and case ignored: Admin › Federation refuses a name another peer has
    # (peers.peer_named), since the offices CSV names a peer by it. Deliberately no unique index:
    # a database from before may hold twins, and an index on lower(trim(name)) would stop its
    # upgrade, while a migration renaming twins would change, unasked, names that admins, CSV
    # files and the audit log (``federation:<name>``) already use. So the check is the
    # application's, and the CSV import still refuses a row naming twins it cannot tell apart
    # (offices/csv_io.py). Two admins adding the same name at the same instant could still make
    # twins; that only brings back the case the CSV already handles.
    name: Mapped[str] = mapped_column(String(120))
    office_name: Mapped[str] = mapped_column(String(160))  # the sending instance's office, as it calls itself
    token_prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    # On a regional or national instance, the office here that stands for this instance: the
    # lodgings it mirrored here are that office's, wherever their address is (offices/routing.py).
    # The key is on this side: on the office's side it would close a cycle office -> peer ->
    # placeholder account -> office that no table order could create or empty.
    office_id: Mapped[int | None] = mapped_column(ForeignKey("immigration_office.id", ondelete="SET NULL"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class FederatedLodging(db.Model):
    """A lodging of a peer mirrored here: the peer's own lodging id and office name."""

    __tablename__ = "federated_lodging"
    __table_args__ = (UniqueConstraint("peer_id", "origin_lodging_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("federation_peer.id", ondelete="RESTRICT"))
    origin_lodging_id: Mapped[int] = mapped_column(Integer)
    origin_office: Mapped[str] = mapped_column(String(160), default="")
    lodging_id: Mapped[int] = mapped_column(ForeignKey("lodging.id", ondelete="CASCADE"), unique=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    peer: Mapped[FederationPeer] = relationship()


class FederatedStay(db.Model):
    """A stay a peer sent: its id, receipt number and version there.

    The receipt number stays the sender's (printed on the guest's receipt); it is kept here, not
    in ``stay.receipt_number``, whose unique index belongs to this instance's own receipts.
    ``origin_version`` is the newest version applied: an older one arriving later changes nothing.
    """

    __tablename__ = "federated_stay"
    __table_args__ = (UniqueConstraint("peer_id", "origin_stay_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("federation_peer.id", ondelete="RESTRICT"))
    origin_stay_id: Mapped[int] = mapped_column(Integer)
    origin_receipt_number: Mapped[str | None] = mapped_column(String(20), index=True)
    origin_version: Mapped[int] = mapped_column(Integer)
    stay_id: Mapped[int] = mapped_column(ForeignKey("stay.id", ondelete="CASCADE"), unique=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    peer: Mapped[FederationPeer] = relationship()


class BackfillStatus:
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"


class FederationBackfill(db.Model):
    """"Send everything reported since ``since``": the stays are enqueued for the federation
    forwarder in id order, a chunk per transaction, with ``cursor_stay_id`` (the last stay
    enqueued) written in the same transaction: stopped halfway and started again, it continues
    after the cursor, so no stay is enqueued twice or skipped."""

    __tablename__ = "federation_backfill"

    id: Mapped[int] = mapped_column(primary_key=True)
    since: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default=BackfillStatus.RUNNING)
    cursor_stay_id: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    enqueued: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
