"""JSON API: templates (with preview), channels, the outbox and dead letters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.config import Settings
from laoke.messaging import channel_service, history, templates_service
from laoke.messaging.compose import Text
from laoke.messaging.models import (
    Channel,
    ChannelKind,
    MessageStatus,
    MessageTemplate,
    OutboxMessage,
)
from laoke.messaging.schemas import (
    ChannelIn,
    ChannelOut,
    ChannelPatch,
    MessageOut,
    MessagePage,
    PreviewIn,
    PreviewOut,
    TemplateIn,
    TemplateOut,
    TemplateTextIn,
)
from laoke.web.deps import ApiActor, CsrfProtected, SessionDep, SettingsDep
from laoke.web.i18n import translations

router = APIRouter(prefix="/api/v1", tags=["messaging"], dependencies=[CsrfProtected])


def _draft(body: TemplateIn) -> templates_service.Draft:
    return templates_service.Draft(
        name=body.name,
        purpose=body.purpose,
        channel=body.channel,
        texts={lang: Text(t.subject, t.body) for lang, t in body.texts.items()},
        is_active=body.is_active,
    )


def _template_out(session: Session, template: MessageTemplate) -> TemplateOut:
    texts = templates_service.texts_of(session, template)
    return TemplateOut(
        id=template.id,
        name=template.name,
        purpose=template.purpose,
        channel=ChannelKind(template.channel),
        is_active=template.is_active,
        texts={lang: TemplateTextIn(subject=t.subject, body=t.body) for lang, t in texts.items()},
        updated_at=template.updated_at,
    )


@router.get("/templates", response_model=list[TemplateOut], summary="Message templates")
def list_templates(session: SessionDep, actor: ApiActor) -> list[TemplateOut]:
    return [_template_out(session, t) for t in templates_service.list_templates(session, actor)]


@router.post("/templates", response_model=TemplateOut, status_code=201, summary="Create a template")
def create_template(session: SessionDep, actor: ApiActor, body: TemplateIn) -> TemplateOut:
    return _template_out(session, templates_service.save_template(session, actor, _draft(body)))


@router.get("/templates/{template_id}", response_model=TemplateOut, summary="One template")
def get_template(session: SessionDep, actor: ApiActor, template_id: int) -> TemplateOut:
    return _template_out(session, templates_service.get_template_for(session, actor, template_id))


@router.put("/templates/{template_id}", response_model=TemplateOut, summary="Replace a template")
def replace_template(
    session: SessionDep, actor: ApiActor, template_id: int, body: TemplateIn
) -> TemplateOut:
    template = templates_service.save_template(session, actor, _draft(body), template_id)
    return _template_out(session, template)


@router.post(
    "/templates/preview",
    response_model=PreviewOut,
    summary="Render a template for a real customer without saving it",
)
def preview_template(
    session: SessionDep, actor: ApiActor, settings: SettingsDep, body: PreviewIn
) -> PreviewOut:
    result = templates_service.preview(
        session,
        actor,
        settings,
        _draft(body.template),
        customer_id=body.customer_id,
        language=body.language,
    )
    gettext = translations(actor.language).gettext
    recipient = result.recipient
    if recipient and not actor.can(Permission.REVEAL_PII):
        recipient = history.mask_address(recipient)
    return PreviewOut(
        language=result.composed.language,
        subject=result.composed.subject,
        body=result.composed.body,
        recipient=recipient,
        will_send=result.will_send,
        reason=gettext(result.reason) if result.reason else None,
    )


# --- channels ------------------------------------------------------------------------------


def _channel_out(channel: Channel, settings: Settings) -> ChannelOut:
    view = channel_service.ChannelView.of(channel, settings)
    return ChannelOut(
        id=view.id,
        name=view.name,
        kind=view.kind,
        settings=view.settings,
        secrets_set=view.secrets_set,
        enabled=view.enabled,
        rate_per_minute=view.rate_per_minute,
        burst=view.burst,
    )


@router.get("/channels", response_model=list[ChannelOut], summary="Message channels")
def list_channels(session: SessionDep, actor: ApiActor, settings: SettingsDep) -> list[ChannelOut]:
    return [_channel_out(c, settings) for c in channel_service.list_channels(session, actor)]


@router.post("/channels", response_model=ChannelOut, status_code=201, summary="Configure a channel")
def create_channel(
    session: SessionDep, actor: ApiActor, settings: SettingsDep, body: ChannelIn
) -> ChannelOut:
    channel = channel_service.create_channel(
        session,
        actor,
        settings,
        kind=body.kind,
        name=body.name,
        values=body.settings,
        rate_per_minute=body.rate_per_minute,
        burst=body.burst,
        enabled=body.enabled,
    )
    return _channel_out(channel, settings)


@router.get("/channels/{channel_id}", response_model=ChannelOut, summary="One channel")
def get_channel(
    session: SessionDep, actor: ApiActor, settings: SettingsDep, channel_id: int
) -> ChannelOut:
    return _channel_out(channel_service.get_channel_for(session, actor, channel_id), settings)


@router.patch("/channels/{channel_id}", response_model=ChannelOut, summary="Change a channel")
def update_channel(
    session: SessionDep, actor: ApiActor, settings: SettingsDep, channel_id: int, body: ChannelPatch
) -> ChannelOut:
    fields = body.model_fields_set
    channel = channel_service.update_channel(
        session,
        actor,
        settings,
        channel_id,
        name=body.name,
        values=body.settings,
        clear_secrets=body.clear_secrets,
        rate_per_minute=body.rate_per_minute if "rate_per_minute" in fields else False,
        burst=body.burst,
        enabled=body.enabled,
    )
    return _channel_out(channel, settings)


@router.delete("/channels/{channel_id}", status_code=204, summary="Remove a channel")
def delete_channel(session: SessionDep, actor: ApiActor, channel_id: int) -> Response:
    channel_service.delete_channel(session, actor, channel_id)
    return Response(status_code=204)


# --- the outbox ----------------------------------------------------------------------------


def message_out(message: OutboxMessage, actor: Actor) -> MessageOut:
    recipient = message.recipient
    if message.customer_id is not None and not actor.can(Permission.REVEAL_PII):
        recipient = history.mask_address(recipient)
    return MessageOut(
        id=message.id,
        idempotency_key=message.idempotency_key,
        channel=ChannelKind(message.channel),
        purpose=message.purpose,
        marketing=message.is_marketing,
        customer_id=message.customer_id,
        campaign_id=message.campaign_id,
        subscription_id=message.subscription_id,
        recipient=recipient,
        language=message.language,
        subject=message.subject,
        body=message.body,
        status=MessageStatus(message.status),
        attempts=message.attempts,
        max_attempts=message.max_attempts,
        next_attempt_at=message.next_attempt_at,
        last_error=message.last_error,
        provider_message_id=message.provider_message_id,
        created_at=message.created_at,
        sent_at=message.sent_at,
    )


@router.get("/messages", response_model=MessagePage, summary="The outbox, newest first")
def list_messages(
    session: SessionDep,
    actor: ApiActor,
    status: Annotated[list[MessageStatus] | None, Query()] = None,
    channel: ChannelKind | None = None,
    purpose: Annotated[str | None, Query(max_length=64)] = None,
    customer_id: int | None = None,
    campaign_id: int | None = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MessagePage:
    result = history.list_messages(
        session,
        actor,
        status=status,
        channel=channel,
        purpose=purpose,
        customer_id=customer_id,
        campaign_id=campaign_id,
        page=page,
        per_page=per_page,
    )
    return MessagePage(
        items=[message_out(m, actor) for m in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
    )


@router.get("/messages/{message_id}", response_model=MessageOut, summary="One message")
def get_message(session: SessionDep, actor: ApiActor, message_id: int) -> MessageOut:
    return message_out(history.get_message_for(session, actor, message_id), actor)


@router.post(
    "/messages/{message_id}/retry", response_model=MessageOut, summary="Retry a dead letter"
)
def retry_message(session: SessionDep, actor: ApiActor, message_id: int) -> MessageOut:
    return message_out(history.retry_message(session, actor, message_id), actor)


@router.post("/messages/{message_id}/cancel", response_model=MessageOut, summary="Cancel a message")
def cancel_message(session: SessionDep, actor: ApiActor, message_id: int) -> MessageOut:
    return message_out(history.cancel_message(session, actor, message_id), actor)
