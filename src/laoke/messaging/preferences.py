"""Per-tenant messaging choices: quiet hours, the sender's name, the birthday coupon."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.errors import N_, Invalid
from laoke.messaging.consent import parse_hhmm
from laoke.messaging.models import MessagingSettings
from laoke.tenancy.models import Org


@dataclass(frozen=True, slots=True)
class Preferences:
    org_id: int
    org_name: str
    timezone: str
    default_language: str
    quiet_enabled: bool
    quiet_start: time
    quiet_end: time
    sender_name: str
    birthday_coupon: str


def load(session: Session, org_id: int) -> Preferences:
    """The tenant's preferences (defaults when none saved), cached for the session."""
    cache = session.info.setdefault("laoke.messaging.preferences", {})
    if org_id in cache:
        return cache[org_id]
    org = session.get(Org, org_id)
    if org is None:
        raise ValueError(f"no organisation {org_id}")
    row = session.scalar(select(MessagingSettings).where(MessagingSettings.org_id == org_id))
    prefs = Preferences(
        org_id=org_id,
        org_name=org.name,
        timezone=org.timezone,
        default_language=org.default_language,
        quiet_enabled=row.quiet_enabled if row else True,
        quiet_start=parse_hhmm(row.quiet_start if row else "21:00"),
        quiet_end=parse_hhmm(row.quiet_end if row else "08:00"),
        sender_name=(row.sender_name if row and row.sender_name else org.name),
        birthday_coupon=(row.birthday_coupon or "") if row else "",
    )
    cache[org_id] = prefs
    return prefs


def forget(session: Session) -> None:
    session.info.pop("laoke.messaging.preferences", None)


def save(
    session: Session,
    actor: Actor,
    *,
    quiet_enabled: bool,
    quiet_start: str,
    quiet_end: str,
    sender_name: str = "",
    birthday_coupon: str = "",
) -> MessagingSettings:
    actor.require(Permission.MANAGE_SETTINGS)
    parse_hhmm(quiet_start, "quiet_start")
    parse_hhmm(quiet_end, "quiet_end")
    sender_name = " ".join(sender_name.split())
    if len(sender_name) > 100:
        raise Invalid(N_("This value is too long."), field="sender_name")
    if len(birthday_coupon.strip()) > 200:
        raise Invalid(N_("This value is too long."), field="birthday_coupon")
    row = session.scalar(select(MessagingSettings).where(MessagingSettings.org_id == actor.org_id))
    if row is None:
        row = MessagingSettings(org_id=actor.org_id)
        session.add(row)
    row.quiet_enabled = quiet_enabled
    row.quiet_start = parse_hhmm(quiet_start).strftime("%H:%M")
    row.quiet_end = parse_hhmm(quiet_end).strftime("%H:%M")
    row.sender_name = sender_name or None
    row.birthday_coupon = birthday_coupon.strip() or None
    session.commit()
    forget(session)
    return row
