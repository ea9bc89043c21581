"""The demo salon gains a catalogue with usage cycles and two years of skewed orders."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from laoke.customers.models import Customer
from laoke.db import utcnow
from laoke.demo.seed import seed_demo
from laoke.events.models import DomainEvent
from laoke.orders.models import Order, OrderItem, Product


def _snapshot(database) -> tuple[list, list]:
    with database.unit_of_work(write=False) as s:
        products = s.execute(
            select(Product.name, Product.usage_cycle_days, Product.price).order_by(Product.id)
        ).all()
        # Customers counted from the tenant's first: ids are not reused after a delete.
        first = s.scalar(select(func.min(Customer.id))) or 0
        orders = s.execute(
            select(
                Order.order_number, Order.customer_id - first, Order.amount, Order.status
            ).order_by(Order.id)
        ).all()
        return [tuple(p) for p in products], [tuple(o) for o in orders]


@pytest.mark.xdist_group("demo")  # one worker seeds the shared demo
def test_the_demo_has_products_and_skewed_orders(demo_tenant) -> None:
    database = demo_tenant.database
    products, orders = _snapshot(database)
    assert len(products) == 10
    cycles = {name: cycle for name, cycle, _ in products}
    assert cycles["补水面霜"] == 45 and cycles["身体护理年卡"] == 365 and cycles["美甲"] is None
    assert 600 <= len(orders) <= 1300  # ~6,000 for the default 2,000 customers
    per_customer = Counter(customer for _, customer, _, _ in orders)
    assert max(per_customer.values()) >= 8  # regulars come back every cycle
    assert sum(1 for n in per_customer.values() if n <= 3) > len(per_customer) / 2
    statuses = Counter(status for *_, status in orders)
    assert statuses["refunded"] > 0 and statuses["cancelled"] > 0
    assert statuses["paid"] > 0.9 * len(orders)
    numbers = [number for number, *_ in orders if number]  # staff-entered ones have none
    assert len(set(numbers)) == len(numbers) > 0.9 * len(orders)
    with database.unit_of_work(write=False) as s:
        oldest = s.scalar(select(func.min(Order.ordered_at)))
        assert oldest >= utcnow() - timedelta(days=731)
        assert s.scalar(select(func.max(Order.ordered_at))) <= utcnow()
        item_sum = s.scalar(
            select(func.sum(OrderItem.amount)).where(
                OrderItem.order_id == select(func.min(Order.id)).scalar_subquery()
            )
        )
        first = s.scalar(select(Order.amount).order_by(Order.id).limit(1))
        assert item_sum == first
        # Two years of history go in in bulk, without an event per order; only the orders
        # later demo steps enter through the service (referred friends' first visits) emit.
        events = s.scalar(
            select(func.count()).select_from(DomainEvent).where(DomainEvent.name == "order.created")
        )
        assert 0 < events < len(orders) / 10


def test_the_demo_orders_are_the_same_for_the_same_seed(database) -> None:
    seed_demo(database, customers=60, seed=5)
    first = _snapshot(database)
    from tests.conftest import _empty_tables

    _empty_tables(database)
    seed_demo(database, customers=60, seed=5)
    products, orders = _snapshot(database)
    assert products == first[0]
    assert [((n or "")[10:], c, a, st) for n, c, a, st in orders] == [
        ((n or "")[10:], c, a, st) for n, c, a, st in first[1]
    ]
