"""Reading and changing a tenant's engagement rules (who may, and what is allowed)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.engagement.models import EngagementSettings
from laoke.engagement.rules_schemas import RulesFields
from laoke.engagement.settings import rules_for, rules_for_update
from laoke.errors import PermissionDenied

FIELDS = tuple(RulesFields.model_fields)


def can_view(actor: Actor) -> bool:
    """Whoever sees every customer (managers, viewers) sees the rules they are staged by;
    changing them is for those who manage settings."""
    return actor.can(Permission.MANAGE_SETTINGS) or actor.can(Permission.SEE_ALL_CUSTOMERS)


def read_rules(session: Session, actor: Actor) -> EngagementSettings:
    if not can_view(actor):
        raise PermissionDenied()
    return rules_for(session, actor.org_id)


def save_rules(session: Session, actor: Actor, values: RulesFields) -> EngagementSettings:
    """Replace the tenant's rules; stages follow at the next recompute."""
    actor.require(Permission.MANAGE_SETTINGS)
    row = rules_for_update(session, actor.org_id)
    for name in FIELDS:
        setattr(row, name, getattr(values, name))
    session.flush()
    return row


def rules_values(row: EngagementSettings) -> dict[str, Any]:
    return {name: getattr(row, name) for name in FIELDS}
