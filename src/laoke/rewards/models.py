"""Reward rules, ladders, agents, rewards and coupons, and the double-entry reward ledger.

A `RewardRule` says what a program pays whom and when; a `Reward` is one such promise made
to one customer. Every movement of value a reward causes (points, coupons, cash, gifts) is a
`LedgerEntry` that debits one `LedgerAccount` and credits another. Entries are append-only
(database triggers refuse UPDATE and DELETE, see `rewards.guard`) and each carries the hash of
the tenant's previous entry, so `laoke ledger verify` can prove nobody edited them.
Privileges and honour titles move no value: they are rewards without entries.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from laoke.db import Base, BigId, TenantRow, Timestamps, utcnow
from laoke.errors import N_

Money = Numeric(14, 2)
Quantity = Numeric(16, 2)
Rate = Numeric(6, 4)


class RewardKind(StrEnum):
    POINTS = "points"
    COUPON = "coupon"
    CASH = "cash"
    GIFT = "gift"
    PRIVILEGE = "privilege"
    HONOUR = "honour"
    COMMISSION = "commission"


REWARD_KIND_LABELS = {
    RewardKind.POINTS: N_("Points"),
    RewardKind.COUPON: N_("Coupon"),
    RewardKind.CASH: N_("Cash"),
    RewardKind.GIFT: N_("Gift"),
    RewardKind.PRIVILEGE: N_("Privilege"),
    RewardKind.HONOUR: N_("Honour title"),
    RewardKind.COMMISSION: N_("Commission"),
}


class Asset(StrEnum):
    """What a ledger account holds; coupons and gifts are counted in units."""

    POINTS = "points"
    CASH = "cash"
    COUPON = "coupon"
    GIFT = "gift"


ASSET_OF_KIND: dict[RewardKind, Asset | None] = {
    RewardKind.POINTS: Asset.POINTS,
    RewardKind.COUPON: Asset.COUPON,
    RewardKind.CASH: Asset.CASH,
    RewardKind.COMMISSION: Asset.CASH,
    RewardKind.GIFT: Asset.GIFT,
    RewardKind.PRIVILEGE: None,
    RewardKind.HONOUR: None,
}


class Beneficiary(StrEnum):
    REFERRER = "referrer"
    REFEREE = "referee"


BENEFICIARY_LABELS = {
    Beneficiary.REFERRER: N_("The referrer"),
    Beneficiary.REFEREE: N_("The referred friend"),
}


class RewardTrigger(StrEnum):
    LEAD = "lead"
    FIRST_PURCHASE = "first_purchase"
    PURCHASE_AT_LEAST = "purchase_at_least"
    TIER = "tier"


TRIGGER_LABELS = {
    RewardTrigger.LEAD: N_("When the friend leaves their details"),
    RewardTrigger.FIRST_PURCHASE: N_("On the friend's first purchase"),
    RewardTrigger.PURCHASE_AT_LEAST: N_("When the friend buys for at least an amount"),
    RewardTrigger.TIER: N_("On reaching a ladder tier"),
}


class CouponKind(StrEnum):
    FIXED = "fixed"
    PERCENT = "percent"


class RewardStatus(StrEnum):
    HELD = "held"  # issued, waiting out the hold period
    IN_REVIEW = "in_review"  # hold period over, the referral is flagged and awaits review
    RELEASED = "released"  # the customer may use it
    REDEEMED = "redeemed"  # coupon used, cash paid out, gift handed over
    REVERSED = "reversed"  # taken back (refund, declined review, correction)
    EXPIRED = "expired"  # coupon or privilege ran out unused
    CAPPED = "capped"  # never issued: a cap or the program budget was reached


REWARD_STATUS_LABELS = {
    RewardStatus.HELD: N_("Held"),
    RewardStatus.IN_REVIEW: N_("Awaiting review"),
    RewardStatus.RELEASED: N_("Released"),
    RewardStatus.REDEEMED: N_("Redeemed"),
    RewardStatus.REVERSED: N_("Reversed"),
    RewardStatus.EXPIRED: N_("Expired"),
    RewardStatus.CAPPED: N_("Not issued (cap reached)"),
}

# Statuses that count against caps and budgets.
LIVE_STATUSES = (
    RewardStatus.HELD,
    RewardStatus.IN_REVIEW,
    RewardStatus.RELEASED,
    RewardStatus.REDEEMED,
    RewardStatus.EXPIRED,
)


class AccountKind(StrEnum):
    """Customer accounts never go below zero (a CHECK constraint holds that); system
    accounts are the other side of every movement and may."""

    HELD = "held"  # issued, not yet usable
    AVAILABLE = "available"  # usable points/coupons/gifts; cash owed to the customer
    RECEIVABLE = "receivable"  # clawed back after it was spent: the customer owes it
    ISSUED = "system_issued"  # source of every reward
    REDEEMED = "system_redeemed"  # used against orders, paid out, handed over
    EXPIRED = "system_expired"


CUSTOMER_ACCOUNTS = (AccountKind.HELD, AccountKind.AVAILABLE, AccountKind.RECEIVABLE)
# Balances are credits minus debits, except for receivables (debits minus credits).
DEBIT_NORMAL = (AccountKind.RECEIVABLE,)


class Operation(StrEnum):
    ISSUE = "issue"
    RELEASE = "release"
    SETTLE = "settle"  # a released reward pays off what the customer owed
    REDEEM = "redeem"
    RESTORE = "restore"  # a refunded order gives back what was redeemed on it
    REVERSE = "reverse"
    CLAWBACK = "clawback"
    RECEIVABLE = "receivable"
    EXPIRE = "expire"
    PAYOUT = "payout"
    TRANSFER = "transfer"  # customers merged


OPERATION_LABELS = {
    Operation.ISSUE: N_("Issued"),
    Operation.RELEASE: N_("Released"),
    Operation.SETTLE: N_("Settled a debt"),
    Operation.REDEEM: N_("Redeemed"),
    Operation.RESTORE: N_("Restored after a refund"),
    Operation.REVERSE: N_("Reversed"),
    Operation.CLAWBACK: N_("Clawed back"),
    Operation.RECEIVABLE: N_("Recorded as owed"),
    Operation.EXPIRE: N_("Expired"),
    Operation.PAYOUT: N_("Paid out"),
    Operation.TRANSFER: N_("Moved by a customer merge"),
}


class RewardSettings(Base):
    """A tenant's reward settings; a missing row means the defaults below."""

    __tablename__ = "reward_settings"

    org_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True
    )
    # The default hold is the return window plus one day.
    return_window_days: Mapped[int] = mapped_column(Integer, default=7)
    point_value: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.01"))
    points_valid_days: Mapped[int] = mapped_column(Integer, default=365)
    expiry_reminder_days: Mapped[int] = mapped_column(Integer, default=14)
    # The share of an order that points and coupons together may pay.
    max_redeem_share: Mapped[Decimal] = mapped_column(Rate, default=Decimal("0.5"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RewardTier(TenantRow, Timestamps, Base):
    """A rung of a program's ladder, reached at N lifetime successful referrals."""

    __tablename__ = "reward_tiers"
    __table_args__ = (
        UniqueConstraint("org_id", "program_id", "threshold"),
        CheckConstraint("threshold > 0", name="threshold_positive"),
        CheckConstraint(
            "commission_rate IS NULL OR (commission_rate > 0 AND commission_rate < 1)",
            name="commission_rate_range",
        ),
    )

    program_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("referral_programs.id", ondelete="CASCADE")
    )
    threshold: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(60))
    makes_agent: Mapped[bool] = mapped_column(Boolean, default=False)
    commission_rate: Mapped[Decimal | None] = mapped_column(Rate)


