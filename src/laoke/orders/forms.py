"""The order and product forms on pages: form fields ⇄ schema values, with per-field errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData

from laoke.imports.values import BadValue, parse_amount
from laoke.orders.models import Product
from laoke.orders.schemas import OrderCreate, ProductCreate, ProductUpdate

ORDER_TEXT = ("ordered_on", "channel", "order_number", "notes", "item_name", "item_amount")
PRODUCT_TEXT = ("name", "sku", "usage_cycle_days", "price")


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def order_values(form: FormData, products: list[Product]) -> dict[str, Any]:
    """Raw values as typed, to re-fill the form after an error."""
    values: dict[str, Any] = {name: _text(form, name) for name in ORDER_TEXT}
    values["quantities"] = {p.id: _text(form, f"qty_{p.id}") for p in products}
    return values


def blank_order(today: date) -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(ORDER_TEXT, "")
    values["ordered_on"] = today.isoformat()
    values["quantities"] = {}
    return values


def _amount(text: str) -> str | None:
    """¥1,280 / 1280元 as typed on a phone; unreadable text goes on to validation as is."""
    if not text:
        return None
    try:
        return str(parse_amount(text))
    except BadValue:
        return text


def _ordered_at(text: str, today: date, timezone: str) -> datetime | str | None:
    """Today means now; an earlier day means that day at local noon."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return text  # let validation name the field
    if day == today:
        return None
    return datetime.combine(day, time(12), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def to_order(values: dict[str, Any], customer_id: int, today: date, timezone: str) -> OrderCreate:
    items: list[dict[str, Any]] = []
    for product_id, quantity in values["quantities"].items():
        if quantity and quantity != "0":
            items.append({"product_id": product_id, "quantity": quantity})
    amount = _amount(values["item_amount"])
    if values["item_name"]:
        items.append({"product_name": values["item_name"], "amount": amount})
        amount = None
    return OrderCreate.model_validate(
        {
            "customer_id": customer_id,
            "ordered_at": _ordered_at(values["ordered_on"], today, timezone),
            "channel": values["channel"],
            "order_number": values["order_number"],
            "notes": values["notes"],
            "items": items,
            "amount": amount,
        }
    )


def product_values(form: FormData | None, product: Product | None = None) -> dict[str, str]:
    if form is not None:
        return {name: _text(form, name) for name in PRODUCT_TEXT}
    if product is None:
        return dict.fromkeys(PRODUCT_TEXT, "")
    return {
        "name": product.name,
        "sku": product.sku or "",
        "usage_cycle_days": str(product.usage_cycle_days or ""),
        "price": f"{product.price:.2f}" if product.price is not None else "",
    }


def _product_payload(values: dict[str, str]) -> dict[str, Any]:
    return {
        "name": values["name"],
        "sku": values["sku"],
        "usage_cycle_days": values["usage_cycle_days"] or None,
        "price": _amount(values["price"]),
    }


def to_product_create(values: dict[str, str]) -> ProductCreate:
    return ProductCreate.model_validate(_product_payload(values))


def to_product_update(values: dict[str, str], active: bool) -> ProductUpdate:
    return ProductUpdate.model_validate({**_product_payload(values), "active": active})


def field_errors(exc: Any) -> dict[str, str]:
    """Pydantic errors by top-level field; item errors land on the item fields of the form."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        location = [str(p) for p in err["loc"]]
        key = location[0] if location else "form"
        errors.setdefault("ordered_on" if key == "ordered_at" else key, err["msg"])
    return errors
