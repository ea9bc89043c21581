"""JSON in and out of the messaging API. Secrets go in, never out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from laoke.messaging.models import CampaignStatus, ChannelKind, MessageStatus


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TemplateTextIn(Strict):
    subject: str | None = Field(default=None, max_length=300)
    body: str = Field(max_length=5000)


class TemplateIn(Strict):
    name: str = Field(max_length=100)
    purpose: str = Field(max_length=64)
    channel: ChannelKind
    texts: dict[str, TemplateTextIn] = Field(description="Keyed by language: zh_CN, zh_TW, en")
    is_active: bool = True


class TemplateOut(BaseModel):
    id: int
    name: str
    purpose: str
    channel: ChannelKind
    is_active: bool
    texts: dict[str, TemplateTextIn]
    updated_at: datetime


class PreviewIn(Strict):
    template: TemplateIn
    customer_id: int | None = None
    language: str | None = Field(default=None, max_length=8)


class PreviewOut(BaseModel):
    language: str
    subject: str | None
    body: str
    recipient: str | None
    will_send: bool
    reason: str | None


class ChannelIn(Strict):
    name: str = Field(max_length=100)
    kind: ChannelKind
    settings: dict[str, Any] = Field(
        default_factory=dict, description="The kind's fields, secrets included (write-only)"
    )
    rate_per_minute: int | None = Field(default=None, ge=1, le=100_000)
    burst: int | None = Field(default=None, ge=1, le=10_000)
    enabled: bool = True


class ChannelPatch(Strict):
    name: str | None = Field(default=None, max_length=100)
    settings: dict[str, Any] | None = Field(
        default=None, description="Changed fields only; an empty secret keeps the saved one"
    )
    clear_secrets: list[str] = Field(default_factory=list, max_length=10)
    rate_per_minute: int | None = Field(default=None, ge=1, le=100_000)
    burst: int | None = Field(default=None, ge=1, le=10_000)
    enabled: bool | None = None


class ChannelOut(BaseModel):
    id: int
    name: str
    kind: ChannelKind
    settings: dict[str, Any]
    secrets_set: list[str] = Field(description="Names of the secrets that are set; never values")
    enabled: bool
    rate_per_minute: int | None
    burst: int


class MessageOut(BaseModel):
    id: int
    idempotency_key: str
    channel: ChannelKind
    purpose: str
    marketing: bool
    customer_id: int | None
    campaign_id: int | None
    subscription_id: int | None
    recipient: str
    language: str
    subject: str | None
    body: str
    status: MessageStatus
    attempts: int
    max_attempts: int
    next_attempt_at: datetime
    last_error: str | None
    provider_message_id: str | None
    created_at: datetime
    sent_at: datetime | None


class MessagePage(BaseModel):
    items: list[MessageOut]
    total: int
    page: int
    per_page: int


class WebhookIn(Strict):
    url: str = Field(max_length=2000)
    secret: str | None = Field(
        default=None, max_length=200, description="Omit to have one generated (returned once)"
    )
    events: list[str] = Field(default_factory=list, max_length=50, description="Empty: all")
    description: str = Field(default="", max_length=200)


class WebhookPatch(Strict):
    url: str | None = Field(default=None, max_length=2000)
    secret: str | None = Field(default=None, max_length=200)
    events: list[str] | None = Field(default=None, max_length=50)
    enabled: bool | None = None
    description: str | None = Field(default=None, max_length=200)


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    enabled: bool
    description: str | None
    secret_set: bool = True
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Shown this once")


class SegmentIn(Strict):
    name: str = Field(max_length=100)
    filters: dict[str, list[str]] = Field(default_factory=dict)


class SegmentOut(BaseModel):
    id: int
    name: str
    filters: dict[str, list[str]]


class DryRunIn(Strict):
    template_id: int
    filters: dict[str, list[str]] = Field(default_factory=dict)
    segment_id: int | None = None


class DryRunOut(BaseModel):
    audience: int
    will_send: int
    skipped: dict[str, int]


class CampaignIn(Strict):
    name: str = Field(max_length=100)
    template_id: int
    filters: dict[str, list[str]] = Field(default_factory=dict)
    segment_id: int | None = None
    per_minute: int = Field(default=200, ge=1, le=5000)
    coupon: str = Field(default="", max_length=200)


class CampaignOut(BaseModel):
    id: int
    name: str
    template_id: int
    filters: dict[str, list[str]]
    status: CampaignStatus
    per_minute: int
    audience: int
    enqueued: int
    skipped: dict[str, int]
    progress: dict[str, int]
    started_at: datetime
    finished_at: datetime | None
