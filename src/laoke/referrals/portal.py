"""The referrer portal's magic links and what the portal shows.

A link `/me/{token}` carries 32 random bytes; only their SHA-256 is stored. Staff create
one for a customer (shown once, to send or show as a QR) and can revoke every link of the
customer at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from laoke.accounts import tokens
from laoke.accounts.actor import Actor
from laoke.customers.models import Customer
from laoke.customers.service import get_customer_for
from laoke.db import utcnow
from laoke.errors import N_, Conflict
from laoke.referrals import codes, programs
from laoke.referrals.feedback import mask_name
from laoke.referrals.models import (
    Attribution,
    InviteCode,
    LeadStatusChange,
    PortalToken,
    ReferralLead,
    ReferralProgram,
)

TOKEN_BYTES = 32


def create_link(session: Session, actor: Actor, customer_id: int) -> str:
    """A new portal token for the customer (returned once; stored hashed)."""
    customer = get_customer_for(session, actor, customer_id, edit=True)
    if not customer.is_active:
        raise Conflict(N_("This customer is no longer active."), code="customer_inactive")
    secret = tokens.new_secret(TOKEN_BYTES)
    session.add(
        PortalToken(
            org_id=customer.org_id,
            customer_id=customer.id,
            token_hash=tokens.digest(secret),
            created_by_id=actor.user_id,
        )
    )
    session.flush()
    return secret


def revoke_links(session: Session, actor: Actor, customer_id: int) -> int:
    customer = get_customer_for(session, actor, customer_id, edit=True)
    result = session.execute(
        update(PortalToken)
        .where(
            PortalToken.org_id == customer.org_id,
            PortalToken.customer_id == customer.id,
            PortalToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def active_links(session: Session, customer: Customer) -> int:
    query = select(PortalToken.id).where(
        PortalToken.org_id == customer.org_id,
        PortalToken.customer_id == customer.id,
        PortalToken.revoked_at.is_(None),
    )
    return len(session.scalars(query).all())


def resolve(session: Session, secret: str) -> tuple[PortalToken, Customer] | None:
    if not secret or len(secret) > 100:
        return None
    row = session.scalar(select(PortalToken).where(PortalToken.token_hash == tokens.digest(secret)))
    if row is None or row.revoked_at is not None:
        return None
    customer = session.get(Customer, row.customer_id)
    if customer is None or not customer.is_active:
        return None
    return row, customer


@dataclass(frozen=True, slots=True)
class FriendView:
    masked_name: str
    status: str
    attribution: str
    created_at: object
    changes: list[tuple[object, str]]


@dataclass(frozen=True, slots=True)
class PortalView:
    customer: Customer
    code: InviteCode | None
    programs: list[ReferralProgram]
    friends: list[FriendView]
    # The customer's reward wallet (`laoke.rewards.wallet.Wallet`): points, coupons, cash
    # owed, titles and the ladder.
    wallet: Any = None


def view(session: Session, customer: Customer) -> PortalView:
    shareable = programs.shareable_programs(session, customer)
    code = codes.existing_customer_code(session, customer)
    if code is None and shareable:
        code = codes.customer_code(session, customer)
    leads = list(
        session.scalars(
            select(ReferralLead)
            .where(
                ReferralLead.org_id == customer.org_id,
                ReferralLead.referrer_customer_id == customer.id,
                ReferralLead.attribution != Attribution.SELF_REFERRAL,
            )
            .order_by(ReferralLead.id.desc())
            .limit(200)
        )
    )
    changes: dict[int, list[tuple[object, str]]] = {}
    if leads:
        rows = session.scalars(
            select(LeadStatusChange)
            .where(
                LeadStatusChange.org_id == customer.org_id,
                LeadStatusChange.lead_id.in_([lead.id for lead in leads]),
            )
            .order_by(LeadStatusChange.at, LeadStatusChange.id)
        )
        for row in rows:
            changes.setdefault(row.lead_id, []).append((row.at, str(row.to_status)))
    friends = [
        FriendView(
            mask_name(lead.referee_name),
            str(lead.status),
            str(lead.attribution),
            lead.created_at,
            changes.get(lead.id, []),
        )
        for lead in leads
    ]
    from laoke.rewards.wallet import wallet_of

    wallet = wallet_of(session, customer.org_id, customer.id)
    return PortalView(customer, code, shareable, friends, wallet)
