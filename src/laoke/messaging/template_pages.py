"""Pages: templates, edited per language and previewed with a real customer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.config import Language
from laoke.customers import service as customers
from laoke.errors import N_, DomainError, NotFound
from laoke.messaging import history, templates_service
from laoke.messaging.compose import Text
from laoke.messaging.models import CHANNEL_KIND_LABELS, ChannelKind, MessageTemplate
from laoke.messaging.purposes import PURPOSES
from laoke.web.deps import CsrfProtected, PageActor, SessionDep, SettingsDep
from laoke.web.i18n import translations
from laoke.web.templating import render

router = APIRouter(
    prefix="/messages/templates", include_in_schema=False, dependencies=[CsrfProtected]
)
LANGS = [lang.value for lang in Language]


def _values(template: MessageTemplate | None, texts: dict[str, Text]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": template.name if template else "",
        "purpose": template.purpose if template else "campaign.message",
        "channel": template.channel if template else ChannelKind.SMTP.value,
        "is_active": template.is_active if template else True,
    }
    for lang in LANGS:
        text = texts.get(lang)
        values[f"subject_{lang}"] = (text.subject or "") if text else ""
        values[f"body_{lang}"] = text.body if text else ""
    return values


def _from_form(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        key: str(form.get(key, ""))[:6000] for key in ("name", "purpose", "channel", "customer")
    }
    values["is_active"] = form.get("is_active") == "on"
    for lang in LANGS:
        values[f"subject_{lang}"] = str(form.get(f"subject_{lang}", ""))[:400]
        values[f"body_{lang}"] = str(form.get(f"body_{lang}", ""))[:6000]
    return values


def _draft(values: dict[str, Any]) -> templates_service.Draft:
    return templates_service.Draft(
        name=values["name"],
        purpose=values["purpose"],
        channel=values["channel"],
        texts={
            lang: Text(values[f"subject_{lang}"] or None, values[f"body_{lang}"]) for lang in LANGS
        },
        is_active=values["is_active"],
    )


def _form(
    request: Request,
    actor: Actor,
    template: MessageTemplate | None,
    values: dict[str, Any],
    error: DomainError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    gettext = translations(actor.language).gettext
    detail = None
    if error is not None:
        detail = gettext(error.message) % error.params if error.params else gettext(error.message)
    return render(
        request,
        "template_form.html",
        {
            "template": template,
            "values": values,
            "error": detail,
            "error_field": error.field if error else None,
            "purposes": sorted(PURPOSES.values(), key=lambda p: p.name),
            "kinds": list(ChannelKind),
            "kind_labels": CHANNEL_KIND_LABELS,
            "langs": LANGS,
            "can_edit": actor.can(Permission.SEND_MESSAGES),
        },
        status_code=status_code,
    )


@router.get("")
def template_list(request: Request, session: SessionDep, actor: PageActor) -> HTMLResponse:
    templates = templates_service.list_templates(session, actor)
    return render(
        request,
        "templates_list.html",
        {
            "templates": templates,
            "purposes": PURPOSES,
            "kind_labels": CHANNEL_KIND_LABELS,
            "can_edit": actor.can(Permission.SEND_MESSAGES),
        },
    )


@router.get("/new")
def new_template(request: Request, actor: PageActor) -> HTMLResponse:
    actor.require(Permission.SEND_MESSAGES)
    return _form(request, actor, None, _values(None, {}))


@router.get("/{template_id}")
def edit_template(
    request: Request, session: SessionDep, actor: PageActor, template_id: int
) -> HTMLResponse:
    template = templates_service.get_template_for(session, actor, template_id)
    texts = templates_service.texts_of(session, template)
    return _form(request, actor, template, _values(template, texts))


async def _save(
    request: Request, session: Session, actor: Actor, template_id: int | None
) -> Response:
    values = _from_form(await request.form())
    template = (
        templates_service.get_template_for(session, actor, template_id) if template_id else None
    )
    try:
        saved = templates_service.save_template(session, actor, _draft(values), template_id)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        session.rollback()
        return _form(request, actor, template, values, exc, exc.status)
    return RedirectResponse(f"/messages/templates/{saved.id}?saved=1", status_code=303)


@router.post("/new")
async def create_template(request: Request, session: SessionDep, actor: PageActor) -> Response:
    return await _save(request, session, actor, None)


@router.post("/{template_id}")
async def update_template(
    request: Request, session: SessionDep, actor: PageActor, template_id: int
) -> Response:
    return await _save(request, session, actor, template_id)


@router.post("/preview/render")
async def preview(
    request: Request, session: SessionDep, actor: PageActor, settings: SettingsDep
) -> HTMLResponse:
    """htmx: the form as it would reach the chosen customer (nothing is saved)."""
    values = _from_form(await request.form())
    gettext = translations(actor.language).gettext
    context: dict[str, Any] = {"preview": None, "error": None, "customer": None}
    try:
        customer_id = _find_customer(session, actor, values["customer"])
        result = templates_service.preview(
            session, actor, settings, _draft(values), customer_id=customer_id
        )
        recipient = result.recipient
        if recipient and not actor.can(Permission.REVEAL_PII):
            recipient = history.mask_address(recipient)
        context.update(
            preview=result,
            recipient=recipient,
            reason=gettext(result.reason) if result.reason else None,
            customer=customers.get_customer_for(session, actor, customer_id)
            if customer_id
            else None,
        )
    except DomainError as exc:
        context["error"] = gettext(exc.message) % exc.params if exc.params else gettext(exc.message)
    return render(request, "_template_preview.html", context)


def _find_customer(session: Session, actor: Actor, text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    found = customers.search_customers(
        session, actor, customers.CustomerQuery(q=text[:100], per_page=1)
    )
    if not found.items:
        raise NotFound(N_("No such customer."), code="customer_not_found")
    return found.items[0].id
