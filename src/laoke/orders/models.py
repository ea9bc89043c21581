"""Products (with a usage cycle), orders and order items.

Amounts are `Numeric(14, 2)` yuan held as `Decimal`; an order's `amount` is what the
customer paid for it, and the sum of its items when it has any.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from laoke.db import Base, BigId, TenantRow, Timestamps
from laoke.errors import N_

Money = Numeric(14, 2)


class OrderStatus(StrEnum):
    PAID = "paid"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


ORDER_STATUS_LABELS = {
    OrderStatus.PAID: N_("Paid"),
    OrderStatus.REFUNDED: N_("Refunded"),
    OrderStatus.CANCELLED: N_("Cancelled"),
}


class Product(TenantRow, Timestamps, Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        UniqueConstraint("org_id", "sku"),
    )

    name: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str | None] = mapped_column(String(64))
    # Days one unit lasts (a 45-day cream, a 12-week course, a 365-day policy); None when
    # the product is not used up (a one-off service), so it drives no reminders.
    usage_cycle_days: Mapped[int | None] = mapped_column(Integer)
    price: Mapped[Decimal | None] = mapped_column(Money)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Order(TenantRow, Timestamps, Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("org_id", "order_number"),
        Index("ix_orders_org_customer_at", "org_id", "customer_id", "ordered_at"),
        Index("ix_orders_org_at", "org_id", "ordered_at"),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    # The shop's own order number: re-importing a file never adds the same order twice.
    order_number: Mapped[str | None] = mapped_column(String(64))
    ordered_at: Mapped[datetime] = mapped_column()
    amount: Mapped[Decimal] = mapped_column(Money)
    channel: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[OrderStatus] = mapped_column(String(16), default=OrderStatus.PAID)
    status_changed_at: Mapped[datetime | None] = mapped_column()
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    import_job_id: Mapped[int | None] = mapped_column(BigId)
    import_row: Mapped[int | None] = mapped_column(Integer)

    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        order_by="OrderItem.id",
        lazy="selectin",
    )


class OrderItem(TenantRow, Base):
    __tablename__ = "order_items"
    __table_args__ = (
        Index("ix_order_items_org_order", "org_id", "order_id"),
        Index("ix_order_items_org_product", "org_id", "product_id"),
    )

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"))
    product_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("products.id", ondelete="SET NULL")
    )
    # The name as sold, kept even when the product is renamed or was never catalogued.
    product_name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price: Mapped[Decimal | None] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)
    # Copied from the product when sold: how long this purchase lasts (quantity × cycle).
    lasts_days: Mapped[int | None] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="items")
