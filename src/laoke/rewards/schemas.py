"""What crosses the boundary of the rewards domain (JSON API and pages)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, model_validator

from laoke.rewards.models import (
    AccountKind,
    Asset,
    Beneficiary,
    CouponKind,
    CouponStatus,
    Operation,
    RewardKind,
    RewardStatus,
    RewardTrigger,
)

# --- Reward rules, ladder tiers, budgets and reward settings -------------------------------
#
# The shapes only check types and lengths; `rewards.rules` checks every value against the
# kind of reward and the trigger, so the API and the pages refuse the same things with the
# same messages.


class RuleFields(BaseModel):
    """A rule's fields, all optional: PATCH sends only what changes; null clears a value."""

    model_config = ConfigDict(extra="forbid")

    beneficiary: Beneficiary | None = Field(
        default=None, description="referrer or referee (the referred friend)"
    )
    trigger: RewardTrigger | None = Field(
        default=None,
        description="lead, first_purchase, purchase_at_least; tier for a ladder tier's rules",
    )
    min_amount: Decimal | None = Field(
        default=None, description="For purchase_at_least: the order amount in yuan (> 0)"
    )
    kind: RewardKind | None = Field(
        default=None, description="points, coupon, cash, gift, privilege or honour"
    )
    amount: Decimal | None = Field(
        default=None,
        description="Points; yuan for cash and fixed coupons; percent for percent coupons; "
        "the cost of a gift",
    )
    label: str | None = Field(
        default=None, max_length=100, description="The gift, privilege or title by name"
    )
    coupon_kind: CouponKind | None = Field(default=None, description="fixed or percent")
    min_spend: Decimal | None = Field(default=None, description="A coupon's minimum spend, yuan")
    valid_days: int | None = Field(
        default=None, description="How long a coupon or privilege lasts after release, days"
    )
    hold_days: int | None = Field(
        default=None, description="Days held before use (0–365); null = return window + 1"
    )
    cap_per_month: int | None = Field(
        default=None, description="At most this many per beneficiary per month; null = no cap"
    )
    cap_lifetime: int | None = Field(
        default=None, description="At most this many per beneficiary ever; null = no cap"
    )


class RuleCreate(RuleFields):
    beneficiary: Beneficiary = Beneficiary.REFERRER
    trigger: RewardTrigger = RewardTrigger.FIRST_PURCHASE
    kind: RewardKind = RewardKind.POINTS
    amount: Decimal = Decimal(0)
    label: str = Field(default="", max_length=100)
    tier_id: int | None = Field(
        default=None, description="Make it one of this ladder tier's rewards (trigger tier)"
    )


class RuleUpdate(RuleFields):
    active: bool | None = Field(default=None, description="false stops the rule paying out")


class RulePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    program_id: int
    tier_id: int | None
    beneficiary: Beneficiary
    trigger: RewardTrigger
    min_amount: Decimal | None
    kind: RewardKind
    amount: Decimal
    label: str
    coupon_kind: CouponKind | None
    min_spend: Decimal | None
    valid_days: int | None
    hold_days: int | None
    cap_per_month: int | None
    cap_lifetime: int | None
    active: bool
    description: str = Field(default="", description="The rule in one line, in your language")
    created_at: datetime
    updated_at: datetime


class TierFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: int | None = Field(
        default=None, description="Lifetime successful referrals that reach it (1–1000)"
    )
    title: str | None = Field(
        default=None, max_length=60, description="The honour title the referrer earns"
    )
    makes_agent: bool | None = Field(
        default=None, description="Whether reaching it makes the referrer an agent (分销商)"
    )
    commission_rate: Decimal | None = Field(
        default=None, description="An agent's commission on referred friends' orders, 0–1"
    )


class TierCreate(TierFields):
    threshold: int
    title: str = Field(max_length=60)
    makes_agent: bool = False


class TierPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    program_id: int
    threshold: int
    title: str
    makes_agent: bool
    commission_rate: Decimal | None
    rules: list[RulePublic] = Field(default_factory=list, description="The tier's own rewards")
    created_at: datetime
    updated_at: datetime


class BudgetInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reward_budget: Decimal | None = Field(
        description="What the program's rewards may cost in all, yuan; null = no budget"
    )


class BudgetPublic(BaseModel):
    program_id: int
    reward_budget: Decimal | None
    spent: Decimal = Field(description="The cost of the program's live rewards, yuan")
    left: Decimal | None
    share_used: float | None = Field(description="spent / budget, 0–1 (more when over)")


class SettingsFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    return_window_days: int = Field(description="Refunds accepted within (0–90 days)")
    point_value: Decimal = Field(description="What one point is worth, yuan (> 0)")
    points_valid_days: int = Field(description="Points lapse after release (1–3650 days)")
    expiry_reminder_days: int = Field(description="Remind before points lapse (0–90 days)")
    max_redeem_share: Decimal = Field(
        description="The share of an order points and coupons may pay (0–1)"
    )


class SettingsPublic(SettingsFields):
    default_hold_days: int = Field(description="The hold of rules without their own")
    updated_at: datetime | None


# --- end of reward rules, ladder tiers, budgets and reward settings ------------------------


# --- wallets, rewards, redemptions and the ledger ---------------------------------------------

MoneyOut = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str)]
PointsOut = Annotated[Decimal, PlainSerializer(lambda v: int(v), return_type=int)]


