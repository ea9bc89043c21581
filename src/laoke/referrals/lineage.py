"""Referral lineage of a customer: who referred them, whom they referred (two levels deep)
and how they were acquired. "Share of new customers from referrals" is then one query:
customers that are the `referee_customer_id` of a converted lead, over all new customers."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.accounts.models import User
from laoke.customers.models import Customer
from laoke.referrals.models import LeadStatus, ReferralLead

MAX_CHILDREN = 50


@dataclass(slots=True)
class Node:
    customer_id: int | None
    name: str
    status: str
    children: list[Node] = field(default_factory=list)


@dataclass(slots=True)
class Lineage:
    acquisition: str  # "referral" or the customer's source channel, "" when unknown
    referred_by: Customer | None
    referred_by_staff: User | None
    referred: list[Node]


def converting_lead(session: Session, customer: Customer) -> ReferralLead | None:
    return session.scalar(
        select(ReferralLead)
        .where(
            ReferralLead.org_id == customer.org_id,
            ReferralLead.referee_customer_id == customer.id,
            ReferralLead.status == LeadStatus.CONVERTED,
        )
        .order_by(ReferralLead.converted_at)
        .limit(1)
    )


def _children(session: Session, org_id: int, customer_id: int) -> list[Node]:
    leads = session.scalars(
        select(ReferralLead)
        .where(ReferralLead.org_id == org_id, ReferralLead.referrer_customer_id == customer_id)
        .order_by(ReferralLead.id)
        .limit(MAX_CHILDREN)
    )
    return [Node(lead.referee_customer_id, lead.referee_name, str(lead.status)) for lead in leads]


def lineage(session: Session, customer: Customer) -> Lineage:
    lead = converting_lead(session, customer)
    referred_by = (
        session.get(Customer, lead.referrer_customer_id)
        if lead and lead.referrer_customer_id
        else None
    )
    staff = session.get(User, lead.referrer_user_id) if lead and lead.referrer_user_id else None
    nodes = _children(session, customer.org_id, customer.id)
    for node in nodes:
        if node.customer_id is not None:
            node.children = _children(session, customer.org_id, node.customer_id)
    acquisition = "referral" if lead else (customer.source_channel or "")
    return Lineage(acquisition, referred_by, staff, nodes)
