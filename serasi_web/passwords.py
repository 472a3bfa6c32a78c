"""Password hashing (argon2id) and the password policy."""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's argon2id minimum: 19 MiB memory, 2 iterations, 1 lane.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's (rehash on login)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


# A valid hash of a random password: checking it when the e-mail is unknown costs the same time
# as a real check, so response time does not reveal which addresses have accounts.
_DUMMY_HASH = _hasher.hash("not-a-real-password-only-for-timing")


def burn_verification_time(password: str) -> None:
    verify_password(_DUMMY_HASH, password)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    text = resources.files("serasi_web").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip().casefold() for line in text.splitlines() if line and not line.startswith("#"))


def is_common_password(password: str) -> bool:
    return password.casefold() in _common_passwords()


def _letters_and_digits(text: str) -> str:
    return "".join(character for character in (text or "").casefold() if character.isalnum())


def is_personal_password(password: str, email: str = "", full_name: str = "") -> bool:
    """True when the password is built from the account's own e-mail address or name (NIST SP
    800-63B: "context-specific words"), ignoring case, spaces and punctuation."""
    candidate = _letters_and_digits(password)
    if not candidate:
        return False
    local_part = (email or "").split("@")[0]
    for word in (email, local_part, full_name):
        cleaned = _letters_and_digits(word)
        if len(cleaned) >= 4 and (cleaned in candidate or candidate in cleaned):
            return True
    return False
