"""Staff pages: the lead list and board, a lead's page, "who referred you?" entry, the
program list and form, my staff QR, and a customer's referral panel (lineage, code, portal)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from laoke.accounts.models import User
from laoke.accounts.roles import Permission
from laoke.accounts.service import list_staff
from laoke.customers.models import Customer
from laoke.customers.phones import mask_phone
from laoke.customers.service import get_customer_for
from laoke.customers.stages import LIFECYCLE_LABELS, LifecycleStage
from laoke.errors import DomainError
from laoke.fraud import review as fraud_review
from laoke.fraud.models import CHECK_STATUS_LABELS
from laoke.fraud.rules import INPUT_LABELS as FRAUD_INPUTS
from laoke.fraud.rules import REASONS as FRAUD_REASONS
from laoke.referrals import codes, leads, lineage, portal, programs, sharing
from laoke.referrals.codes import link_for
from laoke.referrals.models import (
    ATTRIBUTION_LABELS,
    ELIGIBILITY_LABELS,
    LEAD_SOURCE_LABELS,
    LEAD_STATUS_LABELS,
    PROGRAM_STATUS_LABELS,
    QUALIFYING_EVENT_LABELS,
    Eligibility,
    LeadStatus,
    ProgramStatus,
    QualifyingEvent,
)
from laoke.referrals.schemas import LeadCreate, LeadUpdate, ProgramCreate, ProgramUpdate
from laoke.web.deps import CsrfProtected, PageActor, SessionDep, SettingsDep
from laoke.web.templating import render

router = APIRouter(prefix="/referrals", include_in_schema=False, dependencies=[CsrfProtected])

LABELS = {
    "status_labels": LEAD_STATUS_LABELS,
    "attribution_labels": ATTRIBUTION_LABELS,
    "source_labels": LEAD_SOURCE_LABELS,
    "statuses": list(LeadStatus),
    "mask_phone": mask_phone,
}


def _staff_names(session: Any, org_id: int) -> dict[int, str]:
    return dict(session.execute(select(User.id, User.name).where(User.org_id == org_id)).all())


@router.get("")
def lead_list(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    view: str = "list",
    status: str = "",
    owner_id: str = "",
) -> HTMLResponse:
    chosen = LeadStatus(status) if status in set(LeadStatus) else None
    owner = int(owner_id) if owner_id.isdigit() else None
    rows, total = leads.list_leads(session, actor, status=chosen, owner_id=owner, limit=500)
    board = {s: [lead for lead in rows if lead.status == s] for s in LeadStatus}
    context = {
        **LABELS,
        "rows": rows,
        "total": total,
        "board": board,
        "view": "board" if view == "board" else "list",
        "status": status,
        "owner_id": owner_id,
        "staff": list_staff(session, actor) if actor.can(Permission.SEE_ALL_CUSTOMERS) else [],
        "names": _staff_names(session, actor.org_id),
    }
    return render(request, "leads.html", context)


def _entry_form(
    request: Request, session: Any, actor: Any, values: dict[str, str], **extra: Any
) -> HTMLResponse:
    context = {
        "values": values,
        "candidates": [],
        "error": None,
        "programs": programs.running_programs(session, actor.org_id),
        "mask_phone": mask_phone,
        **extra,
    }
    return render(request, "lead_new.html", context, status_code=422 if extra.get("error") else 200)


@router.get("/leads/new")
def new_lead(request: Request, session: SessionDep, actor: PageActor) -> HTMLResponse:
    actor.require(Permission.EDIT_CUSTOMERS)
    return _entry_form(request, session, actor, {})


@router.post("/leads/new")
def create_lead(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    referrer_q: Annotated[str, Form(max_length=200)] = "",
    referrer_customer_id: Annotated[str, Form(max_length=20)] = "",
    name: Annotated[str, Form(max_length=2000)] = "",
    phone: Annotated[str, Form(max_length=200)] = "",
    program_id: Annotated[str, Form(max_length=20)] = "",
    consent: Annotated[str, Form(max_length=10)] = "",
    notes: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    actor.require(Permission.EDIT_CUSTOMERS)
    values = {"referrer_q": referrer_q, "name": name, "phone": phone, "notes": notes}
    code = codes.clean_code(referrer_q) if referrer_q else None
    if not referrer_customer_id.isdigit() and code is None:
        candidates = leads.find_referrers(session, actor, referrer_q)
        return _entry_form(
            request,
            session,
            actor,
            values,
            candidates=candidates,
            choose=bool(candidates),
            error=None if candidates else "no_referrer",
        )
    try:
        body = LeadCreate(
            code=code if not referrer_customer_id.isdigit() else None,
            referrer_customer_id=int(referrer_customer_id)
            if referrer_customer_id.isdigit()
            else None,
            program_id=int(program_id) if program_id.isdigit() else None,
            name=name.strip()[:100] or "-",
            phone=phone.strip()[:40] or "-",
            consent=bool(consent),
            notes=notes.strip() or None,
        )
        lead = leads.create_lead(session, actor, body)
    except (DomainError, ValidationError) as exc:
        return _entry_form(request, session, actor, values, error=exc)
    session.commit()
    return RedirectResponse(f"/referrals/leads/{lead.id}", status_code=303)


@router.get("/leads/{lead_id}")
def lead_detail(
    request: Request, session: SessionDep, actor: PageActor, lead_id: int, error: str = ""
) -> HTMLResponse:
    lead = leads.get_lead_for(session, actor, lead_id)
    referrer = (
        session.get(Customer, lead.referrer_customer_id) if lead.referrer_customer_id else None
    )
    context = {
        **LABELS,
        "lead": lead,
        "referrer": referrer,
        "history": leads.history(session, lead),
        "names": _staff_names(session, actor.org_id),
        "staff": list_staff(session, actor) if actor.can(Permission.SEE_ALL_CUSTOMERS) else [],
        "can_edit": actor.can(Permission.EDIT_CUSTOMERS),
        "error": error,
        "fraud_check": fraud_review.check_of(session, actor.org_id, lead.id),
        "fraud_labels": CHECK_STATUS_LABELS,
        "fraud_reasons": FRAUD_REASONS,
        "fraud_inputs": FRAUD_INPUTS,
    }
    return render(request, "lead_detail.html", context)


@router.post("/leads/{lead_id}")
def update_lead(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    lead_id: int,
    status: Annotated[str, Form(max_length=20)] = "",
    lost_reason: Annotated[str, Form(max_length=200)] = "",
    owner_id: Annotated[str, Form(max_length=20)] = "",
    next_step: Annotated[str, Form(max_length=300)] = "",
    next_step_on: Annotated[str, Form(max_length=20)] = "",
    notes: Annotated[str, Form(max_length=5000)] = "",
    referee_customer_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    fields: dict[str, Any] = {"next_step": next_step, "notes": notes}
    if status:
        fields["status"] = status
    if lost_reason.strip():
        fields["lost_reason"] = lost_reason.strip()
    if owner_id.isdigit():
        fields["owner_id"] = int(owner_id)
    fields["next_step_on"] = next_step_on or None
    if referee_customer_id.isdigit():
        fields["referee_customer_id"] = int(referee_customer_id)
    lead = leads.get_lead_for(session, actor, lead_id, edit=True)
    if fields.get("owner_id") == lead.owner_id:
        fields.pop("owner_id")
    try:
        leads.update_lead(session, actor, lead_id, LeadUpdate(**fields))
    except ValidationError:
        session.rollback()
        return RedirectResponse(f"/referrals/leads/{lead_id}?error=invalid", status_code=303)
    except DomainError as exc:
        session.rollback()
        if exc.status in (403, 404):
            raise
        return RedirectResponse(f"/referrals/leads/{lead_id}?error={exc.code}", status_code=303)
    session.commit()
    return RedirectResponse(f"/referrals/leads/{lead_id}", status_code=303)


# --- programs -----------------------------------------------------------------------------


def _program_context(values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "values": values,
        "statuses": list(ProgramStatus),
        "status_labels": PROGRAM_STATUS_LABELS,
        "eligibilities": list(Eligibility),
        "eligibility_labels": ELIGIBILITY_LABELS,
        "events": list(QualifyingEvent),
        "event_labels": QUALIFYING_EVENT_LABELS,
        "stages": list(LifecycleStage),
        "stage_labels": LIFECYCLE_LABELS,
        "error": None,
        **extra,
    }


@router.get("/programs")
def program_list(request: Request, session: SessionDep, actor: PageActor) -> HTMLResponse:
    context = {
        "programs": programs.list_programs(session, actor.org_id),
        "status_labels": PROGRAM_STATUS_LABELS,
        "event_labels": QUALIFYING_EVENT_LABELS,
        "can_edit": actor.can(Permission.MANAGE_SETTINGS),
    }
    return render(request, "programs.html", context)


def _program_values(program: Any) -> dict[str, Any]:
    return {
        "id": program.id,
        "name": program.name,
        "status": program.status,
        "starts_on": program.starts_on.isoformat() if program.starts_on else "",
        "ends_on": program.ends_on.isoformat() if program.ends_on else "",
        "eligibility": program.eligibility,
        "eligible_stages": list(program.eligible_stages),
        "eligible_tags": ", ".join(program.eligible_tags),
        "referrer_offer_text": program.referrer_offer_text,
        "referee_offer_text": program.referee_offer_text,
        "qualifying_event": program.qualifying_event,
        "qualifying_amount": str(program.qualifying_amount or ""),
        "attribution_window_days": program.attribution_window_days,
    }


@router.get("/programs/new")
def new_program(request: Request, actor: PageActor) -> HTMLResponse:
    actor.require(Permission.MANAGE_SETTINGS)
    defaults = {
        "id": None,
        "status": ProgramStatus.ACTIVE,
        "eligibility": Eligibility.ANY_CUSTOMER,
        "qualifying_event": QualifyingEvent.FIRST_PURCHASE,
        "attribution_window_days": 30,
        "eligible_stages": [],
    }
    return render(request, "program_form.html", _program_context(defaults))


@router.get("/programs/{program_id}")
def edit_program(
    request: Request, session: SessionDep, actor: PageActor, program_id: int
) -> HTMLResponse:
    actor.require(Permission.MANAGE_SETTINGS)
    program = programs.get_program(session, actor, program_id)
    return render(request, "program_form.html", _program_context(_program_values(program)))


async def _program_form(request: Request) -> dict[str, Any]:
    form = await request.form()
    amount: Decimal | None = None
    raw_amount = str(form.get("qualifying_amount", "")).strip()[:20]
    if raw_amount:
        try:
            amount = Decimal(raw_amount)
        except InvalidOperation:
            amount = Decimal(-1)
    window = str(form.get("attribution_window_days", "30")).strip()
    return {
        "name": str(form.get("name", ""))[:200],
        "status": str(form.get("status", "active")),
        "starts_on": str(form.get("starts_on", "")) or None,
        "ends_on": str(form.get("ends_on", "")) or None,
        "eligibility": str(form.get("eligibility", "any_customer")),
        "eligible_stages": [str(v) for v in form.getlist("eligible_stages")][:20],
        "eligible_tags": list(str(form.get("eligible_tags", ""))[:1000].split(","))[:30],
        "referrer_offer_text": str(form.get("referrer_offer_text", ""))[:1000],
        "referee_offer_text": str(form.get("referee_offer_text", ""))[:1000],
        "qualifying_event": str(form.get("qualifying_event", "first_purchase")),
        "qualifying_amount": amount,
        "attribution_window_days": int(window) if window.isdigit() else 0,
    }


@router.post("/programs/new")
async def create_program(request: Request, session: SessionDep, actor: PageActor) -> Response:
    actor.require(Permission.MANAGE_SETTINGS)
    data = await _program_form(request)
    try:
        program = programs.create_program(session, actor, ProgramCreate(**data))
    except (DomainError, ValidationError) as exc:
        session.rollback()
        shown = {**data, "id": None, "eligible_tags": ", ".join(data["eligible_tags"])}
        return render(
            request, "program_form.html", _program_context(shown, error=exc), status_code=422
        )
    session.commit()
    return RedirectResponse(f"/referrals/programs/{program.id}", status_code=303)


@router.post("/programs/{program_id}")
async def save_program(
    request: Request, session: SessionDep, actor: PageActor, program_id: int
) -> Response:
    actor.require(Permission.MANAGE_SETTINGS)
    programs.get_program(session, actor, program_id)
    data = await _program_form(request)
    try:
        programs.update_program(session, actor, program_id, ProgramUpdate(**data))
    except (DomainError, ValidationError) as exc:
        session.rollback()
        shown = {**data, "id": program_id, "eligible_tags": ", ".join(data["eligible_tags"])}
        return render(
            request, "program_form.html", _program_context(shown, error=exc), status_code=422
        )
    session.commit()
    return RedirectResponse("/referrals/programs", status_code=303)


# --- staff QR and the customer panel ------------------------------------------------------


@router.get("/my-code")
def my_code(
    request: Request, session: sharing.WriteSessionDep, settings: SettingsDep, actor: PageActor
) -> HTMLResponse:
    code = sharing.staff_code_for(session, actor, actor.user_id or 0)
    session.commit()
    return render(request, "my_code.html", {"link": link_for(settings.base_url, code.code)})


@router.get("/customers/{customer_id}")
def customer_panel(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: PageActor,
    customer_id: int,
    portal_link: str = "",
) -> HTMLResponse:
    customer = get_customer_for(session, actor, customer_id)
    code = codes.existing_customer_code(session, customer)
    context = {
        "customer": customer,
        "lineage": lineage.lineage(session, customer),
        "link": link_for(settings.base_url, code.code) if code else None,
        "status_labels": LEAD_STATUS_LABELS,
        "portal_links": portal.active_links(session, customer),
        "can_edit": actor.can(Permission.EDIT_CUSTOMERS) and customer.is_active,
        "eligible": bool(programs.shareable_programs(session, customer)),
    }
    return render(request, "_referral_panel.html", context)


@router.post("/customers/{customer_id}/code")
def create_customer_code(session: SessionDep, actor: PageActor, customer_id: int) -> Response:
    actor.require(Permission.EDIT_CUSTOMERS)
    sharing.customer_code_for(session, actor, customer_id)
    session.commit()
    return RedirectResponse(f"/customers/{customer_id}", status_code=303)


@router.post("/customers/{customer_id}/portal-link")
def create_portal_link(
    request: Request, session: SessionDep, settings: SettingsDep, actor: PageActor, customer_id: int
) -> HTMLResponse:
    secret = portal.create_link(session, actor, customer_id)
    session.commit()
    return render(
        request,
        "portal_link.html",
        {"url": f"{settings.base_url}/me/{secret}", "customer_id": customer_id},
    )


@router.post("/customers/{customer_id}/portal-link/revoke")
def revoke_portal_links(session: SessionDep, actor: PageActor, customer_id: int) -> Response:
    portal.revoke_links(session, actor, customer_id)
    session.commit()
    return RedirectResponse(f"/customers/{customer_id}", status_code=303)
