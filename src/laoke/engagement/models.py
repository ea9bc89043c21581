"""Engagement tables: the contact log, tasks, cadence rules, lifecycle rules, stage history
and the per-customer figures the daily recompute keeps."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from laoke.db import Base, BigId, TenantRow, Timestamps, utcnow
from laoke.errors import N_


class ContactChannel(StrEnum):
    PHONE = "phone"
    WECHAT = "wechat"
    SMS = "sms"
    EMAIL = "email"
    VISIT = "visit"
    EVENT = "event"
    OTHER = "other"


CONTACT_CHANNEL_LABELS = {
    ContactChannel.PHONE: N_("Phone call"),
    ContactChannel.WECHAT: N_("WeChat"),
    ContactChannel.SMS: N_("SMS"),
    ContactChannel.EMAIL: N_("Email"),
    ContactChannel.VISIT: N_("Visit"),
    ContactChannel.EVENT: N_("Event"),
    ContactChannel.OTHER: N_("Other"),
}


class ContactDirection(StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


CONTACT_DIRECTION_LABELS = {
    ContactDirection.OUTBOUND: N_("We reached out"),
    ContactDirection.INBOUND: N_("They reached us"),
}


class ContactOutcome(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    POSITIVE = "positive"
    NEGATIVE = "negative"
    PURCHASED = "purchased"


CONTACT_OUTCOME_LABELS = {
    ContactOutcome.REACHED: N_("Talked"),
    ContactOutcome.NO_ANSWER: N_("No answer"),
    ContactOutcome.POSITIVE: N_("Went well"),
    ContactOutcome.NEGATIVE: N_("Unhappy"),
    ContactOutcome.PURCHASED: N_("Bought"),
}


class Contact(TenantRow, Timestamps, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_org_customer_at", "org_id", "customer_id", "occurred_at"),
        Index("ix_contacts_org_staff_at", "org_id", "staff_id", "occurred_at"),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    channel: Mapped[ContactChannel] = mapped_column(String(16))
    direction: Mapped[ContactDirection] = mapped_column(
        String(16), default=ContactDirection.OUTBOUND
    )
    outcome: Mapped[ContactOutcome] = mapped_column(String(16), default=ContactOutcome.REACHED)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    notes: Mapped[str | None] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(String(500))
    next_step_on: Mapped[date | None] = mapped_column(Date)


class TaskKind(StrEnum):
    FOLLOW_UP = "follow_up"  # a next step promised in a contact
    RUNNING_OUT = "running_out"  # an item is about to run out (use → end of use)
    REPURCHASE = "repurchase"  # the item has run out: time to buy again
    WIN_BACK = "win_back"  # overdue by the tenant's factor of the customer's own cycle
    CALLBACK = "callback"  # a call-back staff scheduled by hand


TASK_KIND_LABELS = {
    TaskKind.FOLLOW_UP: N_("Promised follow-up"),
    TaskKind.RUNNING_OUT: N_("About to run out"),
    TaskKind.REPURCHASE: N_("Time to buy again"),
    TaskKind.WIN_BACK: N_("Win back"),
    TaskKind.CALLBACK: N_("Call-back"),
}


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    DISMISSED = "dismissed"


TASK_STATUS_LABELS = {
    TaskStatus.OPEN: N_("Open"),
    TaskStatus.DONE: N_("Done"),
    TaskStatus.DISMISSED: N_("Dismissed"),
}


class Task(TenantRow, Timestamps, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        # One task per cause: `repurchase:item:42`, `follow_up:contact:7`, ...
        UniqueConstraint("org_id", "key"),
        Index("ix_tasks_org_assignee_status_due", "org_id", "assignee_id", "status", "due_on"),
        Index("ix_tasks_org_customer", "org_id", "customer_id"),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    assignee_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    kind: Mapped[TaskKind] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[TaskStatus] = mapped_column(String(16), default=TaskStatus.OPEN)
    closed_at: Mapped[datetime | None] = mapped_column()
    contact_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="SET NULL")
    )
    order_item_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("order_items.id", ondelete="CASCADE")
    )


class CadenceScope(StrEnum):
    DEFAULT = "default"
    LIFECYCLE_STAGE = "lifecycle_stage"
    TAG = "tag"
    VALUE_TIER = "value_tier"


CADENCE_SCOPE_LABELS = {
    CadenceScope.DEFAULT: N_("Everyone else"),
    CadenceScope.LIFECYCLE_STAGE: N_("Lifecycle stage"),
    CadenceScope.TAG: N_("Tag"),
    CadenceScope.VALUE_TIER: N_("Value tier"),
}


class CadenceRule(TenantRow, Timestamps, Base):
    """At most `max_gap_days` between two contacts for the customers in scope. A customer in
    the scope of several rules keeps the tightest (smallest) gap."""

    __tablename__ = "cadence_rules"
    __table_args__ = (UniqueConstraint("org_id", "scope", "value"),)

    scope: Mapped[CadenceScope] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(50), default="")
    max_gap_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ValueTier(StrEnum):
    TOP = "top"  # the top 20% by spend
    MIDDLE = "middle"
    TAIL = "tail"  # the bottom 30%, and customers who never bought


VALUE_TIER_LABELS = {
    ValueTier.TOP: N_("Top 20%"),
    ValueTier.MIDDLE: N_("Middle"),
    ValueTier.TAIL: N_("Tail"),
}


class Activity(StrEnum):
    """Bands of the value model's P(alive): how likely a customer still buys from the tenant."""

    ACTIVE = "active"
    AT_RISK = "at_risk"
    LAPSING = "lapsing"


