"""What crosses the boundary: checks, the review queue, decisions and thresholds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from laoke.fraud.models import CheckStage, CheckStatus
from laoke.fraud.review import Outcome
from laoke.referrals.models import Attribution, LeadStatus


class FraudRuleHit(BaseModel):
    code: str
    weight: float
    reason: str = Field(description="Why the rule fired (English; the pages translate it)")
    inputs: dict[str, Any]


class FraudCheckPublic(BaseModel):
    lead_id: int
    status: CheckStatus
    stage: CheckStage
    score: float
    flagged: bool
    hits: list[FraudRuleHit]
    evaluated_at: datetime
    reviewer_id: int | None
    reviewed_at: datetime | None
    reason: str | None
    household: bool
    release_block: str | None = Field(
        description='None: rewards may be released; "review" or "declined" otherwise'
    )


class FraudReviewItem(BaseModel):
    check: FraudCheckPublic
    referee_name: str
    referee_phone_masked: str | None
    referrer_customer_id: int | None
    referrer_user_id: int | None
    lead_status: LeadStatus
    attribution: Attribution
    lead_created_at: datetime


class FraudReviewPage(BaseModel):
    items: list[FraudReviewItem]
    total: int


class ReviewDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    reason: str | None = Field(default=None, max_length=500)


class FraudSettingsFields(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)

    referrer_hour_limit: int = Field(ge=1, le=1000)
    referrer_day_limit: int = Field(ge=1, le=10000)
    code_hour_limit: int = Field(ge=1, le=1000)
    code_day_limit: int = Field(ge=1, le=10000)
    fast_conversion_minutes: int = Field(ge=0, le=1440)
    refund_limit: int = Field(ge=1, le=100)
