"""Per-tenant thresholds: the defaults until a manager changes them."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.fraud.checks import thresholds_of
from laoke.fraud.models import FraudSettings
from laoke.fraud.rules import Thresholds
from laoke.fraud.schemas import FraudSettingsFields


def current(session: Session, actor: Actor) -> FraudSettingsFields:
    actor.require(Permission.REVIEW_REWARDS)
    return FraudSettingsFields(**asdict(thresholds_of(session, actor.org_id)))


def update(session: Session, actor: Actor, data: FraudSettingsFields) -> FraudSettingsFields:
    actor.require(Permission.REVIEW_REWARDS)
    row = session.scalar(select(FraudSettings).where(FraudSettings.org_id == actor.org_id))
    if row is None:
        row = FraudSettings(org_id=actor.org_id, **asdict(Thresholds()))
        session.add(row)
    for name, value in data.model_dump().items():
        setattr(row, name, value)
    row.updated_by_id = actor.user_id
    session.flush()
    return FraudSettingsFields.model_validate(row)
