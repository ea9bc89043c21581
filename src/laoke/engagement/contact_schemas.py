"""What crosses the boundary for contacts, tasks, relationship stages and the timeline."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from laoke.customers.stages import RelationshipStage
from laoke.engagement.models import (
    ContactChannel,
    ContactDirection,
    ContactOutcome,
    TaskKind,
    TaskStatus,
)

MAX_NOTES = 5000
MAX_NEXT_STEP = 500
MAX_COMPLETED_TASKS = 50


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


class ContactChange(BaseModel):
    """Fields a contact's author may change afterwards (PATCH: only those given)."""

    model_config = ConfigDict(extra="forbid")

    channel: ContactChannel | None = None
    direction: ContactDirection | None = None
    outcome: ContactOutcome | None = None
    occurred_at: datetime | None = None
    notes: str | None = Field(default=None, max_length=MAX_NOTES)
    next_step: str | None = Field(default=None, max_length=MAX_NEXT_STEP)
    next_step_on: date | None = None
    complete_task_ids: list[int] = Field(default_factory=list, max_length=MAX_COMPLETED_TASKS)

    _strip = field_validator("notes", "next_step", mode="before")(_blank_to_none)


class ContactCreate(ContactChange):
    channel: ContactChannel
    direction: ContactDirection = ContactDirection.OUTBOUND
    outcome: ContactOutcome = ContactOutcome.REACHED


class ContactPublic(BaseModel):
    id: int
    customer_id: int
    staff_id: int | None
    channel: ContactChannel
    direction: ContactDirection
    outcome: ContactOutcome
    occurred_at: datetime
    notes: str | None
    next_step: str | None
    next_step_on: date | None
    follow_up_task_id: int | None = Field(
        default=None, description="The task opened for next_step_on, if any"
    )
    created_at: datetime


class ContactPage(BaseModel):
    items: list[ContactPublic]
    total: int
    page: int
    per_page: int
    pages: int


class TaskPublic(BaseModel):
    id: int
    customer_id: int
    assignee_id: int | None
    kind: TaskKind
    key: str
    title: str
    due_on: date
    status: TaskStatus
    closed_at: datetime | None
    contact_id: int | None
    created_at: datetime


class RelationshipStageChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: RelationshipStage
    reason: str | None = Field(default=None, max_length=200)

    _strip = field_validator("reason", mode="before")(_blank_to_none)


class RelationshipStageResult(BaseModel):
    customer_id: int
    stage: RelationshipStage
    changed: bool = Field(description="False when the customer already had this stage")


class TimelineEntryPublic(BaseModel):
    kind: str = Field(description="order, contact, stage_change, task, message, merge, …")
    at: datetime
    ref_id: int = Field(description="The id of the row in its own table")
    data: dict[str, Any]


class TimelinePublic(BaseModel):
    items: list[TimelineEntryPublic]
    next_before: str | None = Field(description="Pass as ?before= for the next, older page")
