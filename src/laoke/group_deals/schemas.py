"""What crosses the boundary: group offers, groups and members for the API and pages.

Money goes out as decimal strings ("128.00") so no client reads it as a float.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

from laoke.group_deals.models import BenefitKind, GroupStatus, JoinSource, OfferStatus

MAX_MONEY = Decimal("999999.99")
MAX_OPEN_HOURS = 24 * 90
MoneyIn = Annotated[
    Decimal, Field(ge=0, le=MAX_MONEY, max_digits=8, decimal_places=2, allow_inf_nan=False)
]
MoneyOut = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str)]
MemberKind = Literal["points", "coupon", "cash"]


def _strip(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    return value


class OfferFields(BaseModel):
    """Every offer field but the name; all optional (PATCH). The offer as a whole is checked
    by `offers.check_offer` once create or update has merged the fields."""

    model_config = ConfigDict(extra="forbid")

    status: OfferStatus | None = None
    description: str | None = Field(default=None, max_length=500)
    group_size: int | None = Field(default=None, ge=2, le=50)
    open_hours: int | None = Field(
        default=None, ge=1, le=MAX_OPEN_HOURS, description="How long a group stays open"
    )
    min_amount: MoneyIn | None = Field(
        default=None, description="A qualifying order is at least this much (empty: any)"
    )
    product_id: int | None = Field(
        default=None, description="A qualifying order contains this product (empty: any)"
    )
    benefit: BenefitKind | None = None
    leader_cap: MoneyIn | None = Field(
        default=None, description="Leader free: the most the leader gets back"
    )
    member_kind: MemberKind | None = None
    member_amount: MoneyIn | None = None
    coupon_min_spend: MoneyIn | None = None
    coupon_valid_days: int | None = Field(default=None, ge=1, le=3650)
    program_id: int | None = None

    _strip_text = field_validator("description", mode="before")(_strip)


class OfferCreate(OfferFields):
    name: str = Field(min_length=1, max_length=100)
    group_size: int = Field(ge=2, le=50)
    open_hours: int = Field(ge=1, le=MAX_OPEN_HOURS)
    benefit: BenefitKind

    _strip_name = field_validator("name", mode="before")(_strip)


class OfferUpdate(OfferFields):
    name: str | None = Field(default=None, min_length=1, max_length=100)

    _strip_name = field_validator("name", mode="before")(_strip)


class OfferPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    status: OfferStatus
    description: str
    group_size: int
    open_hours: int
    min_amount: MoneyOut | None
    product_id: int | None
    benefit: BenefitKind
    leader_cap: MoneyOut | None
    member_kind: str | None
    member_amount: MoneyOut | None
    coupon_min_spend: MoneyOut | None
    coupon_valid_days: int | None
    program_id: int | None
    created_at: datetime


class OfferSummary(OfferPublic):
    open_groups: int
    completed_groups: int
    expired_groups: int


class GroupOpen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offer_id: int
    leader_customer_id: int


class MemberAdd(BaseModel):
    """An existing customer by id, or a person by name and phone (matched or created)."""

    model_config = ConfigDict(extra="forbid")

    customer_id: int | None = None
    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=40)
    consent: bool = False


class GroupCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=200)

    _strip_reason = field_validator("reason", mode="before")(_strip)


class MemberPublic(BaseModel):
    customer_id: int
    name: str
    phone_masked: str | None
    is_leader: bool
    source: JoinSource
    joined_at: datetime
    qualified: bool
    qualified_at: datetime | None
    qualifying_order_id: int | None
    reward_id: int | None


class GroupPublic(BaseModel):
    id: int
    offer_id: int
    offer_name: str
    token: str
    link: str
    leader_customer_id: int
    status: GroupStatus
    group_size: int
    joined: int
    qualified: int
    opened_at: datetime
    deadline: datetime
    closed_at: datetime | None
    cancel_reason: str | None
    members: list[MemberPublic]


class GroupPage(BaseModel):
    items: list[GroupPublic]
    total: int
