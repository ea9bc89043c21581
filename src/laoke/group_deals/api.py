"""JSON API: group offers, groups, joining and cancelling."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from laoke.config import Settings
from laoke.group_deals import groups, offers, views
from laoke.group_deals.models import GroupOffer, GroupStatus, JoinSource
from laoke.group_deals.schemas import (
    GroupCancel,
    GroupOpen,
    GroupPage,
    GroupPublic,
    MemberAdd,
    OfferCreate,
    OfferPublic,
    OfferSummary,
    OfferUpdate,
)
from laoke.web.deps import ApiActor, CsrfProtected, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["group deals"], dependencies=[CsrfProtected])


def _summary(offer: GroupOffer, counts: dict[str, int]) -> OfferSummary:
    return OfferSummary(
        **OfferPublic.model_validate(offer).model_dump(),
        open_groups=counts.get(GroupStatus.OPEN, 0),
        completed_groups=counts.get(GroupStatus.COMPLETED, 0),
        expired_groups=counts.get(GroupStatus.EXPIRED, 0),
    )


def _group(session: Session, settings: Settings, group_id: int, actor: ApiActor) -> GroupPublic:
    group = groups.get_group_for(session, actor, group_id)
    return views.group_public(views.group_view(session, group), settings.base_url)


@router.get("/group-offers", response_model=list[OfferSummary], summary="Group offers")
def list_offers(session: SessionDep, actor: ApiActor) -> list[OfferSummary]:
    counts = offers.group_counts(session, actor.org_id)
    return [
        _summary(offer, counts.get(offer.id, {}))
        for offer in offers.list_offers(session, actor.org_id)
    ]


@router.post(
    "/group-offers", response_model=OfferPublic, status_code=201, summary="Create a group offer"
)
def create_offer(session: SessionDep, actor: ApiActor, body: OfferCreate) -> OfferPublic:
    offer = offers.create_offer(session, actor, body)
    session.commit()
    return OfferPublic.model_validate(offer)


@router.get("/group-offers/{offer_id}", response_model=OfferPublic, summary="One group offer")
def get_offer(session: SessionDep, actor: ApiActor, offer_id: int) -> OfferPublic:
    return OfferPublic.model_validate(offers.get_offer(session, actor, offer_id))


@router.patch(
    "/group-offers/{offer_id}",
    response_model=OfferPublic,
    summary="Change some fields of a group offer (pause or end it with status)",
)
def update_offer(
    session: SessionDep, actor: ApiActor, offer_id: int, body: OfferUpdate
) -> OfferPublic:
    offer = offers.update_offer(session, actor, offer_id, body)
    session.commit()
    return OfferPublic.model_validate(offer)


@router.get("/group-deals", response_model=GroupPage, summary="Groups, newest first")
def list_groups(
    session: SessionDep,
    settings: SettingsDep,
    actor: ApiActor,
    status: GroupStatus | None = None,
    offer_id: int | None = None,
    customer_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> GroupPage:
    rows, total = groups.list_groups(
        session, actor, status=status, offer_id=offer_id, customer_id=customer_id, limit=limit
    )
    items = [views.group_public(views.group_view(session, g), settings.base_url) for g in rows]
    return GroupPage(items=items, total=total)


@router.post(
    "/group-deals",
    response_model=GroupPublic,
    status_code=201,
    summary="Open a group for a customer (its leader)",
)
def open_group(
    session: SessionDep, settings: SettingsDep, actor: ApiActor, body: GroupOpen
) -> GroupPublic:
    group = groups.open_group(session, actor, body.offer_id, body.leader_customer_id)
    session.commit()
    return _group(session, settings, group.id, actor)


@router.get("/group-deals/{group_id}", response_model=GroupPublic, summary="One group")
def get_group(
    session: SessionDep, settings: SettingsDep, actor: ApiActor, group_id: int
) -> GroupPublic:
    return _group(session, settings, group_id, actor)


@router.post(
    "/group-deals/{group_id}/members",
    response_model=GroupPublic,
    status_code=201,
    summary="Add a member: a customer by id, or a person by name and phone",
)
def add_member(
    session: SessionDep, settings: SettingsDep, actor: ApiActor, group_id: int, body: MemberAdd
) -> GroupPublic:
    groups.add_member(
        session,
        actor,
        group_id,
        customer_id=body.customer_id,
        name=body.name,
        phone=body.phone,
        consent=body.consent,
        source=JoinSource.API if actor.via_token else JoinSource.STAFF,
    )
    session.commit()
    return _group(session, settings, group_id, actor)


@router.delete(
    "/group-deals/{group_id}/members/{customer_id}",
    status_code=204,
    summary="Take out a member who has not qualified",
)
def remove_member(
    session: SessionDep, actor: ApiActor, group_id: int, customer_id: int
) -> Response:
    groups.remove_member(session, actor, group_id, customer_id)
    session.commit()
    return Response(status_code=204)


@router.post(
    "/group-deals/{group_id}/cancel",
    response_model=GroupPublic,
    summary="Cancel an open group, with a reason",
)
def cancel_group(
    session: SessionDep, settings: SettingsDep, actor: ApiActor, group_id: int, body: GroupCancel
) -> GroupPublic:
    groups.cancel_group(session, actor, group_id, body.reason)
    session.commit()
    return _group(session, settings, group_id, actor)
