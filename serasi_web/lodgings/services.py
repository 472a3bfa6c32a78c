"""Lodging registration and changes, and the tenant-scoped lookups every route uses."""
from __future__ import annotations

from flask import abort
from sqlalchemy import select

from ..accounts.models import User
from ..database import utcnow
from ..extensions import db
from ..offices.routing import route_lodging
from .models import Lodging, LodgingStatus

EDITABLE_FIELDS = (
    "name", "lodging_type", "street_address", "province_code", "regency_code", "district_code",
    "village_code", "postal_code", "nib", "room_count", "person_in_charge", "phone", "host_nik",
)
ADDRESS_FIELDS = ("street_address", "province_code", "regency_code", "district_code", "village_code")


def lodgings_of(owner: User) -> list[Lodging]:
    return list(db.session.execute(select(Lodging).where(Lodging.owner_id == owner.id).order_by(Lodging.name)).scalars())


def get_own_lodging_or_404(owner: User, lodging_id: int) -> Lodging:
    """The owner's lodging; another account's lodging answers 404 exactly like a missing one."""
    lodging = db.session.execute(
        select(Lodging).where(Lodging.id == lodging_id, Lodging.owner_id == owner.id)
    ).scalar_one_or_none()
    if lodging is None:
        abort(404)
    return lodging


def register_lodging(owner: User, values: dict) -> Lodging:
    """Create a lodging (status pending) and route it to the office covering its address."""
    lodging = Lodging(owner_id=owner.id, status=LodgingStatus.PENDING)
    _apply(lodging, values)
    route_lodging(lodging)
    db.session.add(lodging)
    db.session.commit()
    return lodging


def update_lodging(lodging: Lodging, values: dict) -> bool:
    """Save changes; a moved or rejected lodging goes back to pending. True when it must be re-verified.

    A suspended lodging stays suspended whatever is edited (a new address is routed to its
    office, which lifts the suspension or not): editing must not be a way round it."""
    address_changed = any(values.get(name) != getattr(lodging, name) for name in ADDRESS_FIELDS)
    values.setdefault("extra", lodging.extra)
    _apply(lodging, values)
    needs_review = address_changed or lodging.status == LodgingStatus.REJECTED
    if address_changed:
        route_lodging(lodging)
    if lodging.status == LodgingStatus.SUSPENDED:
        needs_review = False
    if needs_review and lodging.status != LodgingStatus.PENDING:
        lodging.status = LodgingStatus.PENDING
        lodging.decided_at = None
        lodging.decided_by_id = None
    db.session.commit()
    return needs_review


def _apply(lodging: Lodging, values: dict) -> None:
    for name in EDITABLE_FIELDS:
        setattr(lodging, name, values.get(name))
    lodging.extra = dict(values.get("extra") or {})
    lodging.nib = lodging.nib or None
    lodging.host_nik = lodging.host_nik or None  # kept only while the lodging is an individual host's home
    lodging.postal_code = lodging.postal_code or ""


def decide(lodging: Lodging, officer: User, verified: bool, reason: str | None = None) -> None:
    """An officer verifies or rejects (with a reason the operator sees) a lodging."""
    lodging.status = LodgingStatus.VERIFIED if verified else LodgingStatus.REJECTED
    lodging.rejection_reason = None if verified else reason
    lodging.decided_at = utcnow()
    lodging.decided_by_id = officer.id
    lodging.suspended_at = None
    lodging.suspension_reason = None
    db.session.commit()


def reopen(lodging: Lodging) -> None:
    """Put a rejected (or verified, or suspended) lodging back into the queue."""
    lodging.status = LodgingStatus.PENDING
    lodging.decided_at = None
    lodging.decided_by_id = None
    lodging.suspended_at = None
    lodging.suspension_reason = None
    db.session.commit()


class LodgingStateError(Exception):
    """The lodging is not in the state the change needs (say, suspending one not verified)."""


def suspend(lodging: Lodging, officer: User, reason: str) -> None:
    """Stop a verified lodging from obtaining receipts (the operator reads the reason; the
    existing receipts say so on /verify). Audited as ``lodging.suspended``."""
    from ..audit.services import record

    if lodging.status != LodgingStatus.VERIFIED:
        raise LodgingStateError("not_verified")
    lodging.status = LodgingStatus.SUSPENDED
    lodging.suspended_at = utcnow()
    lodging.suspension_reason = reason
    record("lodging.suspended", lodging, officer, lodging_id=lodging.id, changes={"reason": reason})
    db.session.commit()


def lift_suspension(lodging: Lodging, officer: User) -> None:
    """A suspended lodging is verified again. Audited as ``lodging.suspension_lifted``."""
    from ..audit.services import record

    if lodging.status != LodgingStatus.SUSPENDED:
        raise LodgingStateError("not_suspended")
    record("lodging.suspension_lifted", lodging, officer, lodging_id=lodging.id,
           changes={"reason": lodging.suspension_reason or ""})
    lodging.status = LodgingStatus.VERIFIED
    lodging.suspended_at = None
    lodging.suspension_reason = None
    db.session.commit()
