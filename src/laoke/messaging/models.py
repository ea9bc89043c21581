"""Messaging tables: templates, channels, the outbox, scheduled runs, care calendar,
webhook subscriptions and campaigns."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from laoke.db import Base, BigId, JsonDoc, TenantRow, Timestamps, utcnow
from laoke.errors import N_


class ChannelKind(StrEnum):
    SMTP = "smtp"
    WEBHOOK = "webhook"
    WECOM = "wecom"
    SMS = "sms"


CHANNEL_KIND_LABELS = {
    ChannelKind.SMTP: N_("Email (SMTP)"),
    ChannelKind.WEBHOOK: N_("Webhook"),
    ChannelKind.WECOM: N_("WeCom group robot"),
    ChannelKind.SMS: N_("SMS gateway"),
}


class MessageStatus(StrEnum):
    QUEUED = "queued"  # waiting for its first or next attempt
    SENDING = "sending"  # claimed by a worker under a lease
    SENT = "sent"  # the provider accepted it
    FAILED = "failed"  # the provider refused it for good (bad address, 4xx)
    DEAD = "dead"  # retries exhausted, or the outcome of a lost attempt is unknown
    CANCELLED = "cancelled"  # by staff, a withdrawn consent, an erasure, a cancelled campaign


MESSAGE_STATUS_LABELS = {
    MessageStatus.QUEUED: N_("Queued"),
    MessageStatus.SENDING: N_("Sending"),
    MessageStatus.SENT: N_("Sent"),
    MessageStatus.FAILED: N_("Failed"),
    MessageStatus.DEAD: N_("Dead letter"),
    MessageStatus.CANCELLED: N_("Cancelled"),
}
UNDELIVERED = (MessageStatus.FAILED, MessageStatus.DEAD)


class MessageTemplate(TenantRow, Timestamps, Base):
    """A message for one purpose on one kind of channel, with a text per language."""

    __tablename__ = "message_templates"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        Index("ix_message_templates_org_purpose", "org_id", "purpose"),
    )

    name: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(64))
    channel: Mapped[ChannelKind] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class TemplateText(TenantRow, Base):
    __tablename__ = "message_template_texts"
    __table_args__ = (UniqueConstraint("org_id", "template_id", "language"),)

    template_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("message_templates.id", ondelete="CASCADE")
    )
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)


class Channel(TenantRow, Timestamps, Base):
    """A tenant's configured way out: its settings, sealed secrets and rate limit.

    The token bucket (`bucket_tokens` at `bucket_at`) lives on the row so that every
    worker process draws from the same allowance."""

    __tablename__ = "message_channels"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        Index("ix_message_channels_org_kind", "org_id", "kind"),
    )

    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[ChannelKind] = mapped_column(String(16))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sealed_secrets: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    rate_per_minute: Mapped[int | None] = mapped_column(Integer)
    burst: Mapped[int] = mapped_column(Integer, default=1)
    bucket_tokens: Mapped[float] = mapped_column(Float, default=0.0)
    bucket_at: Mapped[datetime | None] = mapped_column()


class MessagingSettings(TenantRow, Base):
    """Per-tenant messaging choices: quiet hours, the sender's name, the birthday coupon."""

    __tablename__ = "messaging_settings"
    __table_args__ = (UniqueConstraint("org_id"),)

    quiet_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    quiet_start: Mapped[str] = mapped_column(String(5), default="21:00")
    quiet_end: Mapped[str] = mapped_column(String(5), default="08:00")
    sender_name: Mapped[str | None] = mapped_column(String(100))
    birthday_coupon: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookSubscription(TenantRow, Timestamps, Base):
    """An integration listening to domain events; empty `events` means all of them."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (Index("ix_webhook_subscriptions_org_enabled", "org_id", "enabled"),)

    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(200))
    sealed_secret: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class CampaignStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    CANCELLED = "cancelled"


CAMPAIGN_STATUS_LABELS = {
    CampaignStatus.RUNNING: N_("Running"),
    CampaignStatus.FINISHED: N_("Finished"),
    CampaignStatus.CANCELLED: N_("Cancelled"),
}


class Segment(TenantRow, Timestamps, Base):
    """A saved audience: a filter over customers (`segments.FILTERS` says which keys)."""

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Campaign(TenantRow, Timestamps, Base):
    """A template sent to a segment, enqueued a slice at a time (`per_minute`)."""

    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_org_status", "org_id", "status"),)

    name: Mapped[str] = mapped_column(String(100))
    template_id: Mapped[int] = mapped_column(BigId, ForeignKey("message_templates.id"))
    segment_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("segments.id", ondelete="SET NULL")
    )
    # The filter as it was at launch: editing the segment later does not change a send.
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[CampaignStatus] = mapped_column(String(16), default=CampaignStatus.RUNNING)
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    per_minute: Mapped[int] = mapped_column(Integer, default=200)
    next_slice_at: Mapped[datetime] = mapped_column(default=utcnow)
    audience: Mapped[int] = mapped_column(Integer, default=0)
    enqueued: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cursor_customer_id: Mapped[int] = mapped_column(BigId, default=0)
    created_by: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class OutboxMessage(TenantRow, Base):
    """One message to go out, written in the transaction that caused it.

    `idempotency_key` is unique per tenant: the same key is enqueued, and so sent, at
    most once. The worker claims due rows (`status=queued`, `next_attempt_at <= now`)
    by setting `status=sending` with a lease; see `messaging.worker`."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("org_id", "idempotency_key"),
        Index("ix_outbox_org_status_created", "org_id", "status", "created_at"),
        # Partial: each row pays only for the indexes it appears in (every claim and every
        # outcome rewrites the row and so inserts into each index that covers it).
        Index(
            "ix_outbox_org_customer",
            "org_id",
            "customer_id",
            postgresql_where=text("customer_id IS NOT NULL"),
            sqlite_where=text("customer_id IS NOT NULL"),
        ),
        Index(
            "ix_outbox_org_campaign_status",
            "org_id",
            "campaign_id",
            "status",
            postgresql_where=text("campaign_id IS NOT NULL"),
            sqlite_where=text("campaign_id IS NOT NULL"),
        ),
        Index(
            "ix_outbox_org_subscription",
            "org_id",
            "subscription_id",
            "created_at",
            postgresql_where=text("subscription_id IS NOT NULL"),
            sqlite_where=text("subscription_id IS NOT NULL"),
        ),
        # The worker's queue is across tenants by nature: these two partial indexes are
        # the only ones that do not lead with org_id.
        Index(
            "ix_outbox_due",
            "next_attempt_at",
            postgresql_where=text("status = 'queued'"),
            sqlite_where=text("status = 'queued'"),
        ),
        Index(
            "ix_outbox_leased",
            "lease_until",
            postgresql_where=text("status = 'sending'"),
            sqlite_where=text("status = 'sending'"),
        ),
    )

    idempotency_key: Mapped[str] = mapped_column(String(200))
    channel: Mapped[ChannelKind] = mapped_column(String(16))
    channel_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("message_channels.id", ondelete="SET NULL")
    )
    subscription_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("webhook_subscriptions.id", ondelete="SET NULL")
    )
    purpose: Mapped[str] = mapped_column(String(64))
    is_marketing: Mapped[bool] = mapped_column(Boolean, default=False)
    customer_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="SET NULL")
    )
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    template_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("message_templates.id", ondelete="SET NULL")
    )
    campaign_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("campaigns.id", ondelete="SET NULL")
    )
    recipient: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    # Channel-specific extras: the unsubscribe URL, an event's id and name.
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[MessageStatus] = mapped_column(String(16), default=MessageStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column()
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(500))
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()


class Holiday(TenantRow, Base):
    """A date on the tenant's care calendar and the greeting that goes out on it."""

    __tablename__ = "care_holidays"
    __table_args__ = (UniqueConstraint("org_id", "on_date", "template_id"),)

    on_date: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(100))
    template_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("message_templates.id", ondelete="CASCADE")
    )


class RunStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ScheduledRun(TenantRow, Base):
    """One run of a scheduled job for one tenant and one period; the unique key is the
    claim, so each job runs once per period however many workers there are."""

    __tablename__ = "scheduled_runs"
    __table_args__ = (
        UniqueConstraint("org_id", "job", "period"),
        Index("ix_scheduled_runs_org_started", "org_id", "started_at"),
    )

    job: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(32))
    status: Mapped[RunStatus] = mapped_column(String(16), default=RunStatus.RUNNING)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    result: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
