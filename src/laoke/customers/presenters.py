"""Customer records as the outside world sees them, with PII masked by role."""

from __future__ import annotations

from typing import Any

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.customers.models import Customer, Gender
from laoke.customers.phones import mask_phone
from laoke.customers.schemas import ConsentPublic, CustomerPublic, RfmPublic
from laoke.customers.stages import LifecycleStage, RelationshipStage
from laoke.engagement.models import CustomerFigures


def mask_text(value: str | None, keep: int = 1) -> str | None:
    if not value:
        return value
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:keep]}***@{domain}"
    return value[:keep] + "***"


def _figures(row: CustomerFigures | None) -> dict[str, Any]:
    if row is None:
        return {}
    scores = (row.recency_score, row.frequency_score, row.monetary_score)
    return {
        "orders_count": row.orders_count,
        "total_spent": row.total_spent,
        "average_order_value": row.average_order_value,
        "first_purchase_at": row.first_purchase_at,
        "last_purchase_at": row.last_purchase_at,
        "repurchase_interval_days": row.repurchase_interval_days,
        "next_expected_purchase_at": row.next_expected_purchase_at,
        "contact_count": row.contact_count,
        "last_contact_at": row.last_contact_at,
        "rfm": RfmPublic(r=scores[0], f=scores[1], m=scores[2]) if None not in scores else None,
        "value_tier": row.value_tier,
    }


def customer_public(
    customer: Customer, actor: Actor, figures: CustomerFigures | None = None
) -> CustomerPublic:
    """`figures`: the customer's row (see engagement.figures.figures_by_customer)."""
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
        lifecycle_stage=LifecycleStage(customer.lifecycle_stage),
        relationship_stage=RelationshipStage(customer.relationship_stage),
        **_figures(figures),
    )
