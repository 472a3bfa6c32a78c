"""Receipt numbers (our STTPOA) and the signed tokens of the public verification page."""
from __future__ import annotations

import secrets

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

# No 0/O, 1/I/L or U/V: the number is read aloud over the phone and typed from paper.
RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
RECEIPT_GROUPS = 3  # STT-XXXX-XXXX-XXXX: 29^12 ≈ 3.5e17 numbers, far beyond guessing


def new_receipt_number() -> str:
    groups = ("".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(4)) for _ in range(RECEIPT_GROUPS))
    return "STT-" + "-".join(groups)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="serasi.receipt.verify")


def verification_token(receipt_number: str) -> str:
    return _serializer().dumps(receipt_number)


def receipt_number_from_token(token: str) -> str | None:
    """The receipt number a token was signed for, or None when the token is forged or damaged."""
    if not token or len(token) > 200:
        return None
    try:
        value = _serializer().loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None
