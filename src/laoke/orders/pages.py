"""Order and product pages: enter an order in a few taps, the order list, an order with its
refund and cancel buttons, the product catalogue, and the customer page's orders panel."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.customers.models import Customer
from laoke.customers.service import get_customer_for
from laoke.db import utcnow
from laoke.errors import DomainError
from laoke.messaging.care import local_today
from laoke.orders import forms, service
from laoke.orders.models import ORDER_STATUS_LABELS, Order, OrderStatus
from laoke.web.deps import CsrfProtected, PageActor, SessionDep
from laoke.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[CsrfProtected])


def _today(request: Request) -> tuple[date, str]:
    timezone = getattr(request.state.org, "timezone", "Asia/Shanghai")
    return local_today(utcnow(), timezone), timezone


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _customer_names(session: Session, orders: list[Order]) -> dict[int, str]:
    ids = {o.customer_id for o in orders}
    if not ids:
        return {}
    rows = session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids)))
    return {row.id: row.name for row in rows}


def _status_context() -> dict[str, Any]:
    return {"statuses": list(OrderStatus), "status_labels": ORDER_STATUS_LABELS}


# --- entering an order -------------------------------------------------------------------


def _order_form(
    request: Request,
    session: Session,
    actor: Actor,
    customer: Customer,
    values: dict[str, Any],
    errors: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "order_form.html",
        {
            "customer": customer,
            "products": service.list_products(session, actor),
            "channels": service.channels_in_use(session, actor),
            "values": values,
            "errors": errors,
        },
        status_code=status_code,
    )


@router.get("/customers/{customer_id}/orders/new")
def new_order(
    request: Request, session: SessionDep, actor: PageActor, customer_id: int
) -> HTMLResponse:
    customer = get_customer_for(session, actor, customer_id, edit=True)
    today, _ = _today(request)
    return _order_form(request, session, actor, customer, forms.blank_order(today), {})


@router.post("/customers/{customer_id}/orders/new")
async def create_order(
    request: Request, session: SessionDep, actor: PageActor, customer_id: int
) -> Response:
    customer = get_customer_for(session, actor, customer_id, edit=True)
    products = service.list_products(session, actor)
    values = forms.order_values(await request.form(), products)
    today, timezone = _today(request)
    try:
        order = service.create_order(
            session, actor, forms.to_order(values, customer.id, today, timezone)
        )
    except ValidationError as exc:
        return _order_form(request, session, actor, customer, values, forms.field_errors(exc), 422)
    except DomainError as exc:
        session.rollback()
        if exc.status in (403, 404):
            raise
        key = (exc.field or "form").split(".")[0]
        key = {"ordered_at": "ordered_on", "amount": "item_amount"}.get(key, key)
        return _order_form(request, session, actor, customer, values, {key: exc}, exc.status)
    session.commit()
    return RedirectResponse(f"/orders/{order.id}?created=1", status_code=303)


@router.get("/customers/{customer_id}/orders/recent")
def recent_orders(
    request: Request, session: SessionDep, actor: PageActor, customer_id: int
) -> HTMLResponse:
    """The customer page's panel: the last five orders."""
    result = service.customer_orders(session, actor, customer_id, per_page=5)
    return render(
        request,
        "_order_rows.html",
        {"orders": result.items, "total": result.total, "names": {}, **_status_context()},
    )


# --- the order list and one order --------------------------------------------------------


@router.get("/orders")
def order_list(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    status: str = "",
    date_from: str = "",
    date_to: str = "",
    channel: str = "",
    customer_id: str = "",
    page: int = 1,
) -> HTMLResponse:
    params = service.OrderQuery(
        customer_id=int(customer_id) if customer_id.isdigit() else None,
        status=OrderStatus(status) if status in OrderStatus.__members__.values() else None,
        date_from=_day(date_from),
        date_to=_day(date_to),
        channel=channel[:64] or None,
        page=max(page, 1),
    )
    result = service.search_orders(session, actor, params)
    filters = {
        "status": status,
        "date_from": date_from,
        "date_to": date_to,
        "channel": channel,
        "customer_id": customer_id,
    }
    return render(
        request,
        "orders.html",
        {
            "result": result,
            "filters": filters,
            "channels": service.channels_in_use(session, actor),
            "names": _customer_names(session, result.items),
            **_status_context(),
        },
    )


