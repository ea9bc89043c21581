"""Secrets at rest: channel passwords and webhook signing keys, sealed with Fernet.

The key is derived from LAOKE_SECRET_KEY with HKDF, so the database alone reveals
nothing. Changing LAOKE_SECRET_KEY makes sealed secrets unreadable: re-enter them
(the worker reports such a channel as misconfigured rather than sending blind)."""

from __future__ import annotations

import base64
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretsUnreadable(RuntimeError):
    """The sealed value was made with another LAOKE_SECRET_KEY, or was altered."""


@lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"laoke", info=b"laoke channel secrets v1"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret_key: str, values: dict[str, str]) -> str:
    return _fernet(secret_key).encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def unseal(secret_key: str, sealed: str | None) -> dict[str, str]:
    if not sealed:
        return {}
    try:
        return json.loads(_fernet(secret_key).decrypt(sealed.encode()))
    except (InvalidToken, ValueError) as exc:
        raise SecretsUnreadable("sealed secrets cannot be read with this LAOKE_SECRET_KEY") from exc