class WalletPoints(BaseModel):
    available: PointsOut = Field(description="Points the customer may use now")
    held: PointsOut = Field(description="Points issued but still in their hold period")
    owed: PointsOut = Field(description="Points clawed back after they were spent")
    lapsing_soon: PointsOut = Field(description="Points that lapse within the reminder window")
    lapses_on: date | None = Field(description="The first day some of them lapse")
    value: MoneyOut = Field(description="What the available points are worth in yuan")


class WalletCoupon(BaseModel):
    id: int
    reward_id: int
    code: str
    kind: CouponKind
    value: MoneyOut = Field(description="Yuan off, or percent off for a percent coupon")
    min_spend: MoneyOut | None
    expires_on: date | None
    status: CouponStatus
    usable: bool


class WalletCash(BaseModel):
    available: MoneyOut = Field(description="Cash owed to the customer, waiting to be paid out")
    held: MoneyOut = Field(description="Cash still in its hold period")
    owed: MoneyOut = Field(description="Cash clawed back after it was paid: the customer owes it")


class WalletLine(BaseModel):
    reward_id: int
    kind: RewardKind
    label: str
    status: RewardStatus
    until: date | None


class WalletLadder(BaseModel):
    program_id: int
    program_name: str
    successful: int = Field(description="Successful referrals counted by the ladder")
    tier_title: str | None
    tier_threshold: int | None
    next_title: str | None
    next_threshold: int | None


class WalletOut(BaseModel):
    customer_id: int
    points: WalletPoints
    coupons: list[WalletCoupon]
    cash_payable: WalletCash
    gifts: list[WalletLine] = Field(description="Gifts to collect (held or ready)")
    privileges: list[WalletLine]
    titles: list[str]
    tier: WalletLadder | None = Field(description="The highest ladder tier reached")
    ladders: list[WalletLadder]
    commission_rate: Decimal | None = Field(description="The agent's commission rate, if any")


class RewardIssue(BaseModel):
    """A reward given by hand (a goodwill gesture, a correction, an offline promise)."""

    model_config = ConfigDict(extra="forbid")

    customer_id: int = Field(ge=1, le=2**62)
    kind: RewardKind
    amount: Decimal = Field(
        default=Decimal(0), ge=0, le=Decimal(1_000_000), allow_inf_nan=False, decimal_places=2
    )
    label: str = Field(default="", max_length=100)
    coupon_kind: CouponKind | None = None
    min_spend: Decimal | None = Field(
        default=None, ge=0, le=Decimal(100_000_000), allow_inf_nan=False, decimal_places=2
    )
    hold_days: int | None = Field(default=None, ge=0, le=365)
    program_id: int | None = Field(default=None, ge=1, le=2**62)

    @model_validator(mode="after")
    def _coupon_fields(self) -> RewardIssue:
        if self.kind != RewardKind.COUPON and (self.coupon_kind or self.min_spend is not None):
            raise ValueError("coupon_kind and min_spend are for coupons")
        return self


class RewardCoupon(BaseModel):
    id: int
    code: str
    kind: CouponKind
    value: MoneyOut
    min_spend: MoneyOut | None
    expires_on: date | None
    status: CouponStatus
    used_order_id: int | None


class RewardOut(BaseModel):
    id: int
    customer_id: int
    kind: RewardKind
    amount: MoneyOut
    cost: MoneyOut = Field(description="What the reward costs the business in yuan")
    label: str
    status: RewardStatus
    status_reason: str | None
    program_id: int | None
    rule_id: int | None
    tier_id: int | None
    lead_id: int | None
    order_id: int | None
    source: str
    hold_until: datetime | None
    released_at: datetime | None
    reversed_at: datetime | None
    expires_on: date | None
    reference: str | None
    created_at: datetime
    coupon: RewardCoupon | None = None


class RewardPageOut(BaseModel):
    items: list[RewardOut]
    total: int
    page: int
    per_page: int
    pages: int


class LedgerEntryOut(BaseModel):
    id: int
    seq: int
    at: datetime
    operation: Operation
    asset: Asset
    amount: MoneyOut
    debit_account_id: int
    credit_account_id: int
    reward_id: int | None
    coupon_id: int | None
    redemption_id: int | None
    order_id: int | None
    memo: str
    hash: str
    prev_hash: str


class ReferralOut(BaseModel):
    lead_id: int
    status: str
    referrer_customer_id: int | None
    referee_customer_id: int | None


class RewardDetailOut(RewardOut):
    entries: list[LedgerEntryOut]
    referral: ReferralOut | None


class PayoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str = Field(min_length=1, max_length=100)


class HandOverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=100)


class ReverseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=200)


class RedemptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: int = Field(default=0, ge=0, le=100_000_000, description="Whole points to use")
    coupon_id: int | None = Field(default=None, ge=1, le=2**62)


class RedemptionOut(BaseModel):
    id: int
    order_id: int
    customer_id: int
    points: PointsOut
    coupon_id: int | None
    value: MoneyOut = Field(description="The discount in yuan")
    created_at: datetime
    restored_at: datetime | None


class LedgerAccountOut(BaseModel):
    id: int
    asset: Asset
    kind: AccountKind
    customer_id: int | None
    balance: MoneyOut


class LedgerEntriesOut(BaseModel):
    items: list[LedgerEntryOut]
    next_after_seq: int | None = Field(description="Pass as after_seq for the next page")


class LedgerVerifyOut(BaseModel):
    ok: bool
    entries: int
    accounts: int
    head_hash: str
    problems: list[str]
    first_broken_seq: int | None
    first_broken_id: int | None
