"""Customer pages: list with search-as-you-type, profile, create/edit, reveal, merge, erase."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.models import User
from laoke.accounts.roles import Permission
from laoke.accounts.service import list_staff
from laoke.customers import erasure, forms, merge, service
from laoke.customers.export import export_response
from laoke.customers.models import (
    CONSENT_SOURCE_LABELS,
    GENDER_LABELS,
    PURCHASING_POWER_LABELS,
    Customer,
    Gender,
    PurchasingPower,
)
from laoke.customers.phones import format_phone, mask_phone
from laoke.customers.stages import LIFECYCLE_LABELS, LifecycleStage
from laoke.engagement.figures import figures_by_customer
from laoke.engagement.models import ACTIVITY_LABELS, VALUE_TIER_LABELS, Activity, ValueTier
from laoke.engagement.rules_pages import figures_context
from laoke.errors import N_, DomainError
from laoke.insights import service as insights
from laoke.web.deps import CsrfProtected, PageActor, SessionDep
from laoke.web.templating import render

router = APIRouter(prefix="/customers", include_in_schema=False, dependencies=[CsrfProtected])


LIST_SORTS = {
    "-created_at": N_("Newest first"),
    "-total_spent": N_("Spent most"),
    "-last_purchase_at": N_("Bought most recently"),
    "last_purchase_at": N_("Longest since a purchase"),
    "-clv": N_("Most valuable, next 12 months"),
    "p_alive": N_("Most likely slipping away"),
}


def _owner_names(session: Session, actor: Actor) -> dict[int, str]:
    rows = session.execute(select(User.id, User.name).where(User.org_id == actor.org_id)).all()
    return dict(rows)


def _form_context(session: Session, actor: Actor) -> dict[str, object]:
    return {
        "genders": list(Gender),
        "gender_labels": GENDER_LABELS,
        "powers": list(PurchasingPower),
        "power_labels": PURCHASING_POWER_LABELS,
        "staff": list_staff(session, actor) if actor.can(Permission.SEE_ALL_CUSTOMERS) else [],
        "can_assign": actor.can(Permission.SEE_ALL_CUSTOMERS),
    }


@router.get("")
def customer_list(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    q: str = "",
    tag: str = "",
    owner_id: str = "",
    consent: str = "",
    stage: str = "",
    tier: str = "",
    activity: str = "",
    sort: str = "",
    page: int = 1,
) -> HTMLResponse:
    stage = stage if stage in set(LifecycleStage) else ""
    tier = tier if tier in set(ValueTier) else ""
    activity = activity if activity in set(Activity) else ""
    sort = sort if sort in LIST_SORTS else ""
    params = service.CustomerQuery(
        q=q[:100] or None,
        tag=tag[:50] or None,
        owner_id=int(owner_id) if owner_id.isdigit() else None,
        consent={"yes": True, "no": False}.get(consent),
        lifecycle_stage=LifecycleStage(stage) if stage else None,
        value_tier=ValueTier(tier) if tier else None,
        activity=Activity(activity) if activity else None,
        sort=sort or "-created_at",
        page=max(page, 1),
        per_page=20,
    )
    result = service.search_customers(session, actor, params)
    context = {
        "result": result,
        "q": q,
        "tag": tag,
        "owner_id": owner_id,
        "consent": consent,
        "stage": stage,
        "tier": tier,
        "activity": activity,
        "activity_labels": ACTIVITY_LABELS,
        "sort": sort,
        "list_sorts": LIST_SORTS,
        "lifecycle_labels": LIFECYCLE_LABELS,
        "tier_labels": VALUE_TIER_LABELS,
        "figures": figures_by_customer(session, actor.org_id, (c.id for c in result.items)),
        "owners": _owner_names(session, actor),
        "staff": list_staff(session, actor) if actor.can(Permission.SEE_ALL_CUSTOMERS) else [],
        "tags": service.tag_counts(session, actor),
        "mask_phone": mask_phone,
    }
    template = (
        "_customer_rows.html" if request.headers.get("HX-Request") == "true" else "customers.html"
    )
    return render(request, template, context)


@router.get("/export")
def export(
    session: SessionDep,
    actor: PageActor,
    format: str = "xlsx",
    q: str = "",
    tag: str = "",
    owner_id: str = "",
    consent: str = "",
) -> Response:
    params = service.CustomerQuery(
        q=q[:100] or None,
        tag=tag[:50] or None,
        owner_id=int(owner_id) if owner_id.isdigit() else None,
        consent={"yes": True, "no": False}.get(consent),
    )
    return export_response(session, actor, params, format)


@router.get("/new")
def new_customer(request: Request, session: SessionDep, actor: PageActor) -> HTMLResponse:
    actor.require(Permission.EDIT_CUSTOMERS)
    values = forms.form_values(forms.FormData())
    values["owner_id"] = str(actor.user_id or "")
    return render(
        request,
        "customer_form.html",
        {"values": values, "errors": {}, "customer": None, **_form_context(session, actor)},
    )


@router.post("/new")
async def create_customer(request: Request, session: SessionDep, actor: PageActor) -> Response:
    values = forms.form_values(await request.form())
    can_assign = actor.can(Permission.SEE_ALL_CUSTOMERS)
    try:
        customer = service.create_customer(
            session, actor, forms.to_create(values, can_assign=can_assign)
        )
    except ValidationError as exc:
        return _form_error(request, session, actor, values, forms.field_errors(exc), None)
    except DomainError as exc:
        session.rollback()
        if exc.status in (403, 404):
            raise
        return _form_error(request, session, actor, values, {exc.field or "form": exc}, None)
    return RedirectResponse(f"/customers/{customer.id}", status_code=303)


def _form_error(
    request: Request,
    session: Session,
    actor: Actor,
    values: dict[str, object],
    errors: dict[str, object],
    customer: Customer | None,
) -> HTMLResponse:
    if any(key.startswith("phones.") for key in errors):
        errors["phones"] = next(v for k, v in errors.items() if k.startswith("phones."))
    return render(
        request,
        "customer_form.html",
        {"values": values, "errors": errors, "customer": customer, **_form_context(session, actor)},
        status_code=409 if any(getattr(e, "status", 0) == 409 for e in errors.values()) else 422,
    )


@router.get("/{customer_id}")
def customer_detail(
    request: Request, session: SessionDep, actor: PageActor, customer_id: int
) -> Response:
    customer = service.get_customer_for(session, actor, customer_id)
    if customer.id != customer_id:
        return RedirectResponse(f"/customers/{customer.id}", status_code=303)
    owner = session.get(User, customer.owner_id) if customer.owner_id else None
    candidates = (
        merge.merge_candidates(session, actor, customer.id)
        if actor.can(Permission.MERGE_CUSTOMERS) and customer.erased_at is None
        else []
    )
    return render(
        request,
        "customer_detail.html",
        {
            "customer": customer,
            "owner": owner,
            "masked_phones": [mask_phone(p.e164) for p in customer.phones],
            "gender_labels": GENDER_LABELS,
            "power_labels": PURCHASING_POWER_LABELS,
            "consent_labels": CONSENT_SOURCE_LABELS,
            "candidates": candidates,
            "can_edit": actor.can(Permission.EDIT_CUSTOMERS) and customer.erased_at is None,
            "can_reveal": actor.can(Permission.REVEAL_PII),
            "can_merge": actor.can(Permission.MERGE_CUSTOMERS),
            "can_erase": actor.can(Permission.ERASE_CUSTOMERS),
            "customer_value": insights.customer_value(session, actor, customer.id),
            **figures_context(session, actor, customer),
        },
    )


@router.get("/{customer_id}/edit")
def edit_customer(
    request: Request, session: SessionDep, actor: PageActor, customer_id: int
) -> HTMLResponse:
    customer = service.get_customer_for(session, actor, customer_id, edit=True)
    return render(
        request,
        "customer_form.html",
        {
            "values": forms.values_from_customer(customer),
            "errors": {},
            "customer": customer,
            **_form_context(session, actor),
        },
    )


@router.post("/{customer_id}/edit")
async def update_customer(
    request: Request, session: SessionDep, actor: PageActor, customer_id: int
) -> Response:
    customer = service.get_customer_for(session, actor, customer_id, edit=True)
    values = forms.form_values(await request.form())
    can_assign = actor.can(Permission.SEE_ALL_CUSTOMERS)
    try:
        service.update_customer(
            session, actor, customer.id, forms.to_update(values, can_assign=can_assign)
        )
    except ValidationError as exc:
        return _form_error(request, session, actor, values, forms.field_errors(exc), customer)
    except DomainError as exc:
        session.rollback()
        if exc.status in (403, 404):
            raise
        return _form_error(request, session, actor, values, {exc.field or "form": exc}, customer)
    return RedirectResponse(f"/customers/{customer.id}", status_code=303)


@router.post("/{customer_id}/reveal")
def reveal(
    request: Request, session: SessionDep, actor: PageActor, customer_id: int
) -> HTMLResponse:
    phones = service.reveal_phones(session, actor, customer_id)
    return render(
        request, "_phones.html", {"phones": [format_phone(p) for p in phones], "revealed": True}
    )


@router.post("/{customer_id}/merge")
def merge_into(
    session: SessionDep, actor: PageActor, customer_id: int, other_id: Annotated[int, Form()]
) -> Response:
    outcome = merge.merge_customers(session, actor, customer_id, other_id)
    return RedirectResponse(
        f"/customers/{outcome.kept.id}?merged={outcome.retired_id}", status_code=303
    )


@router.post("/{customer_id}/erase")
def erase(
    session: SessionDep,
    actor: PageActor,
    customer_id: int,
    confirm: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    if confirm != "erase":
        return RedirectResponse(f"/customers/{customer_id}", status_code=303)
    erasure.erase_customer(session, actor, customer_id, reason=reason)
    return RedirectResponse(f"/customers/{customer_id}", status_code=303)
