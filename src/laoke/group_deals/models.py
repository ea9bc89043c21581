"""Group offers (拼团: "3 join, 1 free", "bring 8 friends, learn free"), the groups customers
open under them, and who joined each group.

A group completes when `group_size` members (the leader included) have each made a
qualifying paid purchase after joining and before the deadline; the offer's benefit is then
issued through the reward ledger, tied to each qualifying order so a refund reverses it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from laoke.db import Base, BigId, TenantRow, Timestamps
from laoke.errors import N_

Money = Numeric(14, 2)


class OfferStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


OFFER_STATUS_LABELS = {
    OfferStatus.ACTIVE: N_("Active"),
    OfferStatus.PAUSED: N_("Paused"),
    OfferStatus.ENDED: N_("Ended"),
}


class BenefitKind(StrEnum):
    LEADER_FREE = "leader_free"  # the leader's qualifying order back in cash (免单)
    EACH_MEMBER = "each_member"  # every qualified member gets points, a coupon or cash


BENEFIT_LABELS = {
    BenefitKind.LEADER_FREE: N_("Leader free: the leader's order back in cash"),
    BenefitKind.EACH_MEMBER: N_("Each member gets a reward"),
}


class GroupStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


GROUP_STATUS_LABELS = {
    GroupStatus.OPEN: N_("Gathering members"),
    GroupStatus.COMPLETED: N_("Completed"),
    GroupStatus.EXPIRED: N_("Expired"),
    GroupStatus.CANCELLED: N_("Cancelled"),
}


class JoinSource(StrEnum):
    LEADER = "leader"
    LINK = "link"
    STAFF = "staff"
    API = "api"


class GroupOffer(TenantRow, Timestamps, Base):
    """What a business offers for a completed group, and what a qualifying purchase is."""

    __tablename__ = "group_offers"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        CheckConstraint("group_size >= 2 AND group_size <= 50", name="group_size_range"),
        CheckConstraint("open_hours >= 1", name="open_hours_positive"),
        CheckConstraint("min_amount IS NULL OR min_amount >= 0", name="min_amount_not_negative"),
    )

    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[OfferStatus] = mapped_column(String(10), default=OfferStatus.ACTIVE)
    description: Mapped[str] = mapped_column(String(500), default="")
    group_size: Mapped[int] = mapped_column(Integer)
    # How long a group stays open after it is opened.
    open_hours: Mapped[int] = mapped_column(Integer)
    # The qualifying purchase: any paid order, or one of at least `min_amount`, optionally
    # containing `product_id`.
    min_amount: Mapped[Decimal | None] = mapped_column(Money)
    product_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("products.id", ondelete="SET NULL")
    )
    benefit: Mapped[BenefitKind] = mapped_column(String(12))
    # Leader free: the most the leader gets back (None: the whole order).
    leader_cap: Mapped[Decimal | None] = mapped_column(Money)
    # Each member: points, coupon or cash, and how much.
    member_kind: Mapped[str | None] = mapped_column(String(12))
    member_amount: Mapped[Decimal | None] = mapped_column(Money)
    coupon_min_spend: Mapped[Decimal | None] = mapped_column(Money)
    coupon_valid_days: Mapped[int | None] = mapped_column(Integer)
    program_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("referral_programs.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )


class Group(TenantRow, Timestamps, Base):
    """One group opened under an offer, shared by its link `/g/{token}`."""

    __tablename__ = "group_deals"
    __table_args__ = (
        UniqueConstraint("token"),
        Index("ix_group_deals_org_status_deadline", "org_id", "status", "deadline"),
        Index("ix_group_deals_org_offer", "org_id", "offer_id"),
        Index("ix_group_deals_org_leader", "org_id", "leader_customer_id"),
    )

    offer_id: Mapped[int] = mapped_column(BigId, ForeignKey("group_offers.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(32))
    leader_customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    status: Mapped[GroupStatus] = mapped_column(String(10), default=GroupStatus.OPEN)
    opened_at: Mapped[datetime] = mapped_column()
    deadline: Mapped[datetime] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    cancelled_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )


class GroupMember(TenantRow, Base):
    """A customer in a group. `open_offer_id` is the group's offer while the group is open
    and NULL once it closes: the unique key then says one open group per offer per customer,
    even for two joins racing each other."""

    __tablename__ = "group_deal_members"
    __table_args__ = (
        UniqueConstraint("group_id", "customer_id"),
        UniqueConstraint("org_id", "open_offer_id", "customer_id"),
        Index("ix_group_deal_members_org_customer", "org_id", "customer_id"),
        Index("ix_group_deal_members_org_order", "org_id", "qualifying_order_id"),
    )

    group_id: Mapped[int] = mapped_column(BigId, ForeignKey("group_deals.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    open_offer_id: Mapped[int | None] = mapped_column(BigId)
    is_leader: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[JoinSource] = mapped_column(String(10))
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_at: Mapped[datetime] = mapped_column()
    qualifying_order_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("orders.id", ondelete="SET NULL")
    )
    qualified_at: Mapped[datetime | None] = mapped_column()
    reward_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("rewards.id", ondelete="SET NULL")
    )
    added_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
