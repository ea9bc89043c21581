"""Erasure on request (PIPL art. 47 / GDPR art. 17).

The person's data goes from every place it is stored; the row itself stays under a
random pseudonym so orders, ledgers and statistics that point at it remain whole.
Domains that keep personal data of their own (contact notes, lead phone numbers)
register a hook that clears it in the same transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from sqlalchemy import delete
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.audit.models import AuditAction
from laoke.audit.service import record
from laoke.customers.models import Customer, CustomerPhone, CustomerTag, Gender
from laoke.customers.service import get_customer_for
from laoke.db import utcnow

ErasureHook = Callable[[Session, int, int], None]
"""Called as hook(session, org_id, customer_id) inside the erasure transaction."""

ERASURE_HOOKS: list[ErasureHook] = []

ERASED_FIELDS = (
    "nickname",
    "wechat_id",
    "email",
    "address",
    "birthday",
    "source_channel",
    "needs",
    "purchasing_power",
    "social_circle",
    "consent_source",
    "external_id",
)
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_pseudonym() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(10))


def erase_customer(
    session: Session, actor: Actor, customer_id: int, *, reason: str = ""
) -> Customer:
    actor.require(Permission.ERASE_CUSTOMERS)
    customer = get_customer_for(session, actor, customer_id)
    if customer.erased_at is not None:
        return customer
    customer.pseudonym = new_pseudonym()
    customer.name = f"#{customer.pseudonym}"
    for name in ERASED_FIELDS:
        setattr(customer, name, None)
    customer.gender = Gender.UNKNOWN
    customer.custom_attributes = {}
    # Consent is withdrawn with the person; the time of erasure is kept as evidence.
    customer.marketing_consent = False
    customer.consent_at = utcnow()
    customer.erased_at = customer.updated_at = utcnow()
    session.execute(
        delete(CustomerPhone).where(
            CustomerPhone.org_id == actor.org_id, CustomerPhone.customer_id == customer.id
        )
    )
    session.execute(
        delete(CustomerTag).where(
            CustomerTag.org_id == actor.org_id, CustomerTag.customer_id == customer.id
        )
    )
    for hook in ERASURE_HOOKS:
        hook(session, actor.org_id, customer.id)
    record(
        session,
        actor,
        AuditAction.ERASED,
        target_type="customer",
        target_id=customer.id,
        details={"pseudonym": customer.pseudonym, "reason_given": bool(reason.strip())},
    )
    session.commit()
    session.expire(customer)
    return customer
