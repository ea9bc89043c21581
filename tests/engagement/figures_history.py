"""Hand-made order histories for the figures and lifecycle tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.customers.models import Customer
from laoke.engagement.models import Contact, ContactChannel, CustomerFigures
from laoke.orders.models import Order, OrderItem, OrderStatus

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def days_ago(days: float, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


def customer(session: Session, org_id: int, name: str, owner_id: int | None = None) -> Customer:
    row = Customer(org_id=org_id, name=name, owner_id=owner_id)
    session.add(row)
    session.flush()
    return row


def order(
    session: Session,
    who: Customer,
    amount: str,
    at: datetime,
    status: OrderStatus = OrderStatus.PAID,
    lasts_days: list[int | None] | None = None,
) -> Order:
    row = Order(
        org_id=who.org_id,
        customer_id=who.id,
        ordered_at=at,
        amount=Decimal(amount),
        status=status,
    )
    for lasts in lasts_days or []:
        row.items.append(
            OrderItem(
                org_id=who.org_id,
                product_name="面霜",
                amount=Decimal(amount),
                lasts_days=lasts,
            )
        )
    session.add(row)
    session.flush()
    return row


def contact(session: Session, who: Customer, at: datetime) -> Contact:
    row = Contact(
        org_id=who.org_id, customer_id=who.id, channel=ContactChannel.PHONE, occurred_at=at
    )
    session.add(row)
    session.flush()
    return row


def figures_of(session: Session, who: Customer) -> CustomerFigures:
    session.expire_all()
    row = session.scalar(
        select(CustomerFigures).where(
            CustomerFigures.org_id == who.org_id, CustomerFigures.customer_id == who.id
        )
    )
    assert row is not None
    return row
