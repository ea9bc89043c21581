"""Attribution: who gets the credit for a friend.

The rules (docs/guide.zh-CN.md «转介绍计划与线索»):

1. One referrer per referee. A referee is known by their phone in E.164, so "138 1234 5678",
   "+86 138-1234-5678" and "0086 13812345678" are the same friend.
2. The first valid attribution within the window wins. A lead holds its friend (the unique
   `attribution_key`) until it is lost or its program's attribution window runs out
   without a purchase; a later lead for the same friend is a `duplicate` naming the winner.
3. An existing customer (one who has bought, or is past the prospect stage) is not a new
   referee: the lead is kept as `already_customer`, for staff to see, and never converts.
4. Self-referral is impossible: the referrer's own phone, email or customer record makes the
   lead `self_referral`.
5. Two referrers racing for the same friend: the unique key lets exactly one insert win;
   the other becomes a duplicate of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from laoke.accounts.models import User
from laoke.customers.models import Customer, CustomerPhone
from laoke.customers.phones import normalize_phone
from laoke.customers.service import clean_email
from laoke.customers.stages import LifecycleStage
from laoke.db import utcnow
from laoke.errors import N_, Invalid
from laoke.referrals.models import (
    Attribution,
    LeadSource,
    LeadStatus,
    ReferralLead,
    ReferralProgram,
)
from laoke.referrals.programs import has_purchased

DEFAULT_WINDOW_DAYS = 30


@dataclass(frozen=True, slots=True)
class Referrer:
    org_id: int
    customer: Customer | None = None
    user: User | None = None
    invite_code_id: int | None = None


@dataclass(frozen=True, slots=True)
class Referee:
    name: str
    phone: str
    email: str | None = None
    consent: bool = False


@dataclass(frozen=True, slots=True)
class Origin:
    source: LeadSource
    ip_hash: str | None = None
    user_agent_hash: str | None = None
    device_hash: str | None = None
    created_by_id: int | None = None
    owner_id: int | None = None
    notes: str | None = None


def clean_name(raw: str) -> str:
    text = "".join(ch for ch in (raw or "") if ch.isprintable()).strip()
    if not text:
        raise Invalid(N_("Please give a name."), field="name")
    if len(text) > 100:
        raise Invalid(N_("The name is too long (at most 100 characters)."), field="name")
    return text


def clean_referee(name: str, phone: str, email: str | None, consent: bool) -> Referee:
    """Validated referee details; raises `Invalid` naming the field."""
    cleaned_name = clean_name(name)
    if len(phone or "") > 40:
        raise Invalid(N_("This phone number is not valid."), field="phone")
    e164 = normalize_phone(phone or "").e164
    return Referee(cleaned_name, e164, clean_email(email), consent)


def window_days(program: ReferralProgram | None) -> int:
    return program.attribution_window_days if program else DEFAULT_WINDOW_DAYS


def _lead_window(session: Session, lead: ReferralLead) -> timedelta:
    program = session.get(ReferralProgram, lead.program_id) if lead.program_id else None
    return timedelta(days=window_days(program))


def holds(session: Session, lead: ReferralLead, at: datetime) -> bool:
    """Whether the lead still holds its friend at `at`."""
    if lead.status == LeadStatus.CONVERTED:
        return True
    if lead.status == LeadStatus.LOST:
        return False
    return lead.created_at + _lead_window(session, lead) >= at


def customer_by_contact(session: Session, org_id: int, referee: Referee) -> Customer | None:
    query = (
        select(Customer)
        .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
        .where(CustomerPhone.org_id == org_id, CustomerPhone.e164 == referee.phone)
    )
    found = session.scalar(query)
    if found is None and referee.email:
        found = session.scalar(
            select(Customer)
            .where(
                Customer.org_id == org_id,
                func.lower(Customer.email) == referee.email.lower(),
                Customer.merged_into_id.is_(None),
                Customer.erased_at.is_(None),
            )
            .limit(1)
        )
    return found


def is_self_referral(referrer: Referrer, referee: Referee, existing: Customer | None) -> bool:
    if referrer.customer is not None:
        own = referrer.customer
        if existing is not None and existing.id == own.id:
            return True
        if referee.phone in {p.e164 for p in own.phones}:
            return True
        if referee.email and own.email and referee.email.lower() == own.email.lower():
            return True
    if referrer.user is not None and referee.email:
        return referee.email.lower() == referrer.user.email.lower()
    return False


def is_established(session: Session, customer: Customer) -> bool:
    """A customer who already bought (or is past the prospect stage) is not a new referee."""
    if customer.lifecycle_stage != LifecycleStage.PROSPECT:
        return True
    return has_purchased(session, customer)


def _holder(session: Session, org_id: int, phone: str) -> ReferralLead | None:
    return session.scalar(
        select(ReferralLead).where(
            ReferralLead.org_id == org_id, ReferralLead.attribution_key == phone
        )
    )


def _release(lead: ReferralLead) -> None:
    lead.attribution_key = None
    if lead.status != LeadStatus.LOST:
        lead.attribution = Attribution.EXPIRED


def _claim(session: Session, lead: ReferralLead, phone: str, now: datetime) -> None:
    """Make `lead` hold `phone`, or mark it a duplicate of whoever holds it."""
    holder = _holder(session, lead.org_id, phone)
    if holder is not None and holds(session, holder, now):
        lead.attribution = Attribution.DUPLICATE
        lead.duplicate_of_id = holder.id
        session.add(lead)
        session.flush()
        return
    if holder is not None:
        _release(holder)
        session.flush()
    lead.attribution = Attribution.ATTRIBUTED
    lead.attribution_key = phone
    try:
        with session.begin_nested():
            session.add(lead)
            session.flush()
    except IntegrityError:
        # Another transaction claimed the friend between our read and our insert.
        winner = _holder(session, lead.org_id, phone)
        lead.attribution_key = None
        lead.attribution = Attribution.DUPLICATE
        lead.duplicate_of_id = winner.id if winner else None
        session.add(lead)
        session.flush()


def attribute(
    session: Session,
    referrer: Referrer,
    program: ReferralProgram | None,
    referee: Referee,
    origin: Origin,
) -> ReferralLead:
    """Record one lead and decide its attribution (flushes; the caller commits)."""
    now = utcnow()
    owner_id = origin.owner_id
    if owner_id is None:
        if referrer.customer is not None:
            owner_id = referrer.customer.owner_id
        elif referrer.user is not None:
            owner_id = referrer.user.id
    lead = ReferralLead(
        org_id=referrer.org_id,
        program_id=program.id if program else None,
        invite_code_id=referrer.invite_code_id,
        referrer_customer_id=referrer.customer.id if referrer.customer else None,
        referrer_user_id=referrer.user.id if referrer.user else None,
        referee_name=referee.name,
        referee_phone=referee.phone,
        referee_email=referee.email,
        consent=referee.consent,
        consent_at=now if referee.consent else None,
        status=LeadStatus.NEW,
        status_changed_at=now,
        owner_id=owner_id,
        notes=origin.notes,
        source=origin.source,
        ip_hash=origin.ip_hash,
        user_agent_hash=origin.user_agent_hash,
        device_hash=origin.device_hash,
        created_by_id=origin.created_by_id,
        created_at=now,
    )
    existing = customer_by_contact(session, referrer.org_id, referee)
    if existing is not None:
        lead.referee_customer_id = existing.id
    if is_self_referral(referrer, referee, existing):
        lead.attribution = Attribution.SELF_REFERRAL
    elif existing is not None and is_established(session, existing):
        lead.attribution = Attribution.ALREADY_CUSTOMER
    else:
        _claim(session, lead, referee.phone, now)
        return lead
    session.add(lead)
    session.flush()
    return lead
