"""What crosses the boundary: programs, invite links and leads for the API and pages."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from laoke.customers.stages import LifecycleStage
from laoke.referrals.models import (
    Attribution,
    Eligibility,
    LeadSource,
    LeadStatus,
    ProgramStatus,
    QualifyingEvent,
)

MAX_LIST = 30


def _clean_list(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        text = value.strip()
        if text:
            seen.setdefault(text[:50], None)
    return list(seen)


class ProgramFields(BaseModel):
    """Every program field but the name; all optional (PATCH)."""

    model_config = ConfigDict(extra="forbid")

    status: ProgramStatus | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    eligibility: Eligibility | None = None
    eligible_stages: list[LifecycleStage] | None = Field(default=None, max_length=MAX_LIST)
    eligible_tags: list[str] | None = Field(default=None, max_length=MAX_LIST)
    referrer_offer_text: str | None = Field(default=None, max_length=300)
    referee_offer_text: str | None = Field(default=None, max_length=300)
    referrer_terms: dict[str, Any] | None = None
    referee_terms: dict[str, Any] | None = None
    qualifying_event: QualifyingEvent | None = None
    qualifying_amount: Decimal | None = Field(
        default=None, ge=0, le=Decimal("999999999999.99"), decimal_places=2
    )
    attribution_window_days: int | None = Field(default=None, ge=1, le=3650)

    @field_validator("eligible_tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _clean_list(value)

    @field_validator("referrer_terms", "referee_terms")
    @classmethod
    def _terms_small(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(str(value)) > 4000:
            raise ValueError("terms are limited to 4000 characters")
        return value


class ProgramUpdate(ProgramFields):
    name: str | None = Field(default=None, min_length=1, max_length=100)


class ProgramCreate(ProgramFields):
    name: str = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _name_not_blank(self) -> ProgramCreate:
        if not self.name.strip():
            raise ValueError("name must not be blank")
        return self


class ProgramPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    status: ProgramStatus
    starts_on: date | None
    ends_on: date | None
    eligibility: Eligibility
    eligible_stages: list[str]
    eligible_tags: list[str]
    referrer_offer_text: str
    referee_offer_text: str
    referrer_terms: dict[str, Any]
    referee_terms: dict[str, Any]
    qualifying_event: QualifyingEvent
    qualifying_amount: Decimal | None
    attribution_window_days: int
    created_at: datetime
    updated_at: datetime


class ReferralLink(BaseModel):
    code: str
    link: str
    qr_svg_url: str
    qr_png_url: str
    poster_url: str


class LeadCreate(BaseModel):
    """A sign-up reported by staff or a shop: by invite code, or by referrer id."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(default=None, max_length=32)
    referrer_customer_id: int | None = None
    referrer_user_id: int | None = None
    program_id: int | None = None
    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=1, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    consent: bool = False
    owner_id: int | None = None
    notes: str | None = Field(default=None, max_length=5000)


class LeadUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: LeadStatus | None = None
    lost_reason: str | None = Field(default=None, max_length=200)
    owner_id: int | None = None
    next_step: str | None = Field(default=None, max_length=300)
    next_step_on: date | None = None
    notes: str | None = Field(default=None, max_length=5000)
    referee_customer_id: int | None = None


class LeadPublic(BaseModel):
    id: int
    program_id: int | None
    referrer_customer_id: int | None
    referrer_user_id: int | None
    referee_name: str
    referee_phone_masked: str | None
    status: LeadStatus
    lost_reason: str | None
    attribution: Attribution
    duplicate_of_id: int | None
    source: LeadSource
    owner_id: int | None
    next_step: str | None
    next_step_on: date | None
    notes: str | None
    referee_customer_id: int | None
    consent: bool
    created_at: datetime
    converted_at: datetime | None
    converting_order_id: int | None


class LeadPage(BaseModel):
    items: list[LeadPublic]
    total: int


class PortalLink(BaseModel):
    url: str
    token: str


class ReferrerCandidate(BaseModel):
    customer_id: int
    name: str
    phone_masked: str | None
