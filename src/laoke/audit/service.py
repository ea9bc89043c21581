"""Writing and reading the audit log. `record` joins the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.audit.models import AuditAction, AuditEvent


def record(
    session: Session,
    actor: Actor,
    action: AuditAction,
    *,
    target_type: str | None = None,
    target_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        org_id=actor.org_id,
        actor_user_id=actor.user_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details or {},
        ip=actor.ip,
    )
    session.add(event)
    return event


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEvent]
    total: int
    page: int
    per_page: int


def list_events(
    session: Session,
    actor: Actor,
    *,
    action: AuditAction | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    page: int = 1,
    per_page: int = 50,
) -> AuditPage:
    actor.require(Permission.READ_AUDIT_LOG)
    query = select(AuditEvent).where(AuditEvent.org_id == actor.org_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if target_type:
        query = query.where(AuditEvent.target_type == target_type)
    if target_id is not None:
        query = query.where(AuditEvent.target_id == target_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(
        query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    ).all()
    return AuditPage(list(items), total, max(page, 1), per_page)
