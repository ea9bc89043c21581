"""Customer records as the outside world sees them, with PII masked by role."""

from __future__ import annotations

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.customers.models import Customer, Gender
from laoke.customers.phones import mask_phone
from laoke.customers.schemas import ConsentPublic, CustomerPublic


def mask_text(value: str | None, keep: int = 1) -> str | None:
    if not value:
        return value
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:keep]}***@{domain}"
    return value[:keep] + "***"


def customer_public(customer: Customer, actor: Actor) -> CustomerPublic:
    full = actor.can(Permission.REVEAL_PII)
    phones = [p.e164 for p in customer.phones]
    return CustomerPublic(
        id=customer.id,
        name=customer.name,
        nickname=customer.nickname,
        phones=phones if full else [mask_phone(p) for p in phones],
        phones_masked=not full,
        wechat_id=customer.wechat_id if full else mask_text(customer.wechat_id, 2),
        email=customer.email if full else mask_text(customer.email),
        address=customer.address if full else mask_text(customer.address, 6),
        birthday=customer.birthday,
        gender=Gender(customer.gender),
        source_channel=customer.source_channel,
        tags=customer.tags,
        needs=customer.needs,
        purchasing_power=customer.purchasing_power,
        social_circle=customer.social_circle,
        owner_id=customer.owner_id,
        marketing_consent=ConsentPublic(
            granted=customer.marketing_consent,
            source=customer.consent_source,
            at=customer.consent_at,
        ),
        custom_attributes=customer.custom_attributes or {},
        external_id=customer.external_id,
        erased=customer.erased_at is not None,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
    )
