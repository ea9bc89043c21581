"""A tenant's engagement rules, with defaults for tenants that never changed them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.engagement.models import EngagementSettings


def rules_for(session: Session, org_id: int) -> EngagementSettings:
    """The tenant's settings row; an unsaved row of defaults when it has none."""
    row = session.scalar(select(EngagementSettings).where(EngagementSettings.org_id == org_id))
    if row is not None:
        return row
    return EngagementSettings(
        org_id=org_id,
        lapsed_factor=2.0,
        default_cycle_days=90,
        lapsed_p_alive_below=None,
        loyal_min_orders=5,
        reminder_days_before=7,
        winback_factor=1.5,
    )


def rules_for_update(session: Session, org_id: int) -> EngagementSettings:
    """The tenant's settings row, created (with defaults) when missing, ready to change."""
    row = session.scalar(select(EngagementSettings).where(EngagementSettings.org_id == org_id))
    if row is None:
        row = rules_for(session, org_id)
        session.add(row)
        session.flush()
    return row
