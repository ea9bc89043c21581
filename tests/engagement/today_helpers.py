"""Building blocks for the cadence, product-cycle and Today tests: customers with figures,
orders with items, contacts and tasks, written straight to the tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from laoke.customers.models import Customer, CustomerTag
from laoke.engagement.models import (
    CadenceRule,
    CadenceScope,
    Contact,
    ContactChannel,
    CustomerFigures,
    Task,
    TaskKind,
    TaskStatus,
)
from laoke.orders.models import Order, OrderItem, OrderStatus, Product

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 12:00 in Shanghai on Friday 4 December 2026.
NOW = datetime(2026, 12, 4, 4, 0, tzinfo=UTC)
TODAY = date(2026, 12, 4)


def local(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """A moment on a Shanghai calendar day."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def days_ago(days: int, hour: int = 12) -> datetime:
    return local(TODAY - timedelta(days=days), hour)


# Pages and the API read the real clock: their tests count days back from the real date.
CLOCK_TODAY = datetime.now(SHANGHAI).date()


def days_before_clock(days: int, hour: int = 12) -> datetime:
    return local(CLOCK_TODAY - timedelta(days=days), hour)


def customer(
    s: Session,
    org_id: int,
    owner_id: int | None,
    name: str,
    *,
    created_at: datetime | None = None,
    stage: str = "repeat",
    tags: tuple[str, ...] = (),
    birthday: date | None = None,
    last_contact_at: datetime | None = None,
    tier: str | None = None,
    total_spent: str = "0",
) -> int:
    row = Customer(
        org_id=org_id,
        name=name,
        owner_id=owner_id,
        lifecycle_stage=stage,
        birthday=birthday,
        custom_attributes={},
        created_at=created_at or days_ago(400),
    )
    s.add(row)
    s.flush()
    for tag in tags:
        s.add(CustomerTag(org_id=org_id, customer_id=row.id, tag=tag))
    if tier is not None or last_contact_at is not None or total_spent != "0":
        s.add(
            CustomerFigures(
                org_id=org_id,
                customer_id=row.id,
                last_contact_at=last_contact_at,
                value_tier=tier or "tail",
                total_spent=Decimal(total_spent),
            )
        )
    s.flush()
    return row.id


def rule(s: Session, org_id: int, scope: str, value: str, gap: int, active: bool = True) -> None:
    s.add(
        CadenceRule(
            org_id=org_id, scope=CadenceScope(scope), value=value, max_gap_days=gap, active=active
        )
    )
    s.flush()


def product(s: Session, org_id: int, name: str, cycle: int | None = 30) -> int:
    row = Product(org_id=org_id, name=name, usage_cycle_days=cycle)
    s.add(row)
    s.flush()
    return row.id


def order(
    s: Session,
    org_id: int,
    customer_id: int,
    ordered_at: datetime,
    items: list[tuple[int | None, str, int | None]],
    status: OrderStatus = OrderStatus.PAID,
) -> tuple[int, list[int]]:
    """An order with items given as (product_id, product_name, lasts_days)."""
    row = Order(
        org_id=org_id,
        customer_id=customer_id,
        ordered_at=ordered_at,
        amount=Decimal("100.00"),
        status=status,
    )
    row.items = [
        OrderItem(
            org_id=org_id,
            product_id=pid,
            product_name=name,
            amount=Decimal("100.00"),
            lasts_days=lasts,
        )
        for pid, name, lasts in items
    ]
    s.add(row)
    s.flush()
    return row.id, [item.id for item in row.items]


def task(
    s: Session,
    org_id: int,
    customer_id: int,
    assignee_id: int | None,
    *,
    kind: TaskKind = TaskKind.CALLBACK,
    due_on: date = TODAY,
    key: str | None = None,
    title: str = "回访",
    status: TaskStatus = TaskStatus.OPEN,
) -> int:
    row = Task(
        org_id=org_id,
        customer_id=customer_id,
        assignee_id=assignee_id,
        kind=kind,
        key=key or f"test:{customer_id}:{kind}:{due_on}:{title}",
        title=title,
        due_on=due_on,
        status=status,
    )
    s.add(row)
    s.flush()
    return row.id


def contact(
    s: Session,
    org_id: int,
    customer_id: int,
    staff_id: int | None,
    occurred_at: datetime,
    *,
    next_step: str | None = None,
    next_step_on: date | None = None,
) -> int:
    row = Contact(
        org_id=org_id,
        customer_id=customer_id,
        staff_id=staff_id,
        channel=ContactChannel.PHONE,
        occurred_at=occurred_at,
        next_step=next_step,
        next_step_on=next_step_on,
    )
    s.add(row)
    s.flush()
    return row.id
