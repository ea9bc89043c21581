"""The device fingerprint: a long-lived random cookie on the public pages. Only its keyed
hash is stored, on the lead (the friend's browser) and per referrer (portal visits)."""

from __future__ import annotations

import re
import secrets

from fastapi import Request, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from laoke.accounts import tokens
from laoke.config import Settings
from laoke.db import utcnow
from laoke.fraud.models import CustomerDevice

COOKIE = "lk_dev"
MAX_AGE = 2 * 365 * 24 * 3600
_VALID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def device_id(request: Request) -> tuple[str, bool]:
    """The browser's device id and whether it is new (then `remember` must set it)."""
    value = request.cookies.get(COOKIE, "")
    if _VALID.match(value):
        return value, False
    return secrets.token_urlsafe(18), True


def remember(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def device_hash(settings: Settings, value: str) -> str:
    return tokens.sign(settings.secret_key, f"dev:{value}")


def record_customer_device(
    session: Session, org_id: int, customer_id: int, hashed: str, ip_hash: str | None
) -> None:
    now = utcnow()
    row = session.scalar(
        select(CustomerDevice).where(
            CustomerDevice.org_id == org_id,
            CustomerDevice.customer_id == customer_id,
            CustomerDevice.device_hash == hashed,
        )
    )
    if row is not None:
        row.last_seen = now
        row.ip_hash = ip_hash or row.ip_hash
        session.flush()
        return
    try:
        with session.begin_nested():
            session.add(
                CustomerDevice(
                    org_id=org_id,
                    customer_id=customer_id,
                    device_hash=hashed,
                    ip_hash=ip_hash,
                    first_seen=now,
                    last_seen=now,
                )
            )
    except IntegrityError:
        pass  # the same browser's other tab recorded it first
