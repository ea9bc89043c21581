"""The audit log page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from laoke.accounts.models import User
from laoke.audit.models import AUDIT_ACTION_LABELS, AuditAction
from laoke.audit.service import list_events
from laoke.web.deps import CsrfProtected, PageActor, SessionDep
from laoke.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[CsrfProtected])


@router.get("/audit")
def audit_page(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    action: AuditAction | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    page: int = 1,
) -> HTMLResponse:
    events = list_events(
        session, actor, action=action, target_type=target_type, target_id=target_id, page=page
    )
    actor_ids = {e.actor_user_id for e in events.items if e.actor_user_id}
    rows = session.execute(select(User.id, User.name).where(User.id.in_(actor_ids))).all()
    names = dict(rows)
    return render(
        request,
        "audit.html",
        {
            "events": events,
            "names": names,
            "labels": AUDIT_ACTION_LABELS,
            "actions": list(AuditAction),
            "action": action,
        },
    )
