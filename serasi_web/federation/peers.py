"""Peers on the receiving instance: create (token shown once, stored hashed), rotate, revoke,
and the bearer-token check of the federation API."""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from ..accounts.models import AccountKind, Role, User
from ..audit.services import record
from ..database import utcnow
from ..extensions import db
from ..passwords import hash_password
from .models import FederationPeer

# Distinct from a lodging's push-API token (``srs_``): the sending instance tells the two
# protocols apart by it (plugins/forwarders/federation.py).
TOKEN_PREFIX = "srf_"
LAST_USE_RESOLUTION_SECONDS = 60


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def same_name(name: str) -> str:
    """A peer's name as names are compared: trimmed, case ignored (as the offices CSV reads it)."""
    return name.strip().casefold()


def peer_named(name: str, other_than: FederationPeer | None = None) -> FederationPeer | None:
    """The peer, other than ``other_than``, already called ``name`` (trimmed, case ignored), or
    None. Compared here rather than in SQL: SQLite's lower() folds ASCII only, and the peers are
    one per sending instance (tens), read in one query."""
    wanted = same_name(name)
    for peer in db.session.scalars(select(FederationPeer).order_by(FederationPeer.id)):
        if peer is not other_than and same_name(peer.name) == wanted:
            return peer
    return None


def create_peer(name: str, office_name: str, admin) -> tuple[FederationPeer, str]:
    """Register a sending instance; returns the peer and its token (never stored or shown again).
    The caller checks that the name is free (``peer_named``)."""
    account = User(email=f"peer-{secrets.token_hex(8)}@federation.invalid", password_hash=hash_password(secrets.token_urlsafe(32)),
                   full_name=name[:120], role=Role.OPERATOR, account_kind=AccountKind.COMPANY, enabled=False)
    db.session.add(account)
    db.session.flush()
    secret = _new_secret()
    peer = FederationPeer(name=name, office_name=office_name, token_prefix=secret[:10], token_hash=hash_token(secret),
                          account_id=account.id, created_by_id=getattr(admin, "id", None), created_at=utcnow())
    db.session.add(peer)
    db.session.flush()
    record("federation.peer_created", peer, admin, changes={"name": name, "office": office_name})
    db.session.commit()
    return peer, secret


def rename_peer(peer: FederationPeer, name: str, office_name: str, admin) -> bool:
    """Give the peer a new name and office name (the caller checked the name is free with
    ``peer_named``); its placeholder account takes the name too. False when nothing changed."""
    if (peer.name, peer.office_name) == (name, office_name):
        return False
    record("federation.peer_renamed", peer, admin,
           changes={"name": [peer.name, name], "office": [peer.office_name, office_name]})
    peer.name, peer.office_name = name, office_name
    account = db.session.get(User, peer.account_id)
    if account is not None:
        account.full_name = name[:120]
    db.session.commit()
    return True


def rotate_token(peer: FederationPeer, admin) -> str:
    """A new token for ``peer``; the old one stops working at once. A revoked peer comes back."""
    secret = _new_secret()
    peer.token_prefix, peer.token_hash, peer.rotated_at, peer.revoked_at = secret[:10], hash_token(secret), utcnow(), None
    record("federation.peer_token_rotated", peer, admin, changes={"prefix": peer.token_prefix})
    db.session.commit()
    return secret


def revoke(peer: FederationPeer, admin) -> bool:
    """Lock the peer out (its requests answer 401); its mirrored lodgings and stays stay. False
    when it was revoked already."""
    if peer.revoked_at is not None:
        return False
    peer.revoked_at = utcnow()
    record("federation.peer_revoked", peer, admin)
    db.session.commit()
    return True


def peer_for_token(token: str) -> FederationPeer | None:
    """The active peer holding ``token``, or None (unknown, rotated away or revoked)."""
    peer = db.session.execute(select(FederationPeer).where(FederationPeer.token_hash == hash_token(token))).scalar_one_or_none()
    if peer is None or peer.revoked_at is not None:
        return None
    now = utcnow()
    if peer.last_used_at is None or (now - peer.last_used_at).total_seconds() >= LAST_USE_RESOLUTION_SECONDS:
        peer.last_used_at = now
        db.session.commit()
    return peer
