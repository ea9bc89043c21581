"""The demo salon's catalogue and two years of orders.

Buying is skewed the way a salon's is: a fifth of the customers never bought, many bought
once to three times, regulars come back about every cycle of their favourite product (some
stop — lapsed customers for the win-back list), a few VIPs buy several lines. A few orders
are refunded or cancelled. Orders go in with bulk inserts and emit no events: the figures
are recomputed once, by a later step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from random import Random
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from laoke.customers.models import Customer
from laoke.db import utcnow
from laoke.orders.models import Order, OrderItem, OrderStatus, Product

if TYPE_CHECKING:
    from laoke.demo.seed import DemoContext

HISTORY_DAYS = 730
CHANNELS = (("门店", 60), ("微信", 25), ("小程序", 10), ("美团", 5))

# (name, sku, usage cycle in days or None for a one-off service, price)
CATALOGUE = (
    ("补水面霜", "SK-CREAM-50", 45, "198.00"),
    ("精华液", "SK-SERUM-30", 60, "368.00"),
    ("洁面乳", "SK-CLEAN-100", 30, "88.00"),
    ("补水面膜（10片装）", "SK-MASK-10", 30, "128.00"),
    ("防晒霜", "SK-SUN-50", 60, "158.00"),
    ("眼部护理套装", "SK-EYE-SET", 90, "458.00"),
    ("面部护理疗程卡（10次）", "CARD-FACE-10", 90, "1980.00"),
    ("身体护理年卡", "CARD-BODY-365", 365, "6800.00"),
    ("肩颈按摩", "SV-NECK", None, "298.00"),
    ("美甲", "SV-NAIL", None, "168.00"),
)


@dataclass(frozen=True)
class _Product:
    id: int
    name: str
    cycle: int | None
    price: Decimal


def seed_products(session: Session, ctx: DemoContext) -> list[_Product]:
    rows = [
        {
            "org_id": ctx.org.id,
            "name": name,
            "sku": sku,
            "usage_cycle_days": cycle,
            "price": Decimal(price),
            "active": True,
        }
        for name, sku, cycle, price in CATALOGUE
    ]
    session.execute(insert(Product), rows)
    products = session.scalars(
        select(Product).where(Product.org_id == ctx.org.id).order_by(Product.id)
    ).all()
    return [_Product(p.id, p.name, p.usage_cycle_days, p.price) for p in products]


def _channel(rng: Random) -> str:
    return rng.choices([c for c, _ in CHANNELS], weights=[w for _, w in CHANNELS])[0]


def _moment(rng: Random, day: datetime, timezone: ZoneInfo) -> datetime:
    local = datetime.combine(day.astimezone(timezone).date(), time(10), tzinfo=timezone)
    return (local + timedelta(minutes=rng.randrange(11 * 60))).astimezone(UTC)


class _History:
    """Purchase dates per customer, by buying habit."""

    def __init__(self, rng: Random, products: list[_Product], now: datetime) -> None:
        self.rng = rng
        self.products = products
        self.cycled = [p for p in products if p.cycle and p.cycle <= 90]
        self.services = [p for p in products if not p.cycle]
        self.now = now

    def purchases(self, since: datetime) -> list[tuple[datetime, list[_Product]]]:
        rng = self.rng
        span = (self.now - since).days
        if span < 3:
            return []
        habit = rng.random()
        if habit < 0.22:
            return []
        if habit < 0.68:  # occasional: one to three visits
            count = rng.choices((1, 2, 3), weights=(55, 30, 15))[0]
            days = sorted(rng.randrange(span) for _ in range(count))
            return [(since + timedelta(days=d), self._basket(1)) for d in days]
        favourite = rng.choice(self.cycled)
        vip = habit > 0.95
        # Regulars come back around each cycle; a third of them stop at some point.
        stop = self.now if rng.random() < 0.66 else since + timedelta(days=rng.randrange(span))
        at = since + timedelta(days=rng.randrange(min(span, 60)))
        found = []
        while at < stop:
            basket = [favourite] + (self._basket(rng.randint(1, 2)) if vip else [])
            if vip and rng.random() < 0.15:
                basket.append(self.products[-3])  # the body-care year card
            found.append((at, basket))
            assert favourite.cycle is not None
            at += timedelta(days=max(7, round(favourite.cycle * rng.uniform(0.8, 1.35))))
        return found

    def _basket(self, size: int) -> list[_Product]:
        pool = self.cycled + self.services
        return self.rng.sample(pool, k=min(size, len(pool)))


def seed_orders(session: Session, ctx: DemoContext) -> None:
    rng = ctx.rng
    products = seed_products(session, ctx)
    now = utcnow()
    timezone = ZoneInfo(ctx.org.timezone)
    history = _History(rng, products, now)
    customers = session.execute(
        select(Customer.id, Customer.owner_id, Customer.created_at)
        .where(
            Customer.org_id == ctx.org.id,
            Customer.merged_into_id.is_(None),
            Customer.erased_at.is_(None),
        )
        .order_by(Customer.id)
    ).all()
    orders: list[dict[str, Any]] = []
    baskets: list[list[tuple[_Product, int]]] = []
    for customer_id, owner_id, created_at in customers:
        since = max(created_at, now - timedelta(days=HISTORY_DAYS))
        for day, basket in history.purchases(since):
            ordered_at = min(_moment(rng, day, timezone), now)  # today's may lie ahead
            lines = [(p, 2 if p.cycle and rng.random() < 0.12 else 1) for p in basket]
            amount = sum((p.price * qty for p, qty in lines), Decimal(0))
            roll = rng.random()
            status = (
                OrderStatus.REFUNDED
                if roll < 0.03
                else OrderStatus.CANCELLED
                if roll < 0.05
                else OrderStatus.PAID
            )
            changed = ordered_at + timedelta(days=rng.randint(1, 10))
            orders.append(
                {
                    "org_id": ctx.org.id,
                    "customer_id": customer_id,
                    "order_number": None,
                    "ordered_at": ordered_at,
                    "amount": amount,
                    "channel": _channel(rng),
                    "status": str(status),
                    "status_changed_at": None if status == OrderStatus.PAID else min(changed, now),
                    "created_by_id": owner_id,
                    "created_at": ordered_at,
                    "updated_at": ordered_at,
                }
            )
            baskets.append(lines)
    # Numbered in date order, as the shop's till numbers them.
    by_date = sorted(range(len(orders)), key=lambda i: orders[i]["ordered_at"])
    for sequence, index in enumerate(by_date, start=1):
        local = orders[index]["ordered_at"].astimezone(timezone)
        orders[index]["order_number"] = f"LK{local:%Y%m%d}{sequence:05d}"
    if not orders:
        return
    ids = session.execute(
        insert(Order).returning(Order.id, sort_by_parameter_order=True), orders
    ).scalars()
    items = [
        {
            "org_id": ctx.org.id,
            "order_id": order_id,
            "product_id": product.id,
            "product_name": product.name,
            "quantity": quantity,
            "unit_price": product.price,
            "amount": product.price * quantity,
            "lasts_days": product.cycle * quantity if product.cycle else None,
        }
        for order_id, lines in zip(list(ids), baskets, strict=True)
        for product, quantity in lines
    ]
    session.execute(insert(OrderItem), items)
    session.commit()
