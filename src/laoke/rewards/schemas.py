"""What crosses the boundary of the rewards domain (API request and response bodies)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, model_validator

from laoke.rewards.models import (
    AccountKind,
    Asset,
    CouponKind,
    CouponStatus,
    Operation,
    RewardKind,
    RewardStatus,
)

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