@router.get("/orders/{order_id}")
def order_detail(
    request: Request, session: SessionDep, actor: PageActor, order_id: int
) -> HTMLResponse:
    order = service.get_order_for(session, actor, order_id)
    return render(
        request,
        "order_detail.html",
        {
            "order": order,
            "customer": session.get(Customer, order.customer_id),
            "can_change": actor.can(Permission.EDIT_CUSTOMERS) and order.status == OrderStatus.PAID,
            **_status_context(),
        },
    )


@router.post("/orders/{order_id}/refund")
def refund(session: SessionDep, actor: PageActor, order_id: int) -> Response:
    service.refund_order(session, actor, order_id)
    session.commit()
    return RedirectResponse(f"/orders/{order_id}", status_code=303)


@router.post("/orders/{order_id}/cancel")
def cancel(session: SessionDep, actor: PageActor, order_id: int) -> Response:
    service.cancel_order(session, actor, order_id)
    session.commit()
    return RedirectResponse(f"/orders/{order_id}", status_code=303)


# --- products ----------------------------------------------------------------------------


def _products_page(
    request: Request,
    session: Session,
    actor: Actor,
    values: dict[str, str],
    errors: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    can_manage = actor.can(Permission.MANAGE_SETTINGS)
    return render(
        request,
        "products.html",
        {
            "products": service.list_products(session, actor, include_inactive=can_manage),
            "can_manage": can_manage,
            "values": values,
            "errors": errors,
        },
        status_code=status_code,
    )


def _form_errors(session: Session, exc: Exception) -> tuple[dict[str, Any], int]:
    if isinstance(exc, ValidationError):
        return forms.field_errors(exc), 422
    assert isinstance(exc, DomainError)
    session.rollback()
    if exc.status in (403, 404):
        raise exc
    return {exc.field or "form": exc}, exc.status


@router.get("/products")
def product_list(request: Request, session: SessionDep, actor: PageActor) -> HTMLResponse:
    return _products_page(request, session, actor, forms.product_values(None), {})


@router.post("/products")
async def create_product(request: Request, session: SessionDep, actor: PageActor) -> Response:
    actor.require(Permission.MANAGE_SETTINGS)
    values = forms.product_values(await request.form())
    try:
        service.create_product(session, actor, forms.to_product_create(values))
    except (ValidationError, DomainError) as exc:
        errors, status_code = _form_errors(session, exc)
        return _products_page(request, session, actor, values, errors, status_code)
    session.commit()
    return RedirectResponse("/products", status_code=303)


@router.get("/products/{product_id}/edit")
def edit_product(
    request: Request, session: SessionDep, actor: PageActor, product_id: int
) -> HTMLResponse:
    actor.require(Permission.MANAGE_SETTINGS)
    product = service.get_product_for(session, actor, product_id)
    return render(
        request,
        "product_form.html",
        {"product": product, "values": forms.product_values(None, product), "errors": {}},
    )


@router.post("/products/{product_id}/edit")
async def update_product(
    request: Request, session: SessionDep, actor: PageActor, product_id: int
) -> Response:
    actor.require(Permission.MANAGE_SETTINGS)
    product = service.get_product_for(session, actor, product_id)
    form = await request.form()
    values = forms.product_values(form)
    try:
        service.update_product(
            session, actor, product.id, forms.to_product_update(values, form.get("active") == "on")
        )
    except (ValidationError, DomainError) as exc:
        errors, status_code = _form_errors(session, exc)
        return render(
            request,
            "product_form.html",
            {"product": product, "values": values, "errors": errors},
            status_code=status_code,
        )
    session.commit()
    return RedirectResponse("/products", status_code=303)
