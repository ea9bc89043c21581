"""Pages: the engagement rules (`/settings/engagement`), the recompute button, and the
figures block and stage form on the customer page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.customers.models import Customer
from laoke.customers.stages import LIFECYCLE_LABELS
from laoke.db import utcnow
from laoke.engagement import recompute, rules
from laoke.engagement.figures import figures_of
from laoke.engagement.lifecycle import AUTOMATIC, STAFF_STAGES, rule_lines, set_stage_by_staff
from laoke.engagement.models import VALUE_TIER_LABELS, EngagementSettings
from laoke.engagement.rules_schemas import RulesFields
from laoke.errors import N_
from laoke.web.deps import CsrfProtected, PageActor, SessionDep
from laoke.web.i18n import translations
from laoke.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[CsrfProtected])

FIELD_LABELS = {
    "lapsed_factor": N_("Lapsed after × own interval (1–10)"),
    "default_cycle_days": N_("Assumed interval after one purchase, days (1–3650)"),
    "lapsed_p_alive_below": N_("Also lapsed when P(alive) is below (0–1, empty = off)"),
    "loyal_min_orders": N_("Paid orders that make a customer loyal (2–100)"),
    "reminder_days_before": N_("Remind this many days before an item runs out (1–3650)"),
    "winback_factor": N_("Win back when overdue by × own cycle (1–10)"),
}


def figures_context(session: Session, actor: Actor, customer: Customer) -> dict[str, Any]:
    """What `_customer_figures.html` needs on the customer page."""
    return {
        "figures": figures_of(session, customer),
        "lifecycle_labels": LIFECYCLE_LABELS,
        "tier_labels": VALUE_TIER_LABELS,
        "staff_stages": STAFF_STAGES,
        "automatic": AUTOMATIC,
        "can_set_stage": actor.can(Permission.EDIT_CUSTOMERS) and customer.erased_at is None,
    }


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    row: EngagementSettings,
    values: dict[str, Any],
    *,
    error: str | None = None,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    customers = session.scalar(
        select(func.count()).where(
            Customer.org_id == actor.org_id, Customer.merged_into_id.is_(None)
        )
    )
    return render(
        request,
        "engagement_settings.html",
        {
            "values": values,
            "labels": FIELD_LABELS,
            "rule_lines": rule_lines(row),
            "can_edit": actor.can(Permission.MANAGE_SETTINGS),
            "last_run": recompute.last_recomputed_at(session, actor.org_id),
            "running": recompute.is_running(actor.org_id),
            "customers": customers or 0,
            "error": error,
            "notice": notice,
        },
        status_code=status_code,
    )


@router.get("/settings/engagement")
def rules_page(
    request: Request, session: SessionDep, actor: PageActor, notice: str = ""
) -> HTMLResponse:
    row = rules.read_rules(session, actor)
    return _page(request, session, actor, row, rules.rules_values(row), notice=notice[:20])


@router.post("/settings/engagement")
async def save_rules(request: Request, session: SessionDep, actor: PageActor) -> Response:
    actor.require(Permission.MANAGE_SETTINGS)
    form = await request.form()
    values = {name: str(form.get(name) or "").strip()[:20] for name in rules.FIELDS}
    given: dict[str, Any] = {**values}
    if not given["lapsed_p_alive_below"]:
        given["lapsed_p_alive_below"] = None
    try:
        parsed = RulesFields.model_validate(given)
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0]) if exc.errors()[0]["loc"] else ""
        gettext = translations(actor.language).gettext
        label = gettext(FIELD_LABELS.get(field, field))
        message = gettext("Check this value: %(field)s") % {"field": label}
        return _page(
            request,
            session,
            actor,
            rules.read_rules(session, actor),
            values,
            error=message,
            status_code=422,
        )
    rules.save_rules(session, actor, parsed)
    session.commit()
    return RedirectResponse("/settings/engagement?notice=saved", status_code=303)


@router.post("/settings/engagement/recompute")
def recompute_now(request: Request, session: SessionDep, actor: PageActor) -> Response:
    actor.require(Permission.MANAGE_SETTINGS)
    customers = (
        session.scalar(
            select(func.count()).where(
                Customer.org_id == actor.org_id, Customer.merged_into_id.is_(None)
            )
        )
        or 0
    )
    session.rollback()  # let the recompute take the write lock
    started = recompute.start_recompute(request.app.state.database, actor.org_id, customers)
    notice = "done" if customers <= recompute.INLINE_LIMIT else "started" if started else "running"
    return RedirectResponse(f"/settings/engagement?notice={notice}", status_code=303)


@router.post("/customers/{customer_id}/lifecycle-stage")
def set_stage(
    session: SessionDep,
    actor: PageActor,
    customer_id: int,
    stage: Annotated[str, Form(max_length=16)],
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    customer = set_stage_by_staff(session, actor, customer_id, stage, reason, utcnow())
    session.commit()
    return RedirectResponse(f"/customers/{customer.id}", status_code=303)
