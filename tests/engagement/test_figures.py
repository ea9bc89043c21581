"""Per-customer figures on hand-made order histories, RFM quintiles and value tiers."""

from __future__ import annotations

from decimal import Decimal

from laoke.db import Database
from laoke.engagement.recompute import recompute_org
from laoke.orders.models import OrderStatus
from tests.conftest import Cast
from tests.engagement.figures_history import (
    NOW,
    contact,
    customer,
    days_ago,
    figures_of,
    order,
)


def test_figures_count_only_paid_orders(database: Database, cast: Cast) -> None:
    with database.unit_of_work() as s:
        mei = customer(s, cast.acme.id, "美")
        order(s, mei, "100.10", days_ago(100))
        order(s, mei, "200.20", days_ago(70))
        order(s, mei, "999.00", days_ago(60), OrderStatus.REFUNDED)
        order(s, mei, "50.00", days_ago(50), OrderStatus.CANCELLED)
        order(s, mei, "0.70", days_ago(40))
        contact(s, mei, days_ago(3))
        contact(s, mei, days_ago(1))
        s.commit()
        mei_id = mei.id
    recompute_org(database, cast.acme.id, NOW)
    with database.unit_of_work() as s:
        from laoke.customers.models import Customer

        row = figures_of(s, s.get(Customer, mei_id))
        assert row.orders_count == 3
        assert row.total_spent == Decimal("301.00")
        assert row.average_order_value == Decimal("100.33")
        assert row.first_purchase_at == days_ago(100)
        assert row.last_purchase_at == days_ago(40)
        assert row.repurchase_interval_days == 30.0
        assert row.next_expected_purchase_at == days_ago(10)
        assert row.contact_count == 2
        assert row.last_contact_at == days_ago(1)
