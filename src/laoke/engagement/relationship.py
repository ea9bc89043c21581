"""Relationship depth (陌生 → 熟悉 → 客户 → 朋友 → 闺蜜): set by staff, in any direction,
each change kept in the stage history."""

from __future__ import annotations

from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.customers.service import get_customer_for
from laoke.customers.stages import RelationshipStage
from laoke.db import utcnow
from laoke.engagement.models import StageChange, StageKind


def set_relationship_stage(
    session: Session,
    actor: Actor,
    customer_id: int,
    stage: RelationshipStage,
    *,
    reason: str | None = None,
) -> bool:
    """Move the customer to `stage`; False (and nothing recorded) when already there."""
    customer = get_customer_for(session, actor, customer_id, edit=True)
    stage = RelationshipStage(stage)
    previous = customer.relationship_stage
    if previous == stage:
        return False
    now = utcnow()
    session.add(
        StageChange(
            org_id=actor.org_id,
            customer_id=customer.id,
            kind=StageKind.RELATIONSHIP,
            from_stage=previous,
            to_stage=stage,
            at=now,
            changed_by_id=actor.user_id,
            reason=(reason or "").strip()[:200] or None,
        )
    )
    customer.relationship_stage = stage
    customer.updated_at = now
    session.flush()
    return True
