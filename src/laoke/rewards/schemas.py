"""What crosses the boundary of the rewards domain (JSON API and pages)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from laoke.rewards.models import Beneficiary, CouponKind, RewardKind, RewardTrigger

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
