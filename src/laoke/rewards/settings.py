"""A tenant's reward settings, with defaults when it never changed them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from laoke.db import utcnow
from laoke.messaging.care import local_today
from laoke.rewards.models import RewardSettings
from laoke.tenancy.models import Org


def settings_of(session: Session, org_id: int) -> RewardSettings:
    """The stored settings, or an unsaved row holding the defaults."""
    found = session.get(RewardSettings, org_id)
    if found is not None:
        return found
    defaults = RewardSettings(org_id=org_id)
    for column in RewardSettings.__table__.columns:
        default = column.default
        if default is not None and default.is_scalar and getattr(defaults, column.name) is None:
            setattr(defaults, column.name, default.arg)
    return defaults


def default_hold_days(settings: RewardSettings) -> int:
    """The return window plus one day: a refund within the window never meets a released reward."""
    return settings.return_window_days + 1


def timezone_of(session: Session, org_id: int) -> str:
    org = session.get(Org, org_id)
    return org.timezone if org else "Asia/Shanghai"


def tenant_today(session: Session, org_id: int, now: datetime | None = None) -> date:
    return local_today(now or utcnow(), timezone_of(session, org_id))
