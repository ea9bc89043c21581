"""Pages: campaigns (dry run, launch, live progress) and the care calendar."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.db import utcnow
from laoke.errors import N_, DomainError, Invalid
from laoke.messaging import campaigns, care, segments, templates_service
from laoke.messaging.models import CAMPAIGN_STATUS_LABELS, MESSAGE_STATUS_LABELS
from laoke.messaging.outbox import SKIP_REASON_LABELS
from laoke.messaging.purposes import CAMPAIGN, HOLIDAY
from laoke.web.deps import CsrfProtected, PageActor, SessionDep
from laoke.web.i18n import translations
from laoke.web.templating import render

router = APIRouter(prefix="/messages", include_in_schema=False, dependencies=[CsrfProtected])


def _explain(actor: Actor, exc: DomainError) -> str:
    gettext = translations(actor.language).gettext
    return gettext(exc.message) % exc.params if exc.params else gettext(exc.message)


def _filters_from(form: Any) -> dict[str, list[str]]:
    return {
        key: [str(v)[:100] for v in form.getlist(f"f_{key}")][:100]
        for key in segments.FILTERS
        if form.getlist(f"f_{key}")
    }


def _form_context(session: Session, actor: Actor) -> dict[str, Any]:
    templates = [
        t
        for t in templates_service.list_templates(session, actor)
        if t.purpose == CAMPAIGN.name and t.is_active
    ]
    options = {
        key: f.options(session, actor.org_id) if f.options else []
        for key, f in segments.FILTERS.items()
    }
    return {
        "templates": templates,
        "filters": segments.FILTERS,
        "options": options,
        "saved_segments": segments.list_segments(session, actor),
        "skip_labels": SKIP_REASON_LABELS,
    }


@router.get("/campaigns")
def campaign_list(request: Request, session: SessionDep, actor: PageActor) -> HTMLResponse:
    return render(
        request,
        "campaigns.html",
        {
            "campaigns": campaigns.list_campaigns(session, actor),
            "status_labels": CAMPAIGN_STATUS_LABELS,
            "can_send": actor.can(Permission.SEND_MESSAGES),
        },
    )


@router.get("/campaigns/new")
def new_campaign(request: Request, session: SessionDep, actor: PageActor) -> HTMLResponse:
    actor.require(Permission.SEND_MESSAGES)
    values = {"name": "", "template_id": "", "per_minute": 200, "coupon": "", "filters": {}}
    return render(
        request,
        "campaign_form.html",
        {"values": values, "error": None, **_form_context(session, actor)},
    )


def _values(form: Any) -> dict[str, Any]:
    per_minute = str(form.get("per_minute", "200"))
    return {
        "name": str(form.get("name", ""))[:120],
        "template_id": str(form.get("template_id", ""))[:12],
        "per_minute": int(per_minute) if per_minute.isdigit() and len(per_minute) < 6 else 0,
        "coupon": str(form.get("coupon", ""))[:300],
        "filters": _filters_from(form),
        "segment_id": str(form.get("segment_id", ""))[:12],
    }


def _template_id(values: dict[str, Any]) -> int:
    if not values["template_id"].isdigit():
        raise Invalid(N_("Choose a template."), field="template_id")
    return int(values["template_id"])


@router.post("/campaigns/dry-run")
async def dry_run(request: Request, session: SessionDep, actor: PageActor) -> HTMLResponse:
    """htmx: how many would get it, how many are skipped and why."""
    values = _values(await request.form())
    try:
        filters = values["filters"]
        if values["segment_id"].isdigit():
            filters = segments.get_segment_for(session, actor, int(values["segment_id"])).filters
        result = campaigns.dry_run(
            session, actor, template_id=_template_id(values), filters=filters
        )
    except DomainError as exc:
        if exc.status == 403:
            raise
        return render(request, "_dry_run.html", {"result": None, "error": _explain(actor, exc)})
    return render(
        request,
        "_dry_run.html",
        {"result": result, "error": None, "skip_labels": SKIP_REASON_LABELS},
    )


@router.post("/campaigns/new")
async def create_campaign(request: Request, session: SessionDep, actor: PageActor) -> Response:
    form = await request.form()
    values = _values(form)
    try:
        segment_id = int(values["segment_id"]) if values["segment_id"].isdigit() else None
        if form.get("save_segment") == "on" and segment_id is None:
            segment_id = segments.save_segment(
                session, actor, name=values["name"], filters=values["filters"]
            ).id
        campaign = campaigns.start_campaign(
            session,
            actor,
            name=values["name"],
            template_id=_template_id(values),
            filters=values["filters"],
            segment_id=segment_id,
            per_minute=values["per_minute"],
            coupon=values["coupon"],
        )
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        session.rollback()
        return render(
            request,
            "campaign_form.html",
            {"values": values, "error": _explain(actor, exc), **_form_context(session, actor)},
            status_code=exc.status,
        )
    return RedirectResponse(f"/messages/campaigns/{campaign.id}", status_code=303)


def _progress_context(session: Session, actor: Actor, campaign_id: int) -> dict[str, Any]:
    campaign = campaigns.get_campaign_for(session, actor, campaign_id)
    counts = campaigns.progress(session, actor, campaign.id)
    done = counts["sent"] + counts["failed"] + counts["dead"] + counts["cancelled"]
    skipped = sum((campaign.skipped or {}).values())
    considered = campaign.enqueued + skipped
    return {
        "campaign": campaign,
        "counts": counts,
        "done": done,
        "skipped_total": skipped,
        "percent_enqueued": round(100 * considered / campaign.audience)
        if campaign.audience
        else 100,
        "percent_done": round(100 * done / campaign.enqueued) if campaign.enqueued else 0,
        "polling": campaign.status == "running" or counts["queued"] + counts["sending"] > 0,
        "status_labels": CAMPAIGN_STATUS_LABELS,
        "message_labels": MESSAGE_STATUS_LABELS,
        "skip_labels": SKIP_REASON_LABELS,
    }


@router.get("/campaigns/{campaign_id}")
def campaign_detail(
    request: Request, session: SessionDep, actor: PageActor, campaign_id: int
) -> HTMLResponse:
    context = _progress_context(session, actor, campaign_id)
    context["can_send"] = actor.can(Permission.SEND_MESSAGES)
    return render(request, "campaign_detail.html", context)


@router.get("/campaigns/{campaign_id}/progress")
def campaign_progress(
    request: Request, session: SessionDep, actor: PageActor, campaign_id: int
) -> HTMLResponse:
    """htmx polling target: the progress card, which stops polling when all is done."""
    return render(
        request, "_campaign_progress.html", _progress_context(session, actor, campaign_id)
    )


@router.post("/campaigns/{campaign_id}/cancel")
def cancel_campaign(session: SessionDep, actor: PageActor, campaign_id: int) -> Response:
    campaigns.cancel_campaign(session, actor, campaign_id)
    return RedirectResponse(f"/messages/campaigns/{campaign_id}", status_code=303)


# --- care calendar ---------------------------------------------------------------------------


def _care_page(
    request: Request,
    session: Session,
    actor: Actor,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    org = request.state.org
    today = care.local_today(utcnow(), org.timezone)
    holiday_templates = [
        t for t in templates_service.list_templates(session, actor) if t.purpose == HOLIDAY.name
    ]
    return render(
        request,
        "care.html",
        {
            "birthdays": care.upcoming_birthdays(session, actor, today),
            "holidays": care.list_holidays(session, actor),
            "holiday_templates": holiday_templates,
            "today": today,
            "error": error,
            "can_send": actor.can(Permission.SEND_MESSAGES),
        },
        status_code=status_code,
    )


@router.get("/care")
def care_page(request: Request, session: SessionDep, actor: PageActor) -> HTMLResponse:
    return _care_page(request, session, actor)


@router.post("/care/holidays")
async def add_holiday(request: Request, session: SessionDep, actor: PageActor) -> Response:
    form = await request.form()
    try:
        try:
            on_date = date.fromisoformat(str(form.get("on_date", ""))[:10])
        except ValueError:
            raise Invalid(N_("Enter a date like 2026-10-01."), field="on_date") from None
        template_id = str(form.get("template_id", ""))
        if not template_id.isdigit() or len(template_id) > 12:
            raise Invalid(N_("Choose a template."), field="template_id")
        care.add_holiday(
            session,
            actor,
            on_date=on_date,
            name=str(form.get("name", ""))[:120],
            template_id=int(template_id),
        )
    except DomainError as exc:
        if exc.status == 403:
            raise
        session.rollback()
        return _care_page(request, session, actor, _explain(actor, exc), exc.status)
    return RedirectResponse("/messages/care", status_code=303)


@router.post("/care/holidays/{holiday_id}/delete")
def remove_holiday(session: SessionDep, actor: PageActor, holiday_id: int) -> Response:
    care.remove_holiday(session, actor, holiday_id)
    return RedirectResponse("/messages/care", status_code=303)
