"""Invite codes: short, unambiguous, unguessable; one per customer or staff member.

Codes are 10 characters from a 31-letter alphabet without 0/O, 1/I/l (31¹⁰ ≈ 8.2·10¹⁴),
drawn from `secrets`: a million codes collide with probability below 0.1 % (the unique
key retries the rare one), and with a million issued a random guess hits one about once
in 800 million tries — while the landing page is rate limited per address.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from laoke.customers.models import Customer
from laoke.db import utcnow
from laoke.errors import N_, Conflict
from laoke.referrals.models import InviteCode
from laoke.referrals.schemas import ReferralLink

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10
_SPACE = len(ALPHABET) ** CODE_LENGTH


def new_code() -> str:
    value = secrets.randbelow(_SPACE)
    chars = []
    for _ in range(CODE_LENGTH):
        value, digit = divmod(value, len(ALPHABET))
        chars.append(ALPHABET[digit])
    return "".join(chars)


def clean_code(raw: str) -> str | None:
    """The canonical form of a typed or scanned code, or None when it cannot be one."""
    text = raw.strip().upper().replace("-", "").replace(" ", "")
    if len(text) != CODE_LENGTH or any(ch not in ALPHABET for ch in text):
        return None
    return text


def _insert(session: Session, **values: object) -> InviteCode:
    for _ in range(5):
        row = InviteCode(code=new_code(), **values)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
            return row
        except IntegrityError:
            continue
    raise Conflict(N_("Could not create an invite code. Please try again."), code="code_collision")


def _holder_code(session: Session, org_id: int, **holder: int) -> InviteCode | None:
    ((column, value),) = holder.items()
    query = (
        select(InviteCode)
        .where(
            InviteCode.org_id == org_id,
            getattr(InviteCode, column) == value,
            InviteCode.revoked_at.is_(None),
        )
        .order_by(InviteCode.id)
        .limit(1)
    )
    return session.scalar(query)


def customer_code(session: Session, customer: Customer) -> InviteCode:
    """The customer's personal code, created on first use."""
    found = _holder_code(session, customer.org_id, customer_id=customer.id)
    return found or _insert(session, org_id=customer.org_id, customer_id=customer.id)


def existing_customer_code(session: Session, customer: Customer) -> InviteCode | None:
    return _holder_code(session, customer.org_id, customer_id=customer.id)


def staff_code(session: Session, org_id: int, user_id: int) -> InviteCode:
    """A staff member's code, for walk-ins and "scan to add" at the counter."""
    found = _holder_code(session, org_id, user_id=user_id)
    return found or _insert(session, org_id=org_id, user_id=user_id)


def resolve(session: Session, raw: str) -> InviteCode | None:
    """The live code behind `/r/{code}`, across tenants; None when unknown or revoked."""
    code = clean_code(raw)
    if code is None:
        return None
    row = session.scalar(select(InviteCode).where(InviteCode.code == code))
    if row is None or row.revoked_at is not None:
        return None
    return row


def revoke(session: Session, row: InviteCode) -> None:
    row.revoked_at = utcnow()
    session.flush()


def link_for(base_url: str, code: str) -> ReferralLink:
    base = base_url.rstrip("/")
    return ReferralLink(
        code=code,
        link=f"{base}/r/{code}",
        qr_svg_url=f"{base}/r/{code}/qr.svg",
        qr_png_url=f"{base}/r/{code}/qr.png",
        poster_url=f"{base}/r/{code}/poster.png",
    )
