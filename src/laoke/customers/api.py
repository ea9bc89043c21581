"""JSON API for customers."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse

from laoke.customers import erasure, merge, service
from laoke.customers.export import export_response
from laoke.customers.models import Gender
from laoke.customers.presenters import customer_public
from laoke.customers.schemas import (
    CustomerCreate,
    CustomerPage,
    CustomerPublic,
    CustomerUpdate,
    MergeRequest,
    MergeResult,
)
from laoke.customers.stages import LifecycleStage
from laoke.engagement.figures import figures_by_customer, figures_of
from laoke.engagement.models import Activity, ValueTier
from laoke.web.deps import ApiActor, CsrfProtected, SessionDep

router = APIRouter(prefix="/api/v1/customers", tags=["customers"], dependencies=[CsrfProtected])

SortKey = Literal[
    "created_at",
    "-created_at",
    "name",
    "-name",
    "updated_at",
    "-updated_at",
    "total_spent",
    "-total_spent",
    "last_purchase_at",
    "-last_purchase_at",
    "clv",
    "-clv",
    "p_alive",
    "-p_alive",
]


@router.get("", response_model=CustomerPage, summary="Search and page through customers")
def list_customers(
    session: SessionDep,
    actor: ApiActor,
    q: Annotated[
        str | None,
        Query(max_length=100, description="Name, nickname, WeChat id, email or phone digits"),
    ] = None,
    tag: Annotated[str | None, Query(max_length=50)] = None,
    owner_id: int | None = None,
    gender: Gender | None = None,
    source_channel: Annotated[str | None, Query(max_length=64)] = None,
    consent: bool | None = None,
    lifecycle_stage: LifecycleStage | None = None,
    value_tier: ValueTier | None = None,
    activity: Activity | None = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 20,
    sort: SortKey = "-created_at",
) -> CustomerPage:
    result = service.search_customers(
        session,
        actor,
        service.CustomerQuery(
            q=q,
            tag=tag,
            owner_id=owner_id,
            gender=gender,
            source_channel=source_channel,
            consent=consent,
            lifecycle_stage=lifecycle_stage,
            value_tier=value_tier,
            activity=activity,
            page=page,
            per_page=per_page,
            sort=sort,
        ),
    )
    figures = figures_by_customer(session, actor.org_id, (c.id for c in result.items))
    return CustomerPage(
        items=[customer_public(c, actor, figures.get(c.id)) for c in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        pages=result.pages,
    )


@router.post("", response_model=CustomerPublic, status_code=201, summary="Create a customer")
def create_customer(session: SessionDep, actor: ApiActor, body: CustomerCreate) -> CustomerPublic:
    customer = service.create_customer(session, actor, body)
    return customer_public(customer, actor, figures_of(session, customer))


@router.get(
    "/export",
    summary="Download the customer list, filtered like the list, as xlsx or csv (audited)",
    response_class=FileResponse,
)
def export_customers(
    session: SessionDep,
    actor: ApiActor,
    format: Literal["xlsx", "csv"] = "xlsx",
    q: Annotated[str | None, Query(max_length=100)] = None,
    tag: Annotated[str | None, Query(max_length=50)] = None,
    owner_id: int | None = None,
    gender: Gender | None = None,
    source_channel: Annotated[str | None, Query(max_length=64)] = None,
    consent: bool | None = None,
) -> FileResponse:
    params = service.CustomerQuery(
        q=q,
        tag=tag,
        owner_id=owner_id,
        gender=gender,
        source_channel=source_channel,
        consent=consent,
    )
    return export_response(session, actor, params, format)


@router.get("/{customer_id}", response_model=CustomerPublic, summary="One customer")
def get_customer(session: SessionDep, actor: ApiActor, customer_id: int) -> CustomerPublic:
    customer = service.get_customer_for(session, actor, customer_id)
    return customer_public(customer, actor, figures_of(session, customer))


@router.patch(
    "/{customer_id}", response_model=CustomerPublic, summary="Change some fields of a customer"
)
def update_customer(
    session: SessionDep, actor: ApiActor, customer_id: int, body: CustomerUpdate
) -> CustomerPublic:
    customer = service.update_customer(session, actor, customer_id, body)
    return customer_public(customer, actor, figures_of(session, customer))


@router.delete(
    "/{customer_id}", status_code=204, summary="Erase a customer's personal data (PIPL/GDPR)"
)
def erase_customer(session: SessionDep, actor: ApiActor, customer_id: int) -> Response:
    erasure.erase_customer(session, actor, customer_id, reason="api")
    return Response(status_code=204)


@router.post(
    "/{customer_id}/merge",
    response_model=MergeResult,
    summary="Merge another customer into this one",
)
def merge_customer(
    session: SessionDep, actor: ApiActor, customer_id: int, body: MergeRequest
) -> MergeResult:
    outcome = merge.merge_customers(session, actor, customer_id, body.other_id)
    return MergeResult(
        kept_id=outcome.kept.id,
        merged_id=outcome.retired_id,
        moved=outcome.moved,
        filled_fields=outcome.filled_fields,
    )


@router.post(
    "/{customer_id}/reveal", response_model=list[str], summary="Unmasked phone numbers (audited)"
)
def reveal_phones(session: SessionDep, actor: ApiActor, customer_id: int) -> list[str]:
    return service.reveal_phones(session, actor, customer_id)
