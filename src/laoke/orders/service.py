"""Product and order rules: the catalogue, entering an order, refunds and cancellations.

Nothing here commits: the caller (route, CLI, import) owns the transaction. Orders are seen
through their customer: whoever may see the customer may see its orders
(`customers.service.visible_customers` / `get_customer_for`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.customers.erasure import ERASURE_HOOKS
from laoke.customers.models import Customer
from laoke.customers.service import get_customer_for, visible_customers
from laoke.db import utcnow
from laoke.errors import N_, Conflict, Invalid, NotFound
from laoke.events.bus import emit
from laoke.orders.models import Order, OrderItem, OrderStatus, Product
from laoke.orders.schemas import OrderCreate, ProductCreate, ProductUpdate
from laoke.tenancy.models import Org

MAX_ORDER_AMOUNT = Decimal("10000000")
CENT = Decimal("0.01")
EARLIEST_ORDER = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)


class DuplicateProduct(Conflict):
    code = "duplicate_product"
    default_message = N_("There is already a product called %(name)s.")


class DuplicateOrderNumber(Conflict):
    code = "duplicate_order_number"
    default_message = N_("There is already an order with the number %(number)s.")


class OrderNotPaid(Conflict):
    code = "order_not_paid"
    default_message = N_("Only a paid order can be refunded or cancelled.")


# --- money and time ----------------------------------------------------------------------


def clean_money(value: Decimal, field: str, *, positive: bool = False) -> Decimal:
    """Two decimals, finite, not negative (or above zero), at most ten million yuan."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise Invalid(N_("This is not an amount of money."), field=field)
    if value < 0 or (positive and value == 0):
        raise Invalid(N_("The amount must be more than zero."), field=field)
    if value > MAX_ORDER_AMOUNT:
        raise Invalid(N_("The amount can be at most 10,000,000."), field=field)
    if value != value.quantize(CENT):
        raise Invalid(N_("Amounts have at most two decimals."), field=field)
    return value.quantize(CENT)


def org_timezone(session: Session, org_id: int) -> str:
    org = session.get(Org, org_id)
    return org.timezone if org is not None else "Asia/Shanghai"


