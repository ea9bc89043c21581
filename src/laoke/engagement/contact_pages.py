"""Pages: log a contact in two taps, add notes and a next step, close tasks, set the
relationship stage, page through the customer timeline.

The partials (`_log_contact.html`, `_relationship_stage.html`, `_customer_timeline.html`)
are included by other domains' pages with only `customer` and the usual request context in
scope, so what they show is fetched by template helpers registered here, through the
session the customer was loaded with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session
from starlette.datastructures import FormData

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.customers.models import Customer
from laoke.customers.service import get_customer_for
from laoke.customers.stages import LIFECYCLE_LABELS, RELATIONSHIP_LABELS, RelationshipStage
from laoke.engagement import contacts, relationship, timeline
from laoke.engagement.contact_schemas import MAX_NEXT_STEP, MAX_NOTES, ContactChange, ContactCreate
from laoke.engagement.models import (
    CONTACT_DIRECTION_LABELS,
    CONTACT_OUTCOME_LABELS,
    TASK_KIND_LABELS,
    TASK_STATUS_LABELS,
    Contact,
    ContactChannel,
    ContactDirection,
    ContactOutcome,
    CustomerFigures,
    Task,
    TaskStatus,
)
from laoke.engagement.tasks import close_task, open_tasks_for_customer
from laoke.errors import N_, DomainError, Invalid
from laoke.messaging.models import MESSAGE_STATUS_LABELS
from laoke.messaging.purposes import PURPOSES
from laoke.orders.models import ORDER_STATUS_LABELS
from laoke.web.deps import CsrfProtected, PageActor, SessionDep
from laoke.web.templating import ENV, render

router = APIRouter(include_in_schema=False, dependencies=[CsrfProtected])

# Short labels for the big buttons (the full names are in CONTACT_CHANNEL_LABELS).
CHANNEL_BUTTONS = {
    ContactChannel.PHONE: N_("Call"),
    ContactChannel.WECHAT: N_("WeChat"),
    ContactChannel.SMS: N_("SMS"),
    ContactChannel.EMAIL: N_("E-mail"),
    ContactChannel.VISIT: N_("Visit"),
    ContactChannel.EVENT: N_("Event"),
    ContactChannel.OTHER: N_("Other"),
}
FIELD_MESSAGES: dict[str, tuple[str, dict[str, Any]]] = {
    "channel": (N_("Choose one of the listed channels."), {}),
    "direction": (N_("Choose one of the listed directions."), {}),
    "outcome": (N_("Choose one of the listed outcomes."), {}),
    "notes": (N_("Notes can be at most %(n)s characters."), {"n": MAX_NOTES}),
    "next_step": (N_("The next step can be at most %(n)s characters."), {"n": MAX_NEXT_STEP}),
    "next_step_on": (N_("Give the date as YYYY-MM-DD."), {}),
    "occurred_at": (N_("Give the date and time as YYYY-MM-DD HH:MM."), {}),
    "complete_task_ids": (N_("Choose tasks from the list."), {}),
}
LABELS = {
    "channel": CHANNEL_BUTTONS,
    "direction": CONTACT_DIRECTION_LABELS,
    "outcome": CONTACT_OUTCOME_LABELS,
    "task_kind": TASK_KIND_LABELS,
    "task_status": TASK_STATUS_LABELS,
    "order_status": ORDER_STATUS_LABELS,
    "message_status": MESSAGE_STATUS_LABELS,
    "relationship": RELATIONSHIP_LABELS,
    "lifecycle": LIFECYCLE_LABELS,
}


def purpose_label(name: str) -> str:
    """The message id of a message purpose's label (purposes register as domains load)."""
    purpose = PURPOSES.get(name)
    return purpose.label if purpose else name


# --- small helpers -----------------------------------------------------------------------


def safe_next(value: object, default: str) -> str:
    """A local path to return to; anything that could leave the site becomes `default`."""
    if not isinstance(value, str) or len(value) > 500:
        return default
    if not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(ord(ch) < 32 or ch == "\\" for ch in value):
        return default
    return value


def _with_query(path: str, **params: str) -> str:
    parts = urlsplit(path)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in params]
    query += list(params.items())
    return urlunsplit(("", "", parts.path, urlencode(query), ""))


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _local_datetime(text: str, timezone: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(FIELD_MESSAGES["occurred_at"][0], field="occurred_at") from None
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(timezone))


