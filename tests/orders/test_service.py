"""Product and order rules, through the service."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from laoke.accounts.service import actor_for
from laoke.db import utcnow
from laoke.errors import Conflict, Invalid, NotFound, PermissionDenied
from laoke.events import bus
from laoke.events.bus import subscribe
from laoke.events.models import DomainEvent
from laoke.orders import service
from laoke.orders.models import OrderStatus
from laoke.orders.schemas import OrderCreate, ProductCreate, ProductUpdate


def order(customer_id: int, **fields) -> OrderCreate:
    return OrderCreate.model_validate({"customer_id": customer_id, **fields})


def test_items_take_price_and_cycle_from_the_product(cast, shop, session) -> None:
    created = service.create_order(
        session,
        actor_for(cast.bob),
        order(
            shop.bobs,
            items=[
                {"product_id": shop.cream, "quantity": 3},
                {"product_name": "面部护理", "unit_price": "99.50", "quantity": 2},
                {"product_name": "手工皂", "amount": "12.30"},
            ],
        ),
    )
    assert created.amount == Decimal("805.30")  # 3×198 + 2×99.50 + 12.30
    cream, facial, soap = created.items
    assert (cream.unit_price, cream.amount, cream.lasts_days) == (
        Decimal("198.00"),
        Decimal("594.00"),
        135,
    )
    assert (facial.product_id, facial.amount, facial.lasts_days) == (
        shop.facial,
        Decimal("199.00"),
        None,
    )
    assert (soap.product_id, soap.product_name, soap.quantity) == (None, "手工皂", 1)
    assert created.status == OrderStatus.PAID and created.created_by_id == cast.bob.id


def test_an_order_without_items_needs_a_positive_amount(cast, shop, session) -> None:
    bob = actor_for(cast.bob)
    with pytest.raises(Invalid) as missing:
        service.create_order(session, bob, order(shop.bobs))
    assert missing.value.field == "amount"
    for bad in ("0", "0.00"):
        with pytest.raises(Invalid):
            service.create_order(session, bob, order(shop.bobs, amount=bad))
    assert service.create_order(session, bob, order(shop.bobs, amount="88.8")).amount == Decimal(
        "88.80"
    )


def test_amounts_beyond_ten_million_or_with_three_decimals_are_refused(cast, shop, session) -> None:
    bob = actor_for(cast.bob)
    with pytest.raises(Invalid):
        service.create_order(session, bob, order(shop.bobs, amount="10000000.01"))
    with pytest.raises(Invalid):
        service.create_order(
            session,
            bob,
            order(
                shop.bobs,
                items=[
                    {"product_id": shop.cream, "quantity": 10000},
                    {"product_name": "x", "amount": "9999999"},
                ],
            ),
        )
    assert service.clean_money(Decimal("10000000"), "amount") == Decimal("10000000.00")
    for value in (Decimal("NaN"), Decimal("Infinity"), Decimal("-1"), Decimal("1.005")):
        with pytest.raises(Invalid):
            service.clean_money(value, "amount")


def test_the_order_date_may_not_be_more_than_a_day_ahead(cast, shop, session) -> None:
    bob = actor_for(cast.bob)
    with pytest.raises(Invalid) as ahead:
        service.create_order(
            session, bob, order(shop.bobs, amount="1", ordered_at=utcnow() + timedelta(days=2))
        )
    assert ahead.value.field == "ordered_at"
    soon = service.create_order(
        session, bob, order(shop.bobs, amount="1", ordered_at=utcnow() + timedelta(hours=20))
    )
    assert soon.ordered_at > utcnow()
    # Without a zone the time is the shop's (Asia/Shanghai): 10:00 there is 02:00 UTC.
    local = service.create_order(
        session, bob, order(shop.bobs, amount="1", ordered_at="2025-03-05T10:00:00")
    )
    assert local.ordered_at == datetime(2025, 3, 5, 2, 0, tzinfo=UTC)


def test_order_numbers_are_unique_per_tenant(cast, shop, session) -> None:
    service.create_order(
        session, actor_for(cast.bob), order(shop.bobs, amount="5", order_number="A-1")
    )
    with pytest.raises(Conflict) as taken:
        service.create_order(
            session, actor_for(cast.carol), order(shop.carols, amount="5", order_number="A-1")
        )
    assert taken.value.code == "duplicate_order_number"
    other = service.create_order(
        session, actor_for(cast.oscar), order(shop.globex, amount="5", order_number="A-1")
    )
    assert other.order_number == "A-1"


def test_orders_are_entered_only_for_customers_one_may_edit(cast, shop, session) -> None:
    with pytest.raises(NotFound):
        service.create_order(session, actor_for(cast.bob), order(shop.carols, amount="5"))
    with pytest.raises(NotFound):
        service.create_order(session, actor_for(cast.alice), order(shop.globex, amount="5"))
    with pytest.raises(PermissionDenied):
        service.create_order(session, actor_for(cast.victor), order(shop.bobs, amount="5"))
    other = service.create_product(session, actor_for(cast.oscar), ProductCreate(name="课"))
    with pytest.raises(Invalid):  # globex's product in an acme order
        service.create_order(
            session, actor_for(cast.alice), order(shop.bobs, items=[{"product_id": other.id}])
        )


def test_refund_and_cancel_move_a_paid_order_once_and_emit_events(
    cast, shop, session, monkeypatch
) -> None:
    monkeypatch.setattr(bus, "_HANDLERS", defaultdict(list))
    heard: list[tuple[str, dict]] = []

    def listen(_session, event: DomainEvent) -> None:
        heard.append((event.name, dict(event.payload)))

    for name in ("order.created", "order.refunded", "order.cancelled"):
        subscribe(name, listen)
    bob = actor_for(cast.bob)
    first = service.create_order(
        session, bob, order(shop.bobs, amount="120.5", ordered_at="2025-01-02T08:00:00+08:00")
    )
    second = service.create_order(session, bob, order(shop.bobs, amount="60"))
    refunded = service.refund_order(session, bob, first.id)
    assert refunded.status == OrderStatus.REFUNDED and refunded.status_changed_at is not None
    with pytest.raises(Conflict) as again:
        service.refund_order(session, bob, first.id)
    assert again.value.code == "order_not_paid" and again.value.status == 409
    with pytest.raises(Conflict):
        service.cancel_order(session, bob, first.id)
    assert service.cancel_order(session, bob, second.id).status == OrderStatus.CANCELLED
    assert [name for name, _ in heard if _["order_id"] in (first.id, second.id)] == [
        "order.created",
        "order.created",
        "order.refunded",
        "order.cancelled",
    ]
    assert heard[0][1] == {
        "order_id": first.id,
        "customer_id": shop.bobs,
        "amount": "120.50",
        "status": "paid",
        "ordered_at": "2025-01-02T00:00:00+00:00",
    }
    assert heard[2][1]["status"] == "refunded"
    with pytest.raises(NotFound):
        service.refund_order(session, actor_for(cast.carol), second.id)


def test_sales_list_only_their_customers_orders_and_filters_apply(cast, shop, session) -> None:
    service.create_order(
        session,
        actor_for(cast.bob),
        order(shop.bobs, amount="10", channel="微信", ordered_at="2025-05-01T09:00:00"),
    )
    service.create_order(
        session,
        actor_for(cast.bob),
        order(shop.bobs, amount="20", channel="门店", ordered_at="2025-05-03T23:30:00"),
    )
    service.create_order(session, actor_for(cast.carol), order(shop.carols, amount="30"))
    service.create_order(session, actor_for(cast.oscar), order(shop.globex, amount="40"))
    everything = service.search_orders(session, actor_for(cast.victor), service.OrderQuery())
    assert (everything.total, everything.paid_amount) == (3, Decimal("60.00"))
    bobs = service.search_orders(session, actor_for(cast.bob), service.OrderQuery())
    assert [o.amount for o in bobs.items] == [Decimal("20.00"), Decimal("10.00")]
    may = service.OrderQuery(
        date_from=datetime(2025, 5, 3).date(), date_to=datetime(2025, 5, 3).date()
    )
    assert [o.amount for o in service.search_orders(session, actor_for(cast.alice), may).items] == [
        Decimal("20.00")
    ]
    wechat = service.search_orders(
        session, actor_for(cast.alice), service.OrderQuery(channel="微信")
    )
    assert wechat.total == 1
    with pytest.raises(NotFound):
        service.customer_orders(session, actor_for(cast.bob), shop.carols)


def test_products_are_managed_by_owners_and_admins_with_unique_names(cast, shop, session) -> None:
    with pytest.raises(PermissionDenied):
        service.create_product(session, actor_for(cast.maggie), ProductCreate(name="新品"))
    with pytest.raises(Conflict) as same:
        service.create_product(session, actor_for(cast.alice), ProductCreate(name="补水面霜"))
    assert same.value.code == "duplicate_product"
    owner = actor_for(cast.alice)
    changed = service.update_product(
        session, owner, shop.cream, ProductUpdate(usage_cycle_days=60, active=False)
    )
    assert (changed.name, changed.usage_cycle_days, changed.active) == ("补水面霜", 60, False)
    assert [p.name for p in service.list_products(session, actor_for(cast.bob))] == ["面部护理"]
    with pytest.raises(Conflict):
        service.update_product(session, owner, shop.facial, ProductUpdate(name="补水面霜"))
    with pytest.raises(NotFound):
        service.update_product(session, actor_for(cast.oscar), shop.cream, ProductUpdate(name="x"))
    assert session.scalars(select(DomainEvent.name)).all().count("order.created") == 0


def test_erasing_a_customer_keeps_the_orders_without_their_notes(cast, shop, session) -> None:
    from laoke.customers.erasure import erase_customer

    kept = service.create_order(
        session, actor_for(cast.bob), order(shop.bobs, amount="30", notes="住在幸福路 8 号")
    )
    session.commit()
    erase_customer(session, actor_for(cast.alice), shop.bobs, reason="test")
    session.expire_all()
    again = service.get_order_for(session, actor_for(cast.alice), kept.id)
    assert (again.amount, again.notes) == (Decimal("30.00"), None)