def as_utc(moment: datetime, timezone: str) -> datetime:
    """A time without a zone is the organisation's local time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)


def local_day_start(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def check_ordered_at(moment: datetime, now: datetime) -> datetime:
    if moment > now + FUTURE_SLACK:
        raise Invalid(N_("The order date is in the future."), field="ordered_at")
    if moment < EARLIEST_ORDER:
        raise Invalid(N_("The order date is too far in the past."), field="ordered_at")
    return moment


# --- products ----------------------------------------------------------------------------


def list_products(
    session: Session, actor: Actor, *, include_inactive: bool = False
) -> list[Product]:
    query = select(Product).where(Product.org_id == actor.org_id)
    if not include_inactive:
        query = query.where(Product.active.is_(True))
    return list(session.scalars(query.order_by(Product.active.desc(), Product.name)))


def get_product_for(session: Session, actor: Actor, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None or product.org_id != actor.org_id:
        raise NotFound(N_("No such product."), code="product_not_found")
    return product


def _check_unique_product(
    session: Session, org_id: int, product: Product | None, name: str | None, sku: str | None
) -> None:
    own_id = product.id if product is not None else None
    if name is not None:
        taken = session.scalar(
            select(Product.id).where(Product.org_id == org_id, Product.name == name)
        )
        if taken is not None and taken != own_id:
            raise DuplicateProduct(field="name", name=name)
    if sku is not None:
        taken = session.scalar(
            select(Product.id).where(Product.org_id == org_id, Product.sku == sku)
        )
        if taken is not None and taken != own_id:
            raise Conflict(
                N_("Another product already has this SKU."), code="duplicate_sku", field="sku"
            )


def create_product(session: Session, actor: Actor, data: ProductCreate) -> Product:
    actor.require(Permission.MANAGE_SETTINGS)
    _check_unique_product(session, actor.org_id, None, data.name, data.sku)
    product = Product(
        org_id=actor.org_id,
        name=data.name,
        sku=data.sku,
        usage_cycle_days=data.usage_cycle_days,
        price=clean_money(data.price, "price") if data.price is not None else None,
        active=True,
    )
    session.add(product)
    session.flush()
    return product


def update_product(session: Session, actor: Actor, product_id: int, data: ProductUpdate) -> Product:
    """Change the fields given; `active=false` takes a product off the order form."""
    actor.require(Permission.MANAGE_SETTINGS)
    product = get_product_for(session, actor, product_id)
    fields = data.model_fields_set
    if "name" in fields and not data.name:
        raise Invalid(N_("A name is required."), field="name")
    _check_unique_product(
        session,
        actor.org_id,
        product,
        data.name if "name" in fields else None,
        data.sku if "sku" in fields else None,
    )
    if "name" in fields and data.name:
        product.name = data.name
    if "sku" in fields:
        product.sku = data.sku
    if "usage_cycle_days" in fields:
        product.usage_cycle_days = data.usage_cycle_days
    if "price" in fields:
        product.price = clean_money(data.price, "price") if data.price is not None else None
    if "active" in fields and data.active is not None:
        product.active = data.active
    product.updated_at = utcnow()
    session.flush()
    return product


# --- orders ------------------------------------------------------------------------------


def order_payload(order: Order) -> dict[str, object]:
    return {
        "order_id": order.id,
        "customer_id": order.customer_id,
        "amount": f"{order.amount:.2f}",
        "status": str(order.status),
        "ordered_at": order.ordered_at.astimezone(UTC).isoformat(),
    }


def _emit(session: Session, order: Order, name: str) -> None:
    emit(
        session,
        order.org_id,
        name,
        subject_type="order",
        subject_id=order.id,
        payload=order_payload(order),
    )


def order_number_taken(session: Session, org_id: int, number: str) -> bool:
    return (
        session.scalar(select(Order.id).where(Order.org_id == org_id, Order.order_number == number))
        is not None
    )


def _build_items(session: Session, actor: Actor, data: OrderCreate) -> list[OrderItem]:
    by_name = {
        p.name: p
        for p in session.scalars(
            select(Product).where(
                Product.org_id == actor.org_id,
                Product.name.in_([i.product_name for i in data.items if i.product_name]),
            )
        )
    }
    items = []
    for index, line in enumerate(data.items):
        where = f"items.{index}"
        product = None
        if line.product_id is not None:
            product = session.get(Product, line.product_id)
            if product is None or product.org_id != actor.org_id:
                raise Invalid(N_("No such product."), field=f"{where}.product_id")
        elif line.product_name:
            product = by_name.get(line.product_name)
        else:
            raise Invalid(N_("Choose a product or type its name."), field=f"{where}.product_name")
        unit_price = line.unit_price
        if unit_price is None and product is not None:
            unit_price = product.price
        if unit_price is not None:
            unit_price = clean_money(unit_price, f"{where}.unit_price")
        if line.amount is not None:
            amount = clean_money(line.amount, f"{where}.amount")
        elif unit_price is not None:
            amount = clean_money(unit_price * line.quantity, f"{where}.amount")
        else:
            raise Invalid(N_("Give a price or an amount."), field=f"{where}.amount")
        cycle = product.usage_cycle_days if product is not None else None
        items.append(
            OrderItem(
                org_id=actor.org_id,
                product_id=product.id if product is not None else None,
                product_name=(line.product_name or (product.name if product else ""))[:200],
                quantity=line.quantity,
                unit_price=unit_price,
                amount=amount,
                lasts_days=cycle * line.quantity if cycle else None,
            )
        )
    return items


def create_order(session: Session, actor: Actor, data: OrderCreate) -> Order:
    """Enter an order for a customer this actor may edit; emits `order.created`."""
    customer = get_customer_for(session, actor, data.customer_id, edit=True)
    now = utcnow()
    timezone = org_timezone(session, actor.org_id)
    ordered_at = (
        check_ordered_at(as_utc(data.ordered_at, timezone), now) if data.ordered_at else now
    )
    if data.order_number and order_number_taken(session, actor.org_id, data.order_number):
        raise DuplicateOrderNumber(field="order_number", number=data.order_number)
    items = _build_items(session, actor, data)
    if items:
        amount = clean_money(sum((i.amount for i in items), Decimal(0)), "amount")
    elif data.amount is not None:
        amount = clean_money(data.amount, "amount", positive=True)
    else:
        raise Invalid(N_("Give the amount paid or add items."), field="amount")
    order = Order(
        org_id=actor.org_id,
        customer_id=customer.id,
        order_number=data.order_number,
        ordered_at=ordered_at,
        amount=amount,
        channel=data.channel,
        status=OrderStatus.PAID,
        notes=data.notes,
        created_by_id=actor.user_id,
        items=items,
    )
    session.add(order)
    try:
        session.flush()
    except IntegrityError as exc:  # entered at the same moment by someone else
        raise DuplicateOrderNumber(field="order_number", number=data.order_number) from exc
    _emit(session, order, "order.created")
    return order


def get_order_for(session: Session, actor: Actor, order_id: int) -> Order:
    """The order if this actor may see its customer, else NotFound."""
    order = session.get(Order, order_id)
    if order is None or order.org_id != actor.org_id:
        raise NotFound(N_("No such order."), code="order_not_found")
    try:
        get_customer_for(session, actor, order.customer_id)
    except NotFound:
        raise NotFound(N_("No such order."), code="order_not_found") from None
    return order


def _change_status(
    session: Session, actor: Actor, order_id: int, status: OrderStatus, event: str
) -> Order:
    actor.require(Permission.EDIT_CUSTOMERS)
    order = get_order_for(session, actor, order_id)
    # Re-read under a row lock, so two refunds of one order at once cannot both pass the
    # check (NO KEY UPDATE: rows referencing the order may still be inserted meanwhile).
    session.refresh(order, with_for_update={"key_share": True})
    if order.status != OrderStatus.PAID:
        raise OrderNotPaid()
    order.status = status
    order.status_changed_at = utcnow()
    order.updated_at = order.status_changed_at
    session.flush()
    _emit(session, order, event)
    return order


def refund_order(session: Session, actor: Actor, order_id: int) -> Order:
    return _change_status(session, actor, order_id, OrderStatus.REFUNDED, "order.refunded")


def cancel_order(session: Session, actor: Actor, order_id: int) -> Order:
    return _change_status(session, actor, order_id, OrderStatus.CANCELLED, "order.cancelled")


def forget_order_notes(session: Session, org_id: int, customer_id: int) -> None:
    """Erasure hook: the orders stay (under the pseudonym), their free-text notes go."""
    session.execute(
        update(Order)
        .where(Order.org_id == org_id, Order.customer_id == customer_id)
        .values(notes=None)
    )


if forget_order_notes not in ERASURE_HOOKS:
    ERASURE_HOOKS.append(forget_order_notes)


# --- queries -----------------------------------------------------------------------------


@dataclass
class OrderQuery:
    customer_id: int | None = None
    status: OrderStatus | None = None
    date_from: date | None = None  # local days, both ends included
    date_to: date | None = None
    channel: str | None = None
    page: int = 1
    per_page: int = 20


@dataclass(frozen=True)
class OrderPage:
    items: list[Order]
    total: int
    page: int
    per_page: int
    paid_amount: Decimal

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def visible_orders(session: Session, actor: Actor, params: OrderQuery) -> Select[tuple[Order]]:
    query = select(Order).where(Order.org_id == actor.org_id)
    if not actor.can(Permission.SEE_ALL_CUSTOMERS):
        own = visible_customers(actor).with_only_columns(Customer.id)
        query = query.where(Order.customer_id.in_(own))
    if params.customer_id is not None:
        query = query.where(Order.customer_id == params.customer_id)
    if params.status:
        query = query.where(Order.status == params.status)
    if params.channel:
        query = query.where(Order.channel == params.channel)
    if params.date_from or params.date_to:
        timezone = org_timezone(session, actor.org_id)
        if params.date_from:
            query = query.where(Order.ordered_at >= local_day_start(params.date_from, timezone))
        if params.date_to:
            end = local_day_start(params.date_to + timedelta(days=1), timezone)
            query = query.where(Order.ordered_at < end)
    return query


def search_orders(session: Session, actor: Actor, params: OrderQuery) -> OrderPage:
    per_page = min(max(params.per_page, 1), 200)
    page = max(params.page, 1)
    query = visible_orders(session, actor, params)
    counted = query.order_by(None).subquery()
    total, paid = session.execute(
        select(
            func.count(),
            func.coalesce(
                func.sum(counted.c.amount).filter(counted.c.status == OrderStatus.PAID), 0
            ),
        ).select_from(counted)
    ).one()
    items = session.scalars(
        query.order_by(Order.ordered_at.desc(), Order.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return OrderPage(list(items), total or 0, page, per_page, Decimal(paid or 0).quantize(CENT))


def customer_orders(
    session: Session, actor: Actor, customer_id: int, *, page: int = 1, per_page: int = 20
) -> OrderPage:
    customer = get_customer_for(session, actor, customer_id)
    return search_orders(
        session, actor, OrderQuery(customer_id=customer.id, page=page, per_page=per_page)
    )


def channels_in_use(session: Session, actor: Actor, limit: int = 20) -> list[str]:
    rows = session.scalars(
        select(Order.channel)
        .where(Order.org_id == actor.org_id, Order.channel.is_not(None))
        .group_by(Order.channel)
        .order_by(func.count().desc())
        .limit(limit)
    )
    return [row for row in rows if row]
