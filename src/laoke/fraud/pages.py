"""Staff pages: the review queue with its decisions, and the thresholds."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from laoke.accounts.models import User
from laoke.accounts.roles import Permission
from laoke.customers.models import Customer
from laoke.customers.phones import mask_phone
from laoke.errors import DomainError, Invalid
from laoke.fraud import review, settings
from laoke.fraud.models import CHECK_STATUS_LABELS, CheckStatus
from laoke.fraud.rules import INPUT_LABELS, REASONS
from laoke.fraud.schemas import FraudSettingsFields
from laoke.referrals.models import ATTRIBUTION_LABELS, LEAD_STATUS_LABELS
from laoke.web.deps import CsrfProtected, PageActor, SessionDep
from laoke.web.templating import render

router = APIRouter(prefix="/fraud", include_in_schema=False, dependencies=[CsrfProtected])

LABELS = {
    "check_labels": CHECK_STATUS_LABELS,
    "reasons": REASONS,
    "input_labels": INPUT_LABELS,
    "status_labels": LEAD_STATUS_LABELS,
    "attribution_labels": ATTRIBUTION_LABELS,
    "mask_phone": mask_phone,
    "check_statuses": list(CheckStatus),
}


@router.get("/reviews")
def review_queue(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    status: str = "",
    rule: str = "",
    done: str = "",
    error: str = "",
) -> HTMLResponse:
    chosen = CheckStatus(status) if status in set(CheckStatus) else None
    rule = rule if rule in REASONS else ""
    items, total = review.list_reviews(session, actor, status=chosen, rule=rule or None, limit=200)
    customer_ids = {i.lead.referrer_customer_id for i in items} - {None}
    user_ids = {i.lead.referrer_user_id for i in items} - {None}
    customers = dict(
        session.execute(
            select(Customer.id, Customer.name).where(
                Customer.org_id == actor.org_id, Customer.id.in_(sorted(customer_ids))
            )
        ).all()
    )
    users = dict(
        session.execute(
            select(User.id, User.name).where(
                User.org_id == actor.org_id, User.id.in_(sorted(user_ids))
            )
        ).all()
    )
    context = {
        **LABELS,
        "items": items,
        "total": total,
        "status": status,
        "rule": rule,
        "customers": customers,
        "users": users,
        "done": done,
        "error": error,
        "pending": review.pending_count(session, actor.org_id),
    }
    return render(request, "fraud_reviews.html", context)


@router.post("/reviews/{lead_id}/decision")
def decide(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    lead_id: int,
    outcome: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    back: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    target = back if back.startswith("/") and not back.startswith("//") else "/fraud/reviews"
    try:
        chosen = review.Outcome(outcome)
    except ValueError:
        chosen = None
    try:
        if chosen is None:
            raise Invalid(field="outcome")
        review.decide(session, actor, lead_id, chosen, reason)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        session.rollback()
        return RedirectResponse(_with(target, error=exc.code), status_code=303)
    session.commit()
    return RedirectResponse(_with(target, done=str(lead_id)), status_code=303)


def _with(path: str, **params: str) -> str:
    joiner = "&" if "?" in path else "?"
    return f"{path}{joiner}{urlencode(params)}"


@router.get("/settings")
def settings_page(request: Request, session: SessionDep, actor: PageActor) -> HTMLResponse:
    values = settings.current(session, actor)
    return render(request, "fraud_settings.html", {"values": values, "error": None})


@router.post("/settings")
def save_settings(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    referrer_hour_limit: Annotated[str, Form(max_length=10)] = "",
    referrer_day_limit: Annotated[str, Form(max_length=10)] = "",
    code_hour_limit: Annotated[str, Form(max_length=10)] = "",
    code_day_limit: Annotated[str, Form(max_length=10)] = "",
    fast_conversion_minutes: Annotated[str, Form(max_length=10)] = "",
    refund_limit: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    actor.require(Permission.REVIEW_REWARDS)
    raw = {
        "referrer_hour_limit": referrer_hour_limit,
        "referrer_day_limit": referrer_day_limit,
        "code_hour_limit": code_hour_limit,
        "code_day_limit": code_day_limit,
        "fast_conversion_minutes": fast_conversion_minutes,
        "refund_limit": refund_limit,
    }
    try:
        data = FraudSettingsFields(**{k: v.strip() for k, v in raw.items()})
    except ValidationError:
        context = {"values": raw, "error": "invalid"}
        return render(request, "fraud_settings.html", context, status_code=422)
    settings.update(session, actor, data)
    session.commit()
    return RedirectResponse("/fraud/settings?saved=1", status_code=303)
