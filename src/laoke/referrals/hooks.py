"""What the referral domain plugs into others: conversion from `order.created` and the
erasure hook that scrubs a customer's referral data."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from laoke.db import utcnow

_installed = False


def scrub_referrals(session: Session, org_id: int, customer_id: int) -> None:
    """Erasure: leads about the customer lose the friend's details; codes and links stop."""
    from laoke.referrals.models import InviteCode, PortalToken, ReferralLead

    now = utcnow()
    session.execute(
        update(ReferralLead)
        .where(ReferralLead.org_id == org_id, ReferralLead.referee_customer_id == customer_id)
        .values(
            referee_name="*",
            referee_phone=None,
            referee_email=None,
            attribution_key=None,
            notes=None,
            updated_at=now,
        )
    )
    for model in (InviteCode, PortalToken):
        session.execute(
            update(model)
            .where(
                model.org_id == org_id,
                model.customer_id == customer_id,
                model.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from laoke.customers.erasure import ERASURE_HOOKS
    from laoke.events.bus import subscribe
    from laoke.referrals.leads import on_order_created

    subscribe("order.created", on_order_created)
    ERASURE_HOOKS.append(scrub_referrals)
