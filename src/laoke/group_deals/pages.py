"""Staff pages: offers and groups at a glance, the offer form, a group's page (members,
countdown, share link and QR, add a member, cancel) and the customer page's panel."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from laoke.accounts.roles import Permission
from laoke.customers.service import get_customer_for
from laoke.errors import N_, DomainError
from laoke.group_deals import groups, offers, views
from laoke.group_deals.models import (
    BENEFIT_LABELS,
    GROUP_STATUS_LABELS,
    OFFER_STATUS_LABELS,
    BenefitKind,
    GroupStatus,
    OfferStatus,
)
from laoke.group_deals.offers import MEMBER_KIND_LABELS, MEMBER_KINDS
from laoke.group_deals.schemas import OfferCreate, OfferUpdate
from laoke.orders.models import Product
from laoke.referrals.models import ReferralProgram
from laoke.web.deps import CsrfProtected, PageActor, SessionDep, SettingsDep
from laoke.web.templating import render

router = APIRouter(prefix="/group-deals", include_in_schema=False, dependencies=[CsrfProtected])

LABELS = {
    "group_status_labels": GROUP_STATUS_LABELS,
    "offer_status_labels": OFFER_STATUS_LABELS,
    "benefit_labels": BENEFIT_LABELS,
    "member_kind_labels": MEMBER_KIND_LABELS,
    "split_time": views.split_time,
}


@router.get("")
def overview(
    request: Request, session: SessionDep, actor: PageActor, status: str = "", offer_id: str = ""
) -> HTMLResponse:
    chosen = GroupStatus(status) if status in set(GroupStatus) else None
    offer = int(offer_id) if offer_id.isdigit() else None
    rows, total = groups.list_groups(session, actor, status=chosen, offer_id=offer, limit=200)
    offer_rows = offers.list_offers(session, actor.org_id)
    context = {
        **LABELS,
        "offers": offer_rows,
        "offer_names": {o.id: o.name for o in offer_rows},
        "counts": offers.group_counts(session, actor.org_id),
        "rows": [views.group_view(session, g) for g in rows],
        "total": total,
        "status": status,
        "offer_id": offer_id,
        "statuses": list(GroupStatus),
        "can_manage": actor.can(Permission.MANAGE_SETTINGS),
    }
    return render(request, "group_deals.html", context)


# --- offers -------------------------------------------------------------------------------


def _choices(session: Any, org_id: int) -> dict[str, Any]:
    products = session.scalars(
        select(Product)
        .where(Product.org_id == org_id, Product.active.is_(True))
        .order_by(Product.name)
    )
    programs = session.scalars(
        select(ReferralProgram).where(ReferralProgram.org_id == org_id).order_by(ReferralProgram.id)
    )
    return {"products": list(products), "programs": list(programs)}


def _offer_form(
    request: Request, session: Any, actor: Any, values: dict[str, Any], error: Any = None
) -> HTMLResponse:
    context = {
        **LABELS,
        **_choices(session, actor.org_id),
        "values": values,
        "error": error,
        "offer_statuses": list(OfferStatus),
        "benefits": list(BenefitKind),
        "member_kinds": MEMBER_KINDS,
    }
    return render(
        request, "group_offer_form.html", context, status_code=422 if error is not None else 200
    )


def _money_text(value: Any) -> str:
    return f"{value:.2f}" if value is not None else ""


def _offer_values(offer: Any) -> dict[str, Any]:
    days, hours = divmod(offer.open_hours, 24)
    return {
        "id": offer.id,
        "name": offer.name,
        "status": offer.status,
        "description": offer.description,
        "group_size": str(offer.group_size),
        "open_for": str(offer.open_hours // 24 if hours == 0 else offer.open_hours),
        "open_unit": "days" if hours == 0 and days else "hours",
        "min_amount": _money_text(offer.min_amount),
        "product_id": str(offer.product_id or ""),
        "benefit": offer.benefit,
        "leader_cap": _money_text(offer.leader_cap),
        "member_kind": offer.member_kind or "",
        "member_amount": _money_text(offer.member_amount),
        "coupon_min_spend": _money_text(offer.coupon_min_spend),
        "coupon_valid_days": str(offer.coupon_valid_days or ""),
        "program_id": str(offer.program_id or ""),
    }


def _decimal(text: str) -> Decimal | str | None:
    text = text.strip().replace("¥", "").replace(",", "")[:20]
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return text  # let validation name the field


def _whole(text: str) -> int | str | None:
    text = text.strip()[:12]
    if not text:
        return None
    return int(text) if text.isdigit() else text


async def _read_offer_form(request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form's raw values (to show again) and the payload for the schemas."""
    form = await request.form()
    raw = {
        key: str(form.get(key, ""))[:1000]
        for key in (
            "name",
            "status",
            "description",
            "group_size",
            "open_for",
            "open_unit",
            "min_amount",
            "product_id",
            "benefit",
            "leader_cap",
            "member_kind",
            "member_amount",
            "coupon_min_spend",
            "coupon_valid_days",
            "program_id",
        )
    }
    open_for = _whole(raw["open_for"])
    if isinstance(open_for, int) and raw["open_unit"] == "days":
        open_for *= 24
    data = {
        "name": raw["name"][:200],
        "status": raw["status"] or "active",
        "description": raw["description"][:500],
        "group_size": _whole(raw["group_size"]),
        "open_hours": open_for,
        "min_amount": _decimal(raw["min_amount"]),
        "product_id": _whole(raw["product_id"]),
        "benefit": raw["benefit"] or None,
        "leader_cap": _decimal(raw["leader_cap"]),
        "member_kind": raw["member_kind"] or None,
        "member_amount": _decimal(raw["member_amount"]),
        "coupon_min_spend": _decimal(raw["coupon_min_spend"]),
        "coupon_valid_days": _whole(raw["coupon_valid_days"]),
        "program_id": _whole(raw["program_id"]),
    }
    return raw, data


