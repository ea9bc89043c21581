"""What crosses the boundary for products and orders: input and output shapes per direction.

Money goes out as decimal strings ("128.00") so no client reads it as a float.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

from laoke.orders.models import OrderStatus

MAX_ITEMS = 100
MAX_QUANTITY = 10_000
MAX_CYCLE_DAYS = 3650

MoneyIn = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False)]
MoneyOut = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str)]


def _strip(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


class ProductFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str | None = Field(default=None, max_length=64)
    usage_cycle_days: int | None = Field(
        default=None,
        ge=1,
        le=MAX_CYCLE_DAYS,
        description="Days one unit lasts; empty if not used up",
    )
    price: MoneyIn | None = None

    _strip_text = field_validator("sku", mode="before")(_strip)


class ProductCreate(ProductFields):
    name: str = Field(min_length=1, max_length=200)

    _strip_name = field_validator("name", mode="before")(_strip)


class ProductUpdate(ProductFields):
    """PATCH semantics: only the fields present are changed."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    active: bool | None = None

    _strip_name = field_validator("name", mode="before")(_strip)


class ProductPublic(BaseModel):
    id: int
    name: str
    sku: str | None
    usage_cycle_days: int | None
    price: MoneyOut | None
    active: bool


class OrderItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: int | None = Field(default=None, description="A product of the catalogue")
    product_name: str | None = Field(
        default=None, max_length=200, description="Or the name as sold (free text)"
    )
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)
    unit_price: MoneyIn | None = Field(default=None, description="Default: the product's price")
    amount: MoneyIn | None = Field(default=None, description="Default: quantity × unit price")

    _strip_name = field_validator("product_name", mode="before")(_strip)


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: int
    ordered_at: datetime | None = Field(
        default=None, description="Default now; without a zone, the organisation's local time"
    )
    channel: str | None = Field(default=None, max_length=64)
    notes: str | None = Field(default=None, max_length=5000)
    order_number: str | None = Field(
        default=None, max_length=64, description="The shop's own number, unique per organisation"
    )
    items: list[OrderItemCreate] = Field(default_factory=list, max_length=MAX_ITEMS)
    amount: MoneyIn | None = Field(
        default=None, description="Required without items; with items it is their sum"
    )

    _strip_text = field_validator("channel", "notes", "order_number", mode="before")(_strip)


class OrderItemPublic(BaseModel):
    id: int
    product_id: int | None
    product_name: str
    quantity: int
    unit_price: MoneyOut | None
    amount: MoneyOut
    lasts_days: int | None


class OrderPublic(BaseModel):
    id: int
    customer_id: int
    order_number: str | None
    ordered_at: datetime
    amount: MoneyOut
    channel: str | None
    status: OrderStatus
    status_changed_at: datetime | None
    notes: str | None
    items: list[OrderItemPublic]
    created_at: datetime


class OrderPage(BaseModel):
    items: list[OrderPublic]
    total: int
    page: int
    per_page: int
    pages: int
    paid_amount: MoneyOut = Field(description="Sum of the paid orders matching the filters")