class RewardRule(TenantRow, Timestamps, Base):
    """What a program gives the referrer or the friend, on which trigger, within which caps.

    `amount` means points for points, yuan for cash and fixed coupons, a percentage for
    percent coupons and the cost of a gift; `label` names the gift, privilege or title.
    """

    __tablename__ = "reward_rules"
    __table_args__ = (
        Index("ix_reward_rules_org_program", "org_id", "program_id"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    program_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("referral_programs.id", ondelete="CASCADE")
    )
    tier_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("reward_tiers.id", ondelete="CASCADE")
    )
    beneficiary: Mapped[Beneficiary] = mapped_column(String(10))
    trigger: Mapped[RewardTrigger] = mapped_column(String(20))
    min_amount: Mapped[Decimal | None] = mapped_column(Money)
    kind: Mapped[RewardKind] = mapped_column(String(12))
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    label: Mapped[str] = mapped_column(String(100), default="")
    coupon_kind: Mapped[CouponKind | None] = mapped_column(String(8))
    min_spend: Mapped[Decimal | None] = mapped_column(Money)
    valid_days: Mapped[int | None] = mapped_column(Integer)
    hold_days: Mapped[int | None] = mapped_column(Integer)
    cap_per_month: Mapped[int | None] = mapped_column(Integer)
    cap_lifetime: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Agent(TenantRow, Timestamps, Base):
    """A customer who earns commission on their referred friends' orders (分销商)."""

    __tablename__ = "reward_agents"
    __table_args__ = (UniqueConstraint("org_id", "customer_id"),)

    customer_id: Mapped[int] = mapped_column(
        BigId,
        ForeignKey("customers.id", ondelete="CASCADE"),
        info={"on_customer_merge": "skip"},
    )
    commission_rate: Mapped[Decimal] = mapped_column(Rate)
    tier_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("reward_tiers.id", ondelete="SET NULL")
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Reward(TenantRow, Timestamps, Base):
    __tablename__ = "rewards"
    __table_args__ = (
        UniqueConstraint("org_id", "idempotency_key"),
        # At most one reward per referral per rule per beneficiary.
        UniqueConstraint("org_id", "rule_id", "lead_id", "customer_id"),
        Index("ix_rewards_org_customer", "org_id", "customer_id", "status"),
        Index("ix_rewards_org_status_hold", "org_id", "status", "hold_until"),
        Index("ix_rewards_org_lead", "org_id", "lead_id"),
        Index("ix_rewards_org_order", "org_id", "order_id"),
        Index("ix_rewards_org_program", "org_id", "program_id", "status"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    kind: Mapped[RewardKind] = mapped_column(String(12))
    amount: Mapped[Decimal] = mapped_column(Quantity)
    # What the reward costs the business in yuan; caps the program budget.
    cost: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    label: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[RewardStatus] = mapped_column(String(12))
    status_reason: Mapped[str | None] = mapped_column(String(200))
    program_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("referral_programs.id", ondelete="SET NULL")
    )
    rule_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("reward_rules.id", ondelete="SET NULL")
    )
    tier_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("reward_tiers.id", ondelete="SET NULL")
    )
    lead_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("referral_leads.id", ondelete="SET NULL")
    )
    # The order that earned it: refunding that order reverses the reward.
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("orders.id"))
    source: Mapped[str] = mapped_column(String(20), default="rule")
    source_id: Mapped[int | None] = mapped_column(BigId)
    idempotency_key: Mapped[str] = mapped_column(String(120))
    request_hash: Mapped[str] = mapped_column(String(64))
    hold_until: Mapped[datetime | None] = mapped_column()
    released_at: Mapped[datetime | None] = mapped_column()
    settled_at: Mapped[datetime | None] = mapped_column()
    reversed_at: Mapped[datetime | None] = mapped_column()
    # Days a coupon or privilege lasts once released.
    valid_days: Mapped[int | None] = mapped_column(Integer)
    # Points lapse on this day (tenant time); privileges last until it.
    expires_on: Mapped[date | None] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )


