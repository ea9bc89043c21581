"""JSON API for products and orders."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from laoke.orders import service
from laoke.orders.models import Order, OrderStatus, Product
from laoke.orders.schemas import (
    OrderCreate,
    OrderItemPublic,
    OrderPage,
    OrderPublic,
    ProductCreate,
    ProductPublic,
    ProductUpdate,
)
from laoke.web.deps import ApiActor, CsrfProtected, SessionDep

router = APIRouter(prefix="/api/v1", tags=["orders"], dependencies=[CsrfProtected])


def product_public(product: Product) -> ProductPublic:
    return ProductPublic(
        id=product.id,
        name=product.name,
        sku=product.sku,
        usage_cycle_days=product.usage_cycle_days,
        price=product.price,
        active=product.active,
    )


def order_public(order: Order) -> OrderPublic:
    return OrderPublic(
        id=order.id,
        customer_id=order.customer_id,
        order_number=order.order_number,
        ordered_at=order.ordered_at,
        amount=order.amount,
        channel=order.channel,
        status=OrderStatus(order.status),
        status_changed_at=order.status_changed_at,
        notes=order.notes,
        items=[
            OrderItemPublic(
                id=item.id,
                product_id=item.product_id,
                product_name=item.product_name,
                quantity=item.quantity,
                unit_price=item.unit_price,
                amount=item.amount,
                lasts_days=item.lasts_days,
            )
            for item in order.items
        ],
        created_at=order.created_at,
    )


def page_public(result: service.OrderPage) -> OrderPage:
    return OrderPage(
        items=[order_public(o) for o in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        pages=result.pages,
        paid_amount=result.paid_amount,
    )


Page = Annotated[int, Query(ge=1, le=1_000_000)]
PerPage = Annotated[int, Query(ge=1, le=200)]


@router.get("/products", response_model=list[ProductPublic], summary="The product catalogue")
def list_products(
    session: SessionDep, actor: ApiActor, include_inactive: bool = False
) -> list[ProductPublic]:
    products = service.list_products(session, actor, include_inactive=include_inactive)
    return [product_public(p) for p in products]


@router.post("/products", response_model=ProductPublic, status_code=201, summary="Add a product")
def create_product(session: SessionDep, actor: ApiActor, body: ProductCreate) -> ProductPublic:
    product = service.create_product(session, actor, body)
    session.commit()
    return product_public(product)


@router.patch(
    "/products/{product_id}",
    response_model=ProductPublic,
    summary="Change a product (active=false takes it off the order form)",
)
def update_product(
    session: SessionDep, actor: ApiActor, product_id: int, body: ProductUpdate
) -> ProductPublic:
    product = service.update_product(session, actor, product_id, body)
    session.commit()
    return product_public(product)


@router.get("/orders", response_model=OrderPage, summary="Search and page through orders")
def list_orders(
    session: SessionDep,
    actor: ApiActor,
    customer_id: int | None = None,
    status: OrderStatus | None = None,
    date_from: Annotated[date | None, Query(description="Local day, included")] = None,
    date_to: Annotated[date | None, Query(description="Local day, included")] = None,
    channel: Annotated[str | None, Query(max_length=64)] = None,
    page: Page = 1,
    per_page: PerPage = 20,
) -> OrderPage:
    params = service.OrderQuery(
        customer_id=customer_id,
        status=status,
        date_from=date_from,
        date_to=date_to,
        channel=channel,
        page=page,
        per_page=per_page,
    )
    return page_public(service.search_orders(session, actor, params))


@router.post("/orders", response_model=OrderPublic, status_code=201, summary="Enter an order")
def create_order(session: SessionDep, actor: ApiActor, body: OrderCreate) -> OrderPublic:
    order = service.create_order(session, actor, body)
    session.commit()
    return order_public(order)


@router.get("/orders/{order_id}", response_model=OrderPublic, summary="One order")
def get_order(session: SessionDep, actor: ApiActor, order_id: int) -> OrderPublic:
    return order_public(service.get_order_for(session, actor, order_id))


@router.post("/orders/{order_id}/refund", response_model=OrderPublic, summary="Refund a paid order")
def refund_order(session: SessionDep, actor: ApiActor, order_id: int) -> OrderPublic:
    order = service.refund_order(session, actor, order_id)
    session.commit()
    return order_public(order)


@router.post("/orders/{order_id}/cancel", response_model=OrderPublic, summary="Cancel a paid order")
def cancel_order(session: SessionDep, actor: ApiActor, order_id: int) -> OrderPublic:
    order = service.cancel_order(session, actor, order_id)
    session.commit()
    return order_public(order)


@router.get(
    "/customers/{customer_id}/orders", response_model=OrderPage, summary="A customer's orders"
)
def list_customer_orders(
    session: SessionDep, actor: ApiActor, customer_id: int, page: Page = 1, per_page: PerPage = 20
) -> OrderPage:
    result = service.customer_orders(session, actor, customer_id, page=page, per_page=per_page)
    return page_public(result)