def _contact_fields(form: FormData, timezone: str, *, partial: bool) -> dict[str, Any]:
    """Form fields as schema input; on a change form only the fields present count."""
    values: dict[str, Any] = {}
    for name in ("channel", "direction", "outcome", "notes", "next_step", "next_step_on"):
        text = _text(form, name)
        if text is None:
            continue
        if name in ("channel", "direction", "outcome", "next_step_on") and not text.strip():
            if name == "next_step_on" and partial:
                values[name] = None
            continue
        values[name] = text.strip() if name == "next_step_on" else text
    occurred = _text(form, "occurred_at")
    if occurred and occurred.strip():
        values["occurred_at"] = _local_datetime(occurred, timezone)
    task_ids = [v for v in form.getlist("complete_task") if isinstance(v, str)]
    if any(not v.isdigit() or len(v) > 18 for v in task_ids):
        raise Invalid(FIELD_MESSAGES["complete_task_ids"][0], field="complete_task")
    values["complete_task_ids"] = [int(v) for v in task_ids]
    return values


def _parse(model: type[ContactCreate] | type[ContactChange], values: dict[str, Any]) -> Any:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0]) if exc.errors()[0]["loc"] else "form"
        message, params = FIELD_MESSAGES.get(field, (N_("Some values are not valid."), {}))
        raise Invalid(message, field=field, **params) from None


def _timezone(request: Request) -> str:
    return getattr(getattr(request.state, "org", None), "timezone", "Asia/Shanghai")


def _fragment_error(request: Request, exc: DomainError, target: str) -> Response:
    """An htmx form's error, shown above the form so what was typed stays."""
    response = render(request, "_contact_error.html", {"error": exc}, status_code=exc.status)
    response.headers.update({"HX-Retarget": target, "HX-Reswap": "innerHTML"})
    return response


# --- what the partials fetch -------------------------------------------------------------


def _session_of(customer: Customer) -> Session:
    session = object_session(customer)
    if session is None:
        raise RuntimeError("the customer must be attached to the request's session")
    return session


@dataclass(frozen=True)
class ContactPanel:
    can_log: bool
    contact_count: int
    last_contact_at: datetime | None
    settleable: list[Task]
    open_tasks: list[Task]
    logged: Contact | None


def contact_panel(customer: Customer, actor: Actor, logged: str | None = None) -> ContactPanel:
    """What `_log_contact.html` shows: the buttons, the count, the tasks a contact can close."""
    session = _session_of(customer)
    figures = session.scalar(
        select(CustomerFigures).where(
            CustomerFigures.org_id == customer.org_id, CustomerFigures.customer_id == customer.id
        )
    )
    can_log = (
        actor.can(Permission.EDIT_CUSTOMERS)
        and customer.erased_at is None
        and customer.merged_into_id is None
    )
    just_logged = None
    if logged and logged.isdigit() and len(logged) < 19:
        found = session.get(Contact, int(logged))
        if found is not None and found.org_id == customer.org_id:
            just_logged = found if found.customer_id == customer.id else None
    open_tasks = open_tasks_for_customer(session, customer.org_id, customer.id)
    return ContactPanel(
        can_log=can_log,
        contact_count=figures.contact_count if figures else 0,
        last_contact_at=figures.last_contact_at if figures else None,
        settleable=[t for t in open_tasks if t.kind in contacts.SETTLED_BY_CONTACT][:20],
        open_tasks=open_tasks[:20],
        logged=just_logged,
    )


def customer_timeline_view(customer: Customer, actor: Actor) -> timeline.TimelinePage:
    return timeline.customer_timeline(_session_of(customer), actor, customer.id)


def changeable_contact(customer: Customer, actor: Actor, contact_id: int) -> Contact | None:
    """The contact when this actor may still change it (for the timeline's edit form)."""
    contact = _session_of(customer).get(Contact, contact_id)
    if contact is None or contact.customer_id != customer.id:
        return None
    return contact if contacts.can_change(actor, contact) else None


ENV.globals.update(
    contact_panel=contact_panel,
    customer_timeline_view=customer_timeline_view,
    changeable_contact=changeable_contact,
    contact_labels=LABELS,
    contact_purpose_label=purpose_label,
    contact_channels=CHANNEL_BUTTONS,
    contact_directions=list(ContactDirection),
    contact_outcomes=list(ContactOutcome),
    relationship_stages=list(RelationshipStage),
    task_open_status=TaskStatus.OPEN,
)


# --- routes ------------------------------------------------------------------------------


