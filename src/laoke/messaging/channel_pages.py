"""Pages: channels (secrets shown only as "set") and event webhooks with their log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.config import Settings
from laoke.errors import DomainError
from laoke.messaging import channel_service, webhooks
from laoke.messaging.channels import SPECS, spec_for
from laoke.messaging.models import CHANNEL_KIND_LABELS, ChannelKind
from laoke.messaging.pages import common
from laoke.web.deps import CsrfProtected, PageActor, SessionDep, SettingsDep
from laoke.web.i18n import translations
from laoke.web.templating import render

router = APIRouter(prefix="/messages", include_in_schema=False, dependencies=[CsrfProtected])


def _explain(actor: Actor, exc: DomainError) -> str:
    gettext = translations(actor.language).gettext
    return gettext(exc.message) % exc.params if exc.params else gettext(exc.message)


def _int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 7 else None


@router.get("/channels")
def channel_list(
    request: Request, session: SessionDep, actor: PageActor, settings: SettingsDep
) -> HTMLResponse:
    views = [
        channel_service.ChannelView.of(c, settings)
        for c in channel_service.list_channels(session, actor)
    ]
    return render(
        request,
        "channels.html",
        {"channels": views, "kinds": list(ChannelKind), "kind_labels": CHANNEL_KIND_LABELS},
    )


def _channel_form(
    request: Request,
    actor: Actor,
    kind: ChannelKind,
    view: channel_service.ChannelView | None,
    values: dict[str, Any],
    error: DomainError | None = None,
) -> HTMLResponse:
    return render(
        request,
        "channel_form.html",
        {
            "spec": SPECS[kind],
            "kind": kind,
            "kind_labels": CHANNEL_KIND_LABELS,
            "view": view,
            "values": values,
            "error": _explain(actor, error) if error else None,
            "error_field": error.field if error else None,
        },
        status_code=error.status if error else 200,
    )


@router.get("/channels/new")
def new_channel(request: Request, actor: PageActor, kind: str = "smtp") -> HTMLResponse:
    actor.require(Permission.MANAGE_SETTINGS)
    spec = spec_for(kind)
    values = {f.name: f.default if f.default is not None else "" for f in spec.public_fields}
    values.update(name="", rate_per_minute=spec.default_rate_per_minute or "", burst=1)
    return _channel_form(request, actor, spec.kind, None, values)


@router.get("/channels/{channel_id}")
def edit_channel(
    request: Request, session: SessionDep, actor: PageActor, settings: SettingsDep, channel_id: int
) -> HTMLResponse:
    view = channel_service.ChannelView.of(
        channel_service.get_channel_for(session, actor, channel_id), settings
    )
    values = {**view.settings, "name": view.name, "enabled": view.enabled}
    values.update(rate_per_minute=view.rate_per_minute or "", burst=view.burst)
    return _channel_form(request, actor, view.kind, view, values)


def _submitted(form: Any, kind: ChannelKind) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in SPECS[kind].fields:
        if field.type == "bool":
            values[field.name] = form.get(field.name) == "on"
        else:
            values[field.name] = str(form.get(field.name, ""))[: field.max_length + 10]
    return values


async def _save(
    request: Request, session: Any, actor: Actor, settings: Settings, channel_id: int | None
) -> Response:
    form = await request.form()
    view = None
    if channel_id is not None:
        channel = channel_service.get_channel_for(session, actor, channel_id)
        view = channel_service.ChannelView.of(channel, settings)
        kind = view.kind
    else:
        kind = spec_for(str(form.get("kind", ""))).kind
    values = _submitted(form, kind)
    name = str(form.get("name", ""))[:120]
    rate, burst = _int(form.get("rate_per_minute")), _int(form.get("burst"))
    try:
        if channel_id is None:
            channel = channel_service.create_channel(
                session, actor, settings, kind=kind, name=name, values=values,
                rate_per_minute=rate, burst=burst, enabled=form.get("enabled") == "on",
            )  # fmt: skip
        else:
            cleared = [
                f.name for f in SPECS[kind].secret_fields if form.get(f"clear_{f.name}") == "on"
            ]
            channel = channel_service.update_channel(
                session, actor, settings, channel_id, name=name, values=values,
                clear_secrets=cleared, rate_per_minute=rate, burst=burst,
                enabled=form.get("enabled") == "on",
            )  # fmt: skip
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        session.rollback()
        shown = {
            k: v
            for k, v in values.items()
            if not SPECS[kind].fields or k not in {f.name for f in SPECS[kind].secret_fields}
        }
        shown.update(name=name, rate_per_minute=rate or "", burst=burst or 1)
        return _channel_form(request, actor, kind, view, shown, exc)
    return RedirectResponse(f"/messages/channels/{channel.id}?saved=1", status_code=303)


@router.post("/channels/new")
async def create_channel(
    request: Request, session: SessionDep, actor: PageActor, settings: SettingsDep
) -> Response:
    return await _save(request, session, actor, settings, None)


@router.post("/channels/{channel_id}")
async def update_channel(
    request: Request, session: SessionDep, actor: PageActor, settings: SettingsDep, channel_id: int
) -> Response:
    return await _save(request, session, actor, settings, channel_id)


@router.post("/channels/{channel_id}/delete")
def delete_channel(session: SessionDep, actor: PageActor, channel_id: int) -> Response:
    channel_service.delete_channel(session, actor, channel_id)
    return RedirectResponse("/messages/channels", status_code=303)


# --- event webhooks ---------------------------------------------------------------------------


def _webhooks_page(
    request: Request,
    session: Any,
    actor: Actor,
    *,
    new_secret: str | None = None,
    error: str | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "webhooks.html",
        {
            "subscriptions": webhooks.list_subscriptions(session, actor),
            "known_events": webhooks.KNOWN_EVENTS,
            "new_secret": new_secret,
            "error": error,
            "values": values or {"url": "", "events": [], "other": "", "description": ""},
        },
        status_code=status_code,
    )


@router.get("/webhooks")
def webhook_list(request: Request, session: SessionDep, actor: PageActor) -> HTMLResponse:
    return _webhooks_page(request, session, actor)


@router.post("/webhooks")
async def create_webhook(
    request: Request, session: SessionDep, actor: PageActor, settings: SettingsDep
) -> Response:
    form = await request.form()
    events = [str(e)[:64] for e in form.getlist("events")][:50]
    other = str(form.get("other", ""))[:2000]
    events += [e for e in other.replace(",", " ").split() if e][:50]
    values = {
        "url": str(form.get("url", ""))[:2100],
        "events": events,
        "other": other,
        "description": str(form.get("description", ""))[:300],
    }
    try:
        _sub, secret = webhooks.create_subscription(
            session,
            actor,
            settings,
            url=values["url"],
            secret=str(form.get("secret", ""))[:300] or None,
            events=events,
            description=values["description"],
        )
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        session.rollback()
        return _webhooks_page(
            request,
            session,
            actor,
            error=_explain(actor, exc),
            values=values,
            status_code=exc.status,
        )
    return _webhooks_page(request, session, actor, new_secret=secret)


@router.get("/webhooks/{subscription_id}")
def webhook_detail(
    request: Request, session: SessionDep, actor: PageActor, subscription_id: int, page: int = 1
) -> HTMLResponse:
    sub = webhooks.get_subscription_for(session, actor, subscription_id)
    items, total = webhooks.deliveries(session, actor, subscription_id, page=page)
    pages = max(1, -(-total // 50))
    result = {"page": max(page, 1), "pages": pages}
    return render(
        request,
        "webhook_detail.html",
        {"sub": sub, "messages": items, "result": result, "query": "", **common(actor)},
    )


@router.post("/webhooks/{subscription_id}/toggle")
def toggle_webhook(
    session: SessionDep, actor: PageActor, settings: SettingsDep, subscription_id: int
) -> Response:
    sub = webhooks.get_subscription_for(session, actor, subscription_id)
    webhooks.update_subscription(session, actor, settings, sub.id, enabled=not sub.enabled)
    return RedirectResponse(f"/messages/webhooks/{subscription_id}", status_code=303)


@router.post("/webhooks/{subscription_id}/delete")
def delete_webhook(session: SessionDep, actor: PageActor, subscription_id: int) -> Response:
    webhooks.delete_subscription(session, actor, subscription_id)
    return RedirectResponse("/messages/webhooks", status_code=303)