class CouponStatus(StrEnum):
    HELD = "held"
    AVAILABLE = "available"
    USED = "used"
    EXPIRED = "expired"
    VOID = "void"


COUPON_STATUS_LABELS = {
    CouponStatus.HELD: N_("Held"),
    CouponStatus.AVAILABLE: N_("Usable"),
    CouponStatus.USED: N_("Used"),
    CouponStatus.EXPIRED: N_("Expired"),
    CouponStatus.VOID: N_("Void"),
}


class Coupon(TenantRow, Timestamps, Base):
    __tablename__ = "reward_coupons"
    __table_args__ = (
        UniqueConstraint("org_id", "code"),
        UniqueConstraint("org_id", "reward_id"),
        Index("ix_reward_coupons_org_customer", "org_id", "customer_id", "status"),
        Index("ix_reward_coupons_org_expires", "org_id", "status", "expires_on"),
        CheckConstraint("value > 0", name="value_positive"),
    )

    reward_id: Mapped[int] = mapped_column(BigId, ForeignKey("rewards.id"))
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    code: Mapped[str] = mapped_column(String(16))
    kind: Mapped[CouponKind] = mapped_column(String(8))
    value: Mapped[Decimal] = mapped_column(Money)
    min_spend: Mapped[Decimal | None] = mapped_column(Money)
    expires_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[CouponStatus] = mapped_column(String(10))
    used_order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("orders.id"))
    used_at: Mapped[datetime | None] = mapped_column()