@router.post("/customers/{customer_id}/contacts")
async def log_contact(
    request: Request, session: SessionDep, actor: PageActor, customer_id: int
) -> Response:
    form = await request.form()
    target = f"#contact-err-{customer_id}"
    try:
        data = _parse(ContactCreate, _contact_fields(form, _timezone(request), partial=False))
        contact = contacts.log_contact(session, actor, customer_id, data)
    except DomainError as exc:
        session.rollback()
        if exc.status in (403, 404) or not _is_htmx(request):
            raise
        return _fragment_error(request, exc, target)
    session.commit()
    customer = get_customer_for(session, actor, contact.customer_id)
    if _is_htmx(request):
        return render(request, "_contact_logged.html", {"customer": customer, "contact": contact})
    back = safe_next(form.get("next"), f"/customers/{customer.id}")
    location = _with_query(back, logged=str(contact.id)) + f"#log-contact-{customer.id}"
    return RedirectResponse(location, status_code=303)


@router.api_route("/contacts/{contact_id}", methods=["POST", "PATCH"])
async def change_contact(
    request: Request, session: SessionDep, actor: PageActor, contact_id: int
) -> Response:
    form = await request.form()
    contact = contacts.get_contact_for(session, actor, contact_id)
    target = f"#contact-err-{contact.customer_id}"
    try:
        values = _contact_fields(form, _timezone(request), partial=True)
        # The form shows minutes: an untouched time field must not move the contact.
        shown = contact.occurred_at.replace(second=0, microsecond=0)
        if values.get("occurred_at") == shown:
            del values["occurred_at"]
        data = _parse(ContactChange, values)
        contact = contacts.change_contact(session, actor, contact_id, data)
    except DomainError as exc:
        session.rollback()
        if exc.status in (403, 404) or not _is_htmx(request):
            raise
        return _fragment_error(request, exc, target)
    session.commit()
    customer = get_customer_for(session, actor, contact.customer_id)
    if _is_htmx(request):
        return render(
            request,
            "_contact_logged.html",
            {"customer": customer, "contact": contact, "saved": True},
        )
    back = safe_next(form.get("next"), f"/customers/{customer.id}")
    return RedirectResponse(back, status_code=303)


@router.post("/contacts/{contact_id}/delete")
async def delete_contact(
    request: Request, session: SessionDep, actor: PageActor, contact_id: int
) -> Response:
    form = await request.form()
    customer_id = contacts.delete_contact(session, actor, contact_id)
    session.commit()
    return RedirectResponse(safe_next(form.get("next"), f"/customers/{customer_id}"), 303)


@router.get("/customers/{customer_id}/timeline")
def timeline_page(
    request: Request, session: SessionDep, actor: PageActor, customer_id: int, before: str = ""
) -> HTMLResponse:
    customer = get_customer_for(session, actor, customer_id)
    page = timeline.customer_timeline(session, actor, customer.id, before=before[:80] or None)
    template = "_timeline_entries.html" if _is_htmx(request) else "customer_timeline.html"
    return render(request, template, {"customer": customer, "page": page})


@router.post("/customers/{customer_id}/relationship-stage")
async def set_relationship_stage(
    request: Request, session: SessionDep, actor: PageActor, customer_id: int
) -> Response:
    form = await request.form()
    stage = _text(form, "stage") or ""
    if stage not in RelationshipStage.__members__.values():
        raise Invalid(N_("Choose one of the listed stages."), field="stage")
    reason = (_text(form, "reason") or "")[:200]
    changed = relationship.set_relationship_stage(
        session, actor, customer_id, RelationshipStage(stage), reason=reason
    )
    session.commit()
    customer = get_customer_for(session, actor, customer_id)
    if _is_htmx(request):
        return render(
            request, "_relationship_stage.html", {"customer": customer, "stage_saved": changed}
        )
    return RedirectResponse(safe_next(form.get("next"), f"/customers/{customer.id}"), 303)


async def _close(
    request: Request, session: Session, actor: Actor, task_id: int, status: TaskStatus
) -> Response:
    form = await request.form()
    task = close_task(session, actor, task_id, status)
    session.commit()
    if _is_htmx(request):
        return render(request, "_task_closed.html", {"task": task})
    return RedirectResponse(safe_next(form.get("next"), f"/customers/{task.customer_id}"), 303)


@router.post("/tasks/{task_id}/done")
async def task_done(
    request: Request, session: SessionDep, actor: PageActor, task_id: int
) -> Response:
    return await _close(request, session, actor, task_id, TaskStatus.DONE)


@router.post("/tasks/{task_id}/dismiss")
async def task_dismiss(
    request: Request, session: SessionDep, actor: PageActor, task_id: int
) -> Response:
    return await _close(request, session, actor, task_id, TaskStatus.DISMISSED)
