"""Two-step login with an authenticator app (TOTP, RFC 6238) and single-use recovery codes.

Required for the roles in ``MFA_REQUIRED_ROLES`` (officers, supervision teams and admins by
default), optional for operators. A code is accepted one 30-second step either side of the
server's clock (phones drift), and never twice: the step of the last accepted code is stored,
and only a later step is accepted after it (RFC 6238 section 5.2).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

import pyotp
import segno
from flask import current_app
from markupsafe import Markup
from sqlalchemy import delete, select, update

from ..database import utcnow
from ..extensions import db
from .models import MfaRecoveryCode, MfaTotp, User

STEP_SECONDS = 30
ALLOWED_DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I
_ISSUER = "SERASI Web"


def mfa_required(user: User) -> bool:
    return user.role in current_app.config["MFA_REQUIRED_ROLES"]


def enabled_totp(user: User) -> MfaTotp | None:
    return db.session.execute(select(MfaTotp).where(MfaTotp.user_id == user.id, MfaTotp.enabled_at.is_not(None))).scalar_one_or_none()


def has_mfa(user: User) -> bool:
    return enabled_totp(user) is not None


def pending_enrolment(user: User) -> MfaTotp:
    """The secret being enrolled (made on first call; the caller commits)."""
    row = db.session.get(MfaTotp, user.id)
    if row is None:
        row = MfaTotp(user_id=user.id, secret=pyotp.random_base32(32))
        db.session.add(row)
        db.session.flush()
    return row


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=_ISSUER)


def qr_svg(uri: str) -> Markup:
    return Markup(segno.make_qr(uri, error="m").svg_inline(scale=4, border=2, omitsize=False))


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def _clean_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").upper()


def check_totp(row: MfaTotp, code: str, now: float | None = None) -> bool:
    """True (and the step remembered) when ``code`` is the code of a step within the allowed
    drift that is later than the last accepted one. The caller commits."""
    code = _clean_code(code)
    if not re.fullmatch(r"\d{6}", code):
        return False
    totp = pyotp.TOTP(row.secret)
    current = int((time.time() if now is None else now) // STEP_SECONDS)
    for step in range(current - ALLOWED_DRIFT_STEPS, current + ALLOWED_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            if row.last_step is not None and step <= row.last_step:
                return False  # replayed, or older than a code already used
            # Only one request may spend a step: the update names the step it replaces.
            spent = db.session.execute(
                update(MfaTotp).where(MfaTotp.user_id == row.user_id,
                                      (MfaTotp.last_step.is_(None) if row.last_step is None else MfaTotp.last_step == row.last_step))
                .values(last_step=step)
            ).rowcount
            if spent != 1:
                return False
            db.session.refresh(row)
            return True
    return False


def _hash_recovery_code(code: str) -> str:
    return hashlib.sha256(("recovery:" + _clean_code(code)).encode()).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Replace the account's recovery codes with ten new ones, returned to be shown once. The
    caller commits."""
    db.session.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(MfaRecoveryCode(user_id=user.id, code_hash=_hash_recovery_code(raw)))
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    """Spend one unused recovery code of ``user``; the caller commits."""
    cleaned = _clean_code(code)
    if len(cleaned) != 10:
        return False
    spent = db.session.execute(
        update(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user.id, MfaRecoveryCode.code_hash == _hash_recovery_code(cleaned),
                                      MfaRecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    ).rowcount
    return spent == 1


def unused_recovery_codes(user: User) -> int:
    from sqlalchemy import func

    return db.session.execute(select(func.count()).select_from(MfaRecoveryCode)
                              .where(MfaRecoveryCode.user_id == user.id, MfaRecoveryCode.used_at.is_(None))).scalar_one()


def check_second_step(user: User, code: str) -> str | None:
    """"totp" or "recovery" when ``code`` passes as either; None otherwise. The caller commits."""
    row = enabled_totp(user)
    if row is None:
        return None
    if check_totp(row, code):
        return "totp"
    if use_recovery_code(user, code):
        return "recovery"
    return None


def remove_mfa(user: User) -> None:
    """Forget the account's authenticator and recovery codes (a new device, or an admin's reset).
    The caller ends sessions as needed and commits."""
    db.session.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user.id))
    db.session.execute(delete(MfaTotp).where(MfaTotp.user_id == user.id))
