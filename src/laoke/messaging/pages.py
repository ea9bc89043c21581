"""Pages: the outbox, one message, dead letters, quiet hours and sender."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.errors import N_, DomainError
from laoke.messaging import history, preferences
from laoke.messaging.models import (
    CHANNEL_KIND_LABELS,
    MESSAGE_STATUS_LABELS,
    UNDELIVERED,
    ChannelKind,
    MessageStatus,
    OutboxMessage,
)
from laoke.messaging.purposes import PURPOSES
from laoke.web.deps import CsrfProtected, PageActor, SessionDep
from laoke.web.i18n import translations
from laoke.web.templating import render

router = APIRouter(prefix="/messages", include_in_schema=False, dependencies=[CsrfProtected])


def common(actor: Actor) -> dict[str, Any]:
    """What every messaging page's template needs to show messages."""
    gettext = translations(actor.language).gettext

    def recipient(message: OutboxMessage) -> str:
        if message.customer_id is not None and not actor.can(Permission.REVEAL_PII):
            return history.mask_address(message.recipient)
        return message.recipient

    def purpose_label(name: str) -> str:
        purpose = PURPOSES.get(name)
        return gettext(purpose.label) if purpose else name

    return {
        "status_labels": MESSAGE_STATUS_LABELS,
        "kind_labels": CHANNEL_KIND_LABELS,
        "recipient": recipient,
        "purpose_label": purpose_label,
        "can_send": actor.can(Permission.SEND_MESSAGES),
    }


@router.get("")
def outbox(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    status: str = "",
    channel: str = "",
    campaign: str = "",
    page: int = 1,
) -> HTMLResponse:
    chosen = [MessageStatus(status)] if status in MessageStatus.__members__.values() else None
    kind = ChannelKind(channel) if channel in ChannelKind.__members__.values() else None
    campaign_id = int(campaign) if campaign.isdigit() and len(campaign) < 12 else None
    result = history.list_messages(
        session, actor, status=chosen, channel=kind, campaign_id=campaign_id, page=max(page, 1)
    )
    context = {
        "result": result,
        "messages": result.items,
        "status": status if chosen else "",
        "counts": history.status_counts(session, actor),
        "query": urlencode({"status": status, "channel": channel, "campaign": campaign}),
        **common(actor),
    }
    return render(request, "outbox.html", context)


@router.get("/dead")
def dead_letters(
    request: Request, session: SessionDep, actor: PageActor, page: int = 1
) -> HTMLResponse:
    result = history.list_messages(session, actor, status=list(UNDELIVERED), page=page)
    context = {"result": result, "messages": result.items, "query": "", **common(actor)}
    return render(request, "dead_letters.html", context)


@router.get("/m/{message_id}")
def message_detail(
    request: Request, session: SessionDep, actor: PageActor, message_id: int, notice: str = ""
) -> HTMLResponse:
    message = history.get_message_for(session, actor, message_id)
    notices = {
        "retried": N_("The message is queued again."),
        "cancelled": N_("The message is cancelled."),
    }
    context = {"message": message, "notice": notices.get(notice), **common(actor)}
    return render(request, "message_detail.html", context)


@router.post("/m/{message_id}/retry")
def retry(session: SessionDep, actor: PageActor, message_id: int) -> Response:
    history.retry_message(session, actor, message_id)
    return RedirectResponse(f"/messages/m/{message_id}?notice=retried", status_code=303)


@router.post("/m/{message_id}/cancel")
def cancel(session: SessionDep, actor: PageActor, message_id: int) -> Response:
    history.cancel_message(session, actor, message_id)
    return RedirectResponse(f"/messages/m/{message_id}?notice=cancelled", status_code=303)


@router.get("/settings")
def settings_page(
    request: Request, session: SessionDep, actor: PageActor, saved: str = ""
) -> HTMLResponse:
    actor.require(Permission.MANAGE_SETTINGS)
    prefs = preferences.load(session, actor.org_id)
    return render(
        request, "messaging_settings.html", {"prefs": prefs, "saved": bool(saved), "error": None}
    )


@router.post("/settings")
def save_settings(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    quiet_start: Annotated[str, Form(max_length=5)],
    quiet_end: Annotated[str, Form(max_length=5)],
    quiet_enabled: Annotated[str, Form(max_length=5)] = "",
    sender_name: Annotated[str, Form(max_length=200)] = "",
    birthday_coupon: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    try:
        preferences.save(
            session,
            actor,
            quiet_enabled=quiet_enabled == "on",
            quiet_start=quiet_start,
            quiet_end=quiet_end,
            sender_name=sender_name,
            birthday_coupon=birthday_coupon,
        )
    except DomainError as exc:
        if exc.status != 422:
            raise
        session.rollback()
        gettext = translations(actor.language).gettext
        prefs = preferences.load(session, actor.org_id)
        detail = gettext(exc.message) % exc.params if exc.params else gettext(exc.message)
        return render(
            request,
            "messaging_settings.html",
            {"prefs": prefs, "saved": False, "error": detail},
            422,
        )
    return RedirectResponse("/messages/settings?saved=1", status_code=303)