ACTIVITY_LABELS = {
    Activity.ACTIVE: N_("Still active"),
    Activity.AT_RISK: N_("At risk"),
    Activity.LAPSING: N_("Slipping away"),
}
# [lower, upper) bounds of P(alive) per band.
ACTIVITY_BANDS: dict[Activity, tuple[float, float]] = {
    Activity.ACTIVE: (0.7, 1.01),
    Activity.AT_RISK: (0.3, 0.7),
    Activity.LAPSING: (0.0, 0.3),
}


def activity_of(p_alive: float) -> Activity:
    for band, (low, high) in ACTIVITY_BANDS.items():
        if low <= p_alive < high:
            return band
    return Activity.LAPSING


class EngagementSettings(TenantRow, Timestamps, Base):
    """A tenant's rules for stages and product cycles (one row per tenant; defaults apply
    when it has none)."""

    __tablename__ = "engagement_settings"
    __table_args__ = (UniqueConstraint("org_id"),)

    # Lapsed: no purchase for lapsed_factor × the customer's own repurchase interval
    # (or × default_cycle_days while they have bought only once).
    lapsed_factor: Mapped[float] = mapped_column(Float, default=2.0)
    default_cycle_days: Mapped[int] = mapped_column(Integer, default=90)
    # ... or, when set and CLV figures exist, P(alive) below this threshold.
    lapsed_p_alive_below: Mapped[float | None] = mapped_column(Float)
    # Loyal: at least this many paid orders and not lapsed.
    loyal_min_orders: Mapped[int] = mapped_column(Integer, default=5)
    # Product cycle: remind this many days before an item runs out, nudge on the day it
    # does, win back when the customer is overdue by winback_factor × their own cycle.
    reminder_days_before: Mapped[int] = mapped_column(Integer, default=7)
    winback_factor: Mapped[float] = mapped_column(Float, default=1.5)


class StageKind(StrEnum):
    LIFECYCLE = "lifecycle"
    RELATIONSHIP = "relationship"


class StageChange(TenantRow, Base):
    __tablename__ = "stage_changes"
    __table_args__ = (Index("ix_stage_changes_org_customer_at", "org_id", "customer_id", "at"),)

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[StageKind] = mapped_column(String(16))
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # None when a rule made the change (the reason says which).
    changed_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    reason: Mapped[str | None] = mapped_column(String(200))


class CustomerFigures(TenantRow, Base):
    """What a customer's orders and contacts add up to; one row per customer, rewritten by
    the recompute (all customers daily, one customer whenever their orders change)."""

    __tablename__ = "customer_figures"
    __table_args__ = (
        UniqueConstraint("org_id", "customer_id"),
        Index("ix_customer_figures_org_total", "org_id", "total_spent"),
        Index("ix_customer_figures_org_next", "org_id", "next_expected_purchase_at"),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    orders_count: Mapped[int] = mapped_column(Integer, default=0)
    total_spent: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    average_order_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    first_purchase_at: Mapped[datetime | None] = mapped_column()
    last_purchase_at: Mapped[datetime | None] = mapped_column()
    # Mean days between the customer's purchases; None until they bought twice.
    repurchase_interval_days: Mapped[float | None] = mapped_column(Float)
    next_expected_purchase_at: Mapped[datetime | None] = mapped_column()
    contact_count: Mapped[int] = mapped_column(Integer, default=0)
    last_contact_at: Mapped[datetime | None] = mapped_column()
    # RFM scores 1–5 by the tenant's quintiles (5 = most recent / most frequent / most spent).
    recency_score: Mapped[int | None] = mapped_column(Integer)
    frequency_score: Mapped[int | None] = mapped_column(Integer)
    monetary_score: Mapped[int | None] = mapped_column(Integer)
    value_tier: Mapped[ValueTier] = mapped_column(String(8), default=ValueTier.TAIL)
    # Customer-value model outputs (filled by the CLV job when the tenant has them).
    p_alive: Mapped[float | None] = mapped_column(Float)
    expected_purchases_90d: Mapped[float | None] = mapped_column(Float)
    expected_purchases_365d: Mapped[float | None] = mapped_column(Float)
    clv: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    computed_at: Mapped[datetime | None] = mapped_column()