class Redemption(TenantRow, Base):
    """Points and/or a coupon used against one order."""

    __tablename__ = "reward_redemptions"
    __table_args__ = (
        UniqueConstraint("org_id", "idempotency_key"),
        Index("ix_reward_redemptions_org_order", "org_id", "order_id"),
        Index("ix_reward_redemptions_org_customer", "org_id", "customer_id"),
        CheckConstraint("points >= 0", name="points_not_negative"),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id"))
    points: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    coupon_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("reward_coupons.id"))
    # The discount in yuan the points and coupon gave.
    value: Mapped[Decimal] = mapped_column(Money)
    idempotency_key: Mapped[str] = mapped_column(String(120))
    request_hash: Mapped[str] = mapped_column(String(64))
    restored_at: Mapped[datetime | None] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerAccount(TenantRow, Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("org_id", "asset", "kind", "owner_key"),
        Index("ix_ledger_accounts_org_customer", "org_id", "customer_id"),
        CheckConstraint("kind LIKE 'system_%' OR balance >= 0", name="customer_not_negative"),
    )

    asset: Mapped[Asset] = mapped_column(String(8))
    kind: Mapped[AccountKind] = mapped_column(String(16))
    customer_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("customers.id"), info={"on_customer_merge": "skip"}
    )
    # "system" or "c{customer_id}": unique together with asset and kind on every backend.
    owner_key: Mapped[str] = mapped_column(String(24))
    # A cache of the balance the entries give; `ledger verify` checks the two agree.
    balance: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))


class LedgerHead(Base):
    """The tenant's newest entry: locked by every posting, so postings queue per tenant."""

    __tablename__ = "ledger_heads"

    org_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigId, default=0)
    hash: Mapped[str] = mapped_column(String(64), default="")


class LedgerEntry(TenantRow, Base):
    """One movement: `amount` leaves `debit_account` and reaches `credit_account`.

    No foreign key here may cascade or set null: that would be an UPDATE or DELETE,
    which the append-only triggers refuse.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("org_id", "seq"),
        Index("ix_ledger_entries_org_debit", "org_id", "debit_account_id"),
        Index("ix_ledger_entries_org_credit", "org_id", "credit_account_id"),
        Index("ix_ledger_entries_org_reward", "org_id", "reward_id"),
        Index("ix_ledger_entries_org_at", "org_id", "at"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
        CheckConstraint("seq > 0", name="seq_positive"),
    )

    seq: Mapped[int] = mapped_column(BigId)
    at: Mapped[datetime] = mapped_column()
    operation: Mapped[Operation] = mapped_column(String(12))
    asset: Mapped[Asset] = mapped_column(String(8))
    amount: Mapped[Decimal] = mapped_column(Quantity)
    debit_account_id: Mapped[int] = mapped_column(BigId, ForeignKey("ledger_accounts.id"))
    credit_account_id: Mapped[int] = mapped_column(BigId, ForeignKey("ledger_accounts.id"))
    reward_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("rewards.id"))
    coupon_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("reward_coupons.id"))
    redemption_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("reward_redemptions.id"))
    order_id: Mapped[int | None] = mapped_column(BigId)
    memo: Mapped[str] = mapped_column(String(200), default="")
    actor_id: Mapped[int | None] = mapped_column(BigId)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def fields(self) -> dict[str, Any]:
        return {
            "org_id": self.org_id,
            "seq": self.seq,
            "at": self.at,
            "operation": self.operation,
            "asset": self.asset,
            "amount": self.amount,
            "debit": self.debit_account_id,
            "credit": self.credit_account_id,
            "reward_id": self.reward_id,
            "coupon_id": self.coupon_id,
            "redemption_id": self.redemption_id,
            "order_id": self.order_id,
            "memo": self.memo,
            "actor_id": self.actor_id,
        }