@router.get("/offers/new")
def new_offer(request: Request, session: SessionDep, actor: PageActor) -> HTMLResponse:
    actor.require(Permission.MANAGE_SETTINGS)
    defaults = {
        "id": None,
        "status": OfferStatus.ACTIVE,
        "group_size": "3",
        "open_for": "2",
        "open_unit": "days",
        "benefit": BenefitKind.LEADER_FREE,
    }
    return _offer_form(request, session, actor, defaults)


@router.post("/offers/new")
async def create_offer(request: Request, session: SessionDep, actor: PageActor) -> Response:
    actor.require(Permission.MANAGE_SETTINGS)
    raw, data = await _read_offer_form(request)
    try:
        offers.create_offer(session, actor, OfferCreate.model_validate(data))
    except (DomainError, ValidationError) as exc:
        session.rollback()
        return _offer_form(request, session, actor, {**raw, "id": None}, error=exc)
    session.commit()
    return RedirectResponse("/group-deals", status_code=303)


@router.get("/offers/{offer_id}")
def edit_offer(
    request: Request, session: SessionDep, actor: PageActor, offer_id: int
) -> HTMLResponse:
    actor.require(Permission.MANAGE_SETTINGS)
    offer = offers.get_offer(session, actor, offer_id)
    return _offer_form(request, session, actor, _offer_values(offer))


@router.post("/offers/{offer_id}")
async def save_offer(
    request: Request, session: SessionDep, actor: PageActor, offer_id: int
) -> Response:
    actor.require(Permission.MANAGE_SETTINGS)
    offers.get_offer(session, actor, offer_id)
    raw, data = await _read_offer_form(request)
    try:
        offers.update_offer(session, actor, offer_id, OfferUpdate.model_validate(data))
    except (DomainError, ValidationError) as exc:
        session.rollback()
        return _offer_form(request, session, actor, {**raw, "id": offer_id}, error=exc)
    session.commit()
    return RedirectResponse("/group-deals", status_code=303)


# --- a group ------------------------------------------------------------------------------


