"""Referral programs, invite codes, referral leads with their status history, and the
magic-link tokens of the referrer portal.

Lineage lives here, not on the customer: the lead that converted names the referee
customer, the referrer and the order that converted it. Rewards, the reward ledger and
fraud review (next) key on `ReferralLead.id` and `ReferralProgram.*_terms`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from laoke.db import Base, BigId, TenantRow, Timestamps, utcnow
from laoke.errors import N_

Money = Numeric(14, 2)
JsonList = JSON().with_variant(postgresql.JSONB(), "postgresql")


class ProgramStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


PROGRAM_STATUS_LABELS = {
    ProgramStatus.DRAFT: N_("Draft"),
    ProgramStatus.ACTIVE: N_("Running"),
    ProgramStatus.PAUSED: N_("Paused"),
    ProgramStatus.ENDED: N_("Ended"),
}


class Eligibility(StrEnum):
    ANY_CUSTOMER = "any_customer"
    PURCHASED = "purchased"
    STAGES = "stages"
    TAGS = "tags"


ELIGIBILITY_LABELS = {
    Eligibility.ANY_CUSTOMER: N_("Any customer"),
    Eligibility.PURCHASED: N_("Customers who have purchased"),
    Eligibility.STAGES: N_("Customers in given lifecycle stages"),
    Eligibility.TAGS: N_("Customers with given tags"),
}


class QualifyingEvent(StrEnum):
    LEAD_SUBMITTED = "lead_submitted"
    FIRST_PURCHASE = "first_purchase"
    PURCHASE_AT_LEAST = "purchase_at_least"


QUALIFYING_EVENT_LABELS = {
    QualifyingEvent.LEAD_SUBMITTED: N_("The friend leaves their details"),
    QualifyingEvent.FIRST_PURCHASE: N_("The friend's first purchase"),
    QualifyingEvent.PURCHASE_AT_LEAST: N_("The friend buys for at least an amount"),
}


class LeadStatus(StrEnum):
    NEW = "new"
    CONTACTED = "contacted"
    VISITED = "visited"
    CONVERTED = "converted"
    LOST = "lost"


LEAD_STATUS_LABELS = {
    LeadStatus.NEW: N_("New"),
    LeadStatus.CONTACTED: N_("Contacted"),
    LeadStatus.VISITED: N_("Visited / consulted"),
    LeadStatus.CONVERTED: N_("Converted"),
    LeadStatus.LOST: N_("Lost"),
}


class Attribution(StrEnum):
    ATTRIBUTED = "attributed"  # this referrer holds the friend
    ALREADY_CUSTOMER = "already_customer"  # the friend was a customer before
    SELF_REFERRAL = "self_referral"  # the referrer's own phone, email or customer
    DUPLICATE = "duplicate"  # another lead holds the friend: `duplicate_of_id`
    EXPIRED = "expired"  # held the friend, window ran out, a later lead took over


ATTRIBUTION_LABELS = {
    Attribution.ATTRIBUTED: N_("Attributed"),
    Attribution.ALREADY_CUSTOMER: N_("Already a customer"),
    Attribution.SELF_REFERRAL: N_("Self-referral"),
    Attribution.DUPLICATE: N_("Duplicate"),
    Attribution.EXPIRED: N_("Attribution expired"),
}


class LeadSource(StrEnum):
    LANDING = "landing"
    STAFF = "staff"
    API = "api"


LEAD_SOURCE_LABELS = {
    LeadSource.LANDING: N_("Referral page"),
    LeadSource.STAFF: N_("Entered by staff"),
    LeadSource.API: N_("Via integration"),
}


class ReferralProgram(TenantRow, Timestamps, Base):
    __tablename__ = "referral_programs"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        Index("ix_referral_programs_org_status", "org_id", "status"),
    )

    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[ProgramStatus] = mapped_column(String(16), default=ProgramStatus.ACTIVE)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    eligibility: Mapped[Eligibility] = mapped_column(String(16), default=Eligibility.ANY_CUSTOMER)
    eligible_stages: Mapped[list[str]] = mapped_column(JsonList, default=list)
    eligible_tags: Mapped[list[str]] = mapped_column(JsonList, default=list)
    referrer_offer_text: Mapped[str] = mapped_column(String(300), default="")
    referee_offer_text: Mapped[str] = mapped_column(String(300), default="")
    # Structured promises the reward engine pays out, e.g. {"kind": "points", "amount": "50"}.
    referrer_terms: Mapped[dict[str, Any]] = mapped_column(default=dict)
    referee_terms: Mapped[dict[str, Any]] = mapped_column(default=dict)
    qualifying_event: Mapped[QualifyingEvent] = mapped_column(
        String(20), default=QualifyingEvent.FIRST_PURCHASE
    )
    qualifying_amount: Mapped[Decimal | None] = mapped_column(Money)
    attribution_window_days: Mapped[int] = mapped_column(Integer, default=30)
    # What the program's rewards may cost in all, in yuan; None means no budget cap.
    reward_budget: Mapped[Decimal | None] = mapped_column(Money)
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )


class InviteCode(TenantRow, Timestamps, Base):
    """A customer's or a staff member's personal code; `/r/{code}` carries no tenant, so the
    code is unique across tenants."""

    __tablename__ = "referral_invite_codes"
    __table_args__ = (
        UniqueConstraint("code"),
        UniqueConstraint("org_id", "code"),
        Index("ix_referral_invite_codes_org_customer", "org_id", "customer_id"),
        Index("ix_referral_invite_codes_org_user", "org_id", "user_id"),
        CheckConstraint("(customer_id IS NULL) <> (user_id IS NULL)", name="one_holder"),
    )

    code: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE")
    )
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    # None: the code works for every active program the holder may share.
    program_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("referral_programs.id", ondelete="SET NULL")
    )
    revoked_at: Mapped[datetime | None] = mapped_column()


class ReferralLead(TenantRow, Timestamps, Base):
    __tablename__ = "referral_leads"
    __table_args__ = (
        # At most one lead holds a friend (their E.164 phone) at a time: racing referrers
        # meet here and exactly one insert wins.
        UniqueConstraint("org_id", "attribution_key"),
        Index("ix_referral_leads_org_phone", "org_id", "referee_phone"),
        Index("ix_referral_leads_org_referrer", "org_id", "referrer_customer_id"),
        Index("ix_referral_leads_org_referrer_user", "org_id", "referrer_user_id"),
        Index("ix_referral_leads_org_owner_status", "org_id", "owner_id", "status"),
        Index("ix_referral_leads_org_referee", "org_id", "referee_customer_id"),
        Index("ix_referral_leads_org_created", "org_id", "created_at"),
        Index("ix_referral_leads_org_code_created", "org_id", "invite_code_id", "created_at"),
        Index("ix_referral_leads_org_ip_created", "org_id", "ip_hash", "created_at"),
        Index("ix_referral_leads_org_device", "org_id", "device_hash"),
    )

    program_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("referral_programs.id", ondelete="SET NULL")
    )
    invite_code_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("referral_invite_codes.id", ondelete="SET NULL")
    )
    referrer_customer_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="SET NULL")
    )
    referrer_user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    referee_name: Mapped[str] = mapped_column(String(100))
    referee_phone: Mapped[str | None] = mapped_column(String(20))
    referee_email: Mapped[str | None] = mapped_column(String(254))
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[LeadStatus] = mapped_column(String(16), default=LeadStatus.NEW)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    lost_reason: Mapped[str | None] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    next_step: Mapped[str | None] = mapped_column(String(300))
    next_step_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    referee_customer_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="SET NULL")
    )
    attribution: Mapped[Attribution] = mapped_column(String(20), default=Attribution.ATTRIBUTED)
    # The referee's phone while this lead holds them; None once released or never held.
    attribution_key: Mapped[str | None] = mapped_column(String(20))
    duplicate_of_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("referral_leads.id", ondelete="SET NULL")
    )
    source: Mapped[LeadSource] = mapped_column(String(16), default=LeadSource.LANDING)
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    user_agent_hash: Mapped[str | None] = mapped_column(String(64))
    # Keyed hash of the browser's long-lived `lk_dev` cookie (fraud: shared devices).
    device_hash: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    converted_at: Mapped[datetime | None] = mapped_column()
    converting_order_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("orders.id", ondelete="SET NULL")
    )


class LeadStatusChange(TenantRow, Base):
    __tablename__ = "referral_lead_status_changes"
    __table_args__ = (Index("ix_referral_lead_status_changes_org_lead", "org_id", "lead_id", "at"),)

    lead_id: Mapped[int] = mapped_column(BigId, ForeignKey("referral_leads.id", ondelete="CASCADE"))
    from_status: Mapped[LeadStatus | None] = mapped_column(String(16))
    to_status: Mapped[LeadStatus] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(200))
    changed_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)


class PortalToken(TenantRow, Base):
    """A referrer's magic link to `/me/{token}`; only the SHA-256 of the token is stored."""

    __tablename__ = "referral_portal_tokens"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        Index("ix_referral_portal_tokens_org_customer", "org_id", "customer_id"),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
