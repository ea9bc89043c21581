"""What crosses the boundary: customer input and output shapes for API, pages and CLI."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from laoke.customers.models import Gender, PurchasingPower
from laoke.customers.stages import LifecycleStage, RelationshipStage

MAX_TAGS = 50
MAX_PHONES = 10


def _strip(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


class CustomerFields(BaseModel):
    """Fields shared by create and update; all optional here."""

    model_config = ConfigDict(extra="forbid", str_max_length=5000)

    nickname: str | None = Field(default=None, max_length=100)
    wechat_id: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=254)
    address: str | None = Field(default=None, max_length=500)
    birthday: date | None = None
    gender: Gender | None = None
    source_channel: str | None = Field(default=None, max_length=64)
    needs: str | None = Field(default=None, max_length=5000)
    purchasing_power: PurchasingPower | None = None
    social_circle: str | None = Field(default=None, max_length=5000)
    owner_id: int | None = None
    marketing_consent: bool | None = None
    consent_source: str | None = Field(default=None, max_length=64)
    custom_attributes: dict[str, str | int | float | bool | None] | None = None
    external_id: str | None = Field(default=None, max_length=100)

    _strip_text = field_validator(
        "nickname",
        "wechat_id",
        "email",
        "address",
        "source_channel",
        "needs",
        "social_circle",
        "consent_source",
        "external_id",
        mode="before",
    )(_strip)

    @field_validator("custom_attributes")
    @classmethod
    def _limit_attributes(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            if len(value) > 100:
                raise ValueError("at most 100 custom attributes")
            for key, item in value.items():
                if not key.strip() or len(key) > 64:
                    raise ValueError("attribute names must be 1-64 characters")
                if isinstance(item, str) and len(item) > 2000:
                    raise ValueError("attribute values must be at most 2000 characters")
        return value


class CustomerCreate(CustomerFields):
    name: str = Field(min_length=1, max_length=100)
    phones: list[str] = Field(default_factory=list, max_length=MAX_PHONES)
    tags: list[str] = Field(default_factory=list, max_length=MAX_TAGS)

    _strip_name = field_validator("name", mode="before")(_strip)


class CustomerUpdate(CustomerFields):
    """PATCH semantics: only the fields present are changed."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    phones: list[str] | None = Field(default=None, max_length=MAX_PHONES)
    tags: list[str] | None = Field(default=None, max_length=MAX_TAGS)

    _strip_name = field_validator("name", mode="before")(_strip)


class ConsentPublic(BaseModel):
    granted: bool
    source: str | None
    at: datetime | None


class RfmPublic(BaseModel):
    r: int = Field(description="Recency 1-5 (5 = bought most recently), by the tenant's quintiles")
    f: int = Field(description="Frequency 1-5 (5 = most paid orders)")
    m: int = Field(description="Monetary 1-5 (5 = spent most)")


class CustomerPublic(BaseModel):
    id: int
    name: str
    nickname: str | None
    phones: list[str] = Field(
        description="E.164, primary first; masked for roles that may not see them"
    )
    phones_masked: bool
    wechat_id: str | None
    email: str | None
    address: str | None
    birthday: date | None
    gender: Gender
    source_channel: str | None
    tags: list[str]
    needs: str | None
    purchasing_power: PurchasingPower | None
    social_circle: str | None
    owner_id: int | None
    marketing_consent: ConsentPublic
    custom_attributes: dict[str, Any]
    external_id: str | None
    erased: bool
    created_at: datetime
    updated_at: datetime
    lifecycle_stage: LifecycleStage
    relationship_stage: RelationshipStage
    orders_count: int = Field(default=0, description="Paid orders")
    total_spent: Decimal = Field(default=Decimal("0.00"), description="Paid orders, yuan")
    average_order_value: Decimal | None = None
    first_purchase_at: datetime | None = None
    last_purchase_at: datetime | None = None
    repurchase_interval_days: float | None = Field(
        default=None, description="Mean days between purchase days; none before the second"
    )
    next_expected_purchase_at: datetime | None = None
    contact_count: int = 0
    last_contact_at: datetime | None = None
    rfm: RfmPublic | None = Field(default=None, description="None until the first paid order")
    value_tier: str = Field(default="tail", description="top (top 20% by spend), middle, tail")


class CustomerPage(BaseModel):
    items: list[CustomerPublic]
    total: int
    page: int
    per_page: int
    pages: int


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    other_id: int = Field(description="The customer merged into this one; it is retired afterwards")


class MergeResult(BaseModel):
    kept_id: int
    merged_id: int
    moved: dict[str, int]
    filled_fields: list[str]
