"""JSON API: event webhook subscriptions and their delivery log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from laoke.messaging import webhooks
from laoke.messaging.api import message_out
from laoke.messaging.models import WebhookSubscription
from laoke.messaging.schemas import MessagePage, WebhookCreated, WebhookIn, WebhookOut, WebhookPatch
from laoke.web.deps import ApiActor, CsrfProtected, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"], dependencies=[CsrfProtected])


def _out(sub: WebhookSubscription) -> WebhookOut:
    return WebhookOut(
        id=sub.id,
        url=sub.url,
        events=list(sub.events or []),
        enabled=sub.enabled,
        description=sub.description,
        created_at=sub.created_at,
    )


@router.get("", response_model=list[WebhookOut], summary="Event webhook subscriptions")
def list_webhooks(session: SessionDep, actor: ApiActor) -> list[WebhookOut]:
    return [_out(s) for s in webhooks.list_subscriptions(session, actor)]


@router.post(
    "",
    response_model=WebhookCreated,
    status_code=201,
    summary="Subscribe a URL to domain events (all when `events` is empty)",
)
def create_webhook(
    session: SessionDep, actor: ApiActor, settings: SettingsDep, body: WebhookIn
) -> WebhookCreated:
    sub, secret = webhooks.create_subscription(
        session,
        actor,
        settings,
        url=body.url,
        secret=body.secret,
        events=body.events,
        description=body.description,
    )
    return WebhookCreated(**_out(sub).model_dump(), secret=secret)


@router.get("/{subscription_id}", response_model=WebhookOut, summary="One subscription")
def get_webhook(session: SessionDep, actor: ApiActor, subscription_id: int) -> WebhookOut:
    return _out(webhooks.get_subscription_for(session, actor, subscription_id))


@router.patch("/{subscription_id}", response_model=WebhookOut, summary="Change a subscription")
def update_webhook(
    session: SessionDep,
    actor: ApiActor,
    settings: SettingsDep,
    subscription_id: int,
    body: WebhookPatch,
) -> WebhookOut:
    sub = webhooks.update_subscription(
        session,
        actor,
        settings,
        subscription_id,
        url=body.url,
        secret=body.secret,
        events=body.events,
        enabled=body.enabled,
        description=body.description,
    )
    return _out(sub)


@router.delete("/{subscription_id}", status_code=204, summary="Remove a subscription")
def delete_webhook(session: SessionDep, actor: ApiActor, subscription_id: int) -> Response:
    webhooks.delete_subscription(session, actor, subscription_id)
    return Response(status_code=204)


@router.get("/{subscription_id}/deliveries", response_model=MessagePage, summary="The delivery log")
def list_deliveries(
    session: SessionDep,
    actor: ApiActor,
    subscription_id: int,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MessagePage:
    items, total = webhooks.deliveries(
        session, actor, subscription_id, page=page, per_page=per_page
    )
    return MessagePage(
        items=[message_out(m, actor) for m in items], total=total, page=page, per_page=per_page
    )
