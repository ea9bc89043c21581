"""JSON in and out of the Today and cadence-rule API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from laoke.engagement.models import CadenceScope, TaskKind


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CadenceRuleIn(Strict):
    scope: str = Field(max_length=20, description="default, lifecycle_stage, tag or value_tier")
    value: str | None = Field(
        default=None,
        max_length=50,
        description="The stage (e.g. loyal), tag (e.g. VIP) or tier (top/middle/tail)",
    )
    max_gap_days: int = Field(description="At most this many days between contacts (1–3650)")


class CadenceRulePatch(Strict):
    value: str | None = Field(default=None, max_length=50)
    max_gap_days: int | None = None
    active: bool | None = None


class CadenceRuleOut(BaseModel):
    id: int
    scope: CadenceScope
    value: str
    max_gap_days: int
    active: bool
    updated_at: datetime


class TodayItemOut(BaseModel):
    customer_id: int
    customer_name: str
    owner_id: int | None
    value_tier: str
    total_spent: Decimal
    reason: str = Field(description="Why the item is on the list, in the user's language")
    days_late: int = Field(description="Days past the cadence gap or the due date")
    due_on: date | None = None
    task_id: int | None = None
    task_kind: TaskKind | None = None
    contact_id: int | None = None


class TodaySectionOut(BaseModel):
    total: int
    page: int
    per_page: int
    has_more: bool
    items: list[TodayItemOut]


class StaffCountsOut(BaseModel):
    staff_id: int | None
    name: str
    overdue: int
    tasks: int
    birthdays: int
    promises: int


class TodayOut(BaseModel):
    today: date
    staff_id: int | None = Field(description="Whose list; null for the whole team")
    sections: dict[str, TodaySectionOut] = Field(
        description="overdue, tasks, birthdays, promises (only the one asked for with ?section=)"
    )
    team: list[StaffCountsOut] = Field(description="Per staff member, for ?team=1")
