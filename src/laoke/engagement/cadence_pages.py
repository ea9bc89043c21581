"""Pages: the cadence rules (维温频率) — everyone reads them, owners and admins change them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.customers.stages import LIFECYCLE_LABELS, LifecycleStage
from laoke.engagement import cadence
from laoke.engagement.models import (
    CADENCE_SCOPE_LABELS,
    VALUE_TIER_LABELS,
    CadenceScope,
    ValueTier,
)
from laoke.errors import DomainError
from laoke.web.deps import CsrfProtected, PageActor, SessionDep
from laoke.web.i18n import translations
from laoke.web.templating import render

router = APIRouter(
    prefix="/settings/cadence", include_in_schema=False, dependencies=[CsrfProtected]
)


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    error: DomainError | None = None,
    saved: bool = False,
) -> HTMLResponse:
    message = None
    if error is not None:
        gettext = translations(actor.language).gettext
        message = gettext(error.message) % error.params if error.params else gettext(error.message)
    context = {
        "rules": cadence.list_rules(session, actor),
        "can_edit": actor.can(Permission.MANAGE_SETTINGS),
        "scope_labels": CADENCE_SCOPE_LABELS,
        "scopes": [s for s in CadenceScope if s != CadenceScope.DEFAULT],
        "stage_labels": LIFECYCLE_LABELS,
        "stages": list(LifecycleStage),
        "tier_labels": VALUE_TIER_LABELS,
        "tiers": list(ValueTier),
        "error": message,
        "saved": saved,
        "low": cadence.MIN_GAP_DAYS,
        "high": cadence.MAX_GAP_DAYS,
    }
    return render(request, "cadence.html", context, 200 if error is None else error.status)


@router.get("")
def cadence_page(
    request: Request, session: SessionDep, actor: PageActor, saved: str = ""
) -> HTMLResponse:
    if not cadence.has_rules(session, actor.org_id):
        cadence.ensure_default_rules_saved(request.app.state.database, actor.org_id)
        session.rollback()  # end this read's snapshot so the saved defaults are seen
    return _page(request, session, actor, saved=bool(saved))


@router.post("")
def add_rule(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    scope: Annotated[str, Form(max_length=20)],
    max_gap_days: Annotated[str, Form(max_length=20)],
    stage: Annotated[str, Form(max_length=20)] = "",
    tier: Annotated[str, Form(max_length=20)] = "",
    tag: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    value = {
        CadenceScope.LIFECYCLE_STAGE.value: stage,
        CadenceScope.VALUE_TIER.value: tier,
        CadenceScope.TAG.value: tag,
    }.get(scope, "")
    try:
        cadence.create_rule(session, actor, scope=scope, value=value, max_gap_days=max_gap_days)
    except DomainError as exc:
        if exc.status not in (409, 422):
            raise
        session.rollback()
        return _page(request, session, actor, error=exc)
    return RedirectResponse("/settings/cadence?saved=1", status_code=303)


@router.post("/{rule_id}")
def change_rule(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    rule_id: int,
    max_gap_days: Annotated[str, Form(max_length=20)],
    active: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    try:
        cadence.update_rule(
            session, actor, rule_id, max_gap_days=max_gap_days, active=active == "on"
        )
    except DomainError as exc:
        if exc.status not in (409, 422):
            raise
        session.rollback()
        return _page(request, session, actor, error=exc)
    return RedirectResponse("/settings/cadence?saved=1", status_code=303)


@router.post("/{rule_id}/delete")
def remove_rule(session: SessionDep, actor: PageActor, rule_id: int) -> Response:
    cadence.delete_rule(session, actor, rule_id)
    return RedirectResponse("/settings/cadence?saved=1", status_code=303)
