"""Password hashing: argon2id at OWASP's recommended minimum (19 MiB, t=2, p=1)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from laoke.errors import N_, Invalid

HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MIN_LENGTH = 8
# Verified against when the email is unknown, so both paths cost the same time.
_UNKNOWN_USER_HASH = HASHER.hash("laoke-timing-equaliser")


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise Invalid(
            N_("Passwords need at least %(n)s characters."), field="password", n=MIN_LENGTH
        )


def hash_password(password: str) -> str:
    check_strength(password)
    return HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return HASHER.verify(password_hash or _UNKNOWN_USER_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return HASHER.check_needs_rehash(password_hash)