def _detail(
    request: Request,
    session: Any,
    settings: Any,
    actor: Any,
    group_id: int,
    *,
    error: Any = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    group = groups.get_group_for(session, actor, group_id)
    view = views.group_view(session, group)
    context = {
        **LABELS,
        "view": view,
        "link": views.share_link(settings.base_url, group.token),
        "can_edit": actor.can(Permission.EDIT_CUSTOMERS),
        "error": error,
        "values": values or {},
    }
    status = 200
    if error is not None:
        status = error.status if isinstance(error, DomainError) else 422
    return render(request, "group_detail.html", context, status_code=status)


@router.get("/{group_id}")
def group_detail(
    request: Request, session: SessionDep, settings: SettingsDep, actor: PageActor, group_id: int
) -> HTMLResponse:
    return _detail(request, session, settings, actor, group_id)


def _failed(
    request: Request,
    session: Any,
    settings: Any,
    actor: Any,
    group_id: int,
    exc: DomainError,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    session.rollback()
    if exc.status in (403, 404):
        raise exc
    return _detail(request, session, settings, actor, group_id, error=exc, values=values)


@router.post("/{group_id}/members")
def add_member(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: PageActor,
    group_id: int,
    name: Annotated[str, Form(max_length=2000)] = "",
    phone: Annotated[str, Form(max_length=200)] = "",
    customer_id: Annotated[str, Form(max_length=20)] = "",
    consent: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    values = {"name": name[:100], "phone": phone[:40], "customer_id": customer_id[:20]}
    try:
        groups.add_member(
            session,
            actor,
            group_id,
            customer_id=int(customer_id) if customer_id.strip().isdigit() else None,
            name=name,
            phone=phone,
            consent=bool(consent),
        )
    except DomainError as exc:
        return _failed(request, session, settings, actor, group_id, exc, values)
    session.commit()
    return RedirectResponse(f"/group-deals/{group_id}", status_code=303)


@router.post("/{group_id}/members/{customer_id}/remove")
def remove_member(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: PageActor,
    group_id: int,
    customer_id: int,
) -> Response:
    try:
        groups.remove_member(session, actor, group_id, customer_id)
    except DomainError as exc:
        return _failed(request, session, settings, actor, group_id, exc)
    session.commit()
    return RedirectResponse(f"/group-deals/{group_id}", status_code=303)


@router.post("/{group_id}/cancel")
def cancel_group(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: PageActor,
    group_id: int,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        groups.cancel_group(session, actor, group_id, reason)
    except DomainError as exc:
        return _failed(request, session, settings, actor, group_id, exc)
    session.commit()
    return RedirectResponse(f"/group-deals/{group_id}", status_code=303)


# --- the customer page's panel ------------------------------------------------------------

OPEN_ERRORS = {
    "offer": N_("Choose an offer."),
    "group_offer_not_found": N_("No such group offer."),
    "group_offer_not_active": N_("This offer is not running."),
    "already_in_open_group": N_("This person is already in an open group of this offer."),
    "customer_inactive": N_("This customer can no longer change."),
    "customer_erased": N_("This customer's data was erased and cannot be edited."),
    "other": N_("The group could not be opened."),
}


def _panel_error(customer_id: int, code: str) -> Response:
    code = code if code in OPEN_ERRORS else "other"
    return RedirectResponse(f"/group-deals/customers/{customer_id}?error={code}", status_code=303)


@router.get("/customers/{customer_id}")
def customer_panel(
    request: Request, session: SessionDep, actor: PageActor, customer_id: int, error: str = ""
) -> HTMLResponse:
    customer = get_customer_for(session, actor, customer_id)
    rows, _total = groups.list_groups(session, actor, customer_id=customer.id, limit=20)
    context = {
        **LABELS,
        "customer": customer,
        "rows": [views.group_view(session, g) for g in rows],
        "offers": [
            o for o in offers.list_offers(session, actor.org_id) if o.status == OfferStatus.ACTIVE
        ],
        "can_edit": actor.can(Permission.EDIT_CUSTOMERS) and customer.is_active,
        "error": OPEN_ERRORS.get(error, OPEN_ERRORS["other"]) if error else None,
    }
    return render(request, "_group_deals_panel.html", context)


@router.post("/customers/{customer_id}/open")
def open_for_customer(
    session: SessionDep,
    actor: PageActor,
    customer_id: int,
    offer_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    if not offer_id.strip().isdigit():
        return _panel_error(customer_id, "offer")
    try:
        group = groups.open_group(session, actor, int(offer_id), customer_id)
    except DomainError as exc:
        session.rollback()
        if exc.status in (403,) or exc.code == "customer_not_found":
            raise
        return _panel_error(customer_id, exc.code)
    session.commit()
    return RedirectResponse(f"/group-deals/{group.id}", status_code=303)
