"""What the Today list is made of: its sections, items and pages, plus the moment and
window a load is computed for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from laoke.engagement.cadence import Rule
from laoke.engagement.models import TaskKind, ValueTier
from laoke.errors import N_

PER_PAGE = 50
MAX_PER_PAGE = 200
BIRTHDAY_DAYS = 7
PROMISE_LOOKBACK_DAYS = 30
# How much more a day late weighs for a more valuable customer.
TIER_WEIGHT = {ValueTier.TOP: 2.0, ValueTier.MIDDLE: 1.5, ValueTier.TAIL: 1.0}


class Section(StrEnum):
    OVERDUE = "overdue"
    TASKS = "tasks"
    BIRTHDAYS = "birthdays"
    PROMISES = "promises"


SECTION_LABELS = {
    Section.OVERDUE: N_("Due for a contact"),
    Section.TASKS: N_("Tasks due"),
    Section.BIRTHDAYS: N_("Birthdays in the next 7 days"),
    Section.PROMISES: N_("Promised follow-ups"),
}


@dataclass(frozen=True)
class TodayItem:
    section: Section
    customer_id: int
    customer_name: str
    owner_id: int | None
    value_tier: str
    total_spent: Decimal
    why: str  # a message id, translated where shown, with `why_params`
    why_params: dict[str, Any] = field(default_factory=dict)
    days_late: int = 0
    task_id: int | None = None
    task_kind: TaskKind | None = None
    due_on: date | None = None
    contact_id: int | None = None

    def reason(self, gettext: Any) -> str:
        params = dict(self.why_params)
        if "kind" in params:
            params["kind"] = gettext(params["kind"])
        return gettext(self.why) % params if params else gettext(self.why)


@dataclass(frozen=True)
class SectionPage:
    section: Section
    items: list[TodayItem]
    total: int
    page: int
    per_page: int

    @property
    def has_more(self) -> bool:
        return self.page * self.per_page < self.total


@dataclass(frozen=True)
class When:
    today: date  # tenant-local
    timezone: str
    now: datetime
    rules: list[Rule]  # the tenant's cadence rules, tightest first


@dataclass(frozen=True)
class Window:
    """One section's page: rows [offset, offset + limit)."""

    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page
