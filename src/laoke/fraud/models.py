"""Fraud checks on referral leads: the current verdict per lead, the history of
evaluations, per-tenant thresholds, household addresses and the devices referrers use."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from laoke.db import Base, BigId, TenantRow, Timestamps, utcnow
from laoke.errors import N_

JsonList = JSON().with_variant(postgresql.JSONB(), "postgresql")


class CheckStatus(StrEnum):
    CLEAR = "clear"  # nothing (enough) fired: rewards may go out
    PENDING = "pending"  # flagged, awaiting a reviewer
    APPROVED = "approved"
    DECLINED = "declined"


CHECK_STATUS_LABELS = {
    CheckStatus.CLEAR: N_("No concerns"),
    CheckStatus.PENDING: N_("Awaiting review"),
    CheckStatus.APPROVED: N_("Approved"),
    CheckStatus.DECLINED: N_("Declined"),
}


class CheckStage(StrEnum):
    CREATED = "created"
    CONVERTED = "converted"


class FraudSettings(TenantRow, Timestamps, Base):
    __tablename__ = "fraud_settings"
    __table_args__ = (UniqueConstraint("org_id"),)

    referrer_hour_limit: Mapped[int] = mapped_column(Integer, default=5)
    referrer_day_limit: Mapped[int] = mapped_column(Integer, default=12)
    code_hour_limit: Mapped[int] = mapped_column(Integer, default=8)
    code_day_limit: Mapped[int] = mapped_column(Integer, default=20)
    fast_conversion_minutes: Mapped[int] = mapped_column(Integer, default=3)
    refund_limit: Mapped[int] = mapped_column(Integer, default=2)
    updated_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )


class FraudCheck(TenantRow, Timestamps, Base):
    """The current verdict on one lead; `hits` lists each rule that fired with its inputs."""

    __tablename__ = "fraud_checks"
    __table_args__ = (
        UniqueConstraint("org_id", "lead_id"),
        Index("ix_fraud_checks_org_status_created", "org_id", "status", "created_at"),
        Index("ix_fraud_checks_org_email_key", "org_id", "email_key"),
    )

    lead_id: Mapped[int] = mapped_column(BigId, ForeignKey("referral_leads.id", ondelete="CASCADE"))
    stage: Mapped[CheckStage] = mapped_column(String(16), default=CheckStage.CREATED)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    hits: Mapped[list[dict[str, Any]]] = mapped_column(JsonList, default=list)
    status: Mapped[CheckStatus] = mapped_column(String(16), default=CheckStatus.CLEAR)
    evaluated_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewer_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    reviewed_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(String(500))
    household: Mapped[bool] = mapped_column(Boolean, default=False)
    # The referee's normalised mailbox, so that variants of it are found by index.
    email_key: Mapped[str | None] = mapped_column(String(254))


class FraudEvaluation(TenantRow, Base):
    """Every evaluation of a lead, kept: what fired when, even after the verdict changed."""

    __tablename__ = "fraud_evaluations"
    __table_args__ = (Index("ix_fraud_evaluations_org_lead_at", "org_id", "lead_id", "at"),)

    lead_id: Mapped[int] = mapped_column(BigId, ForeignKey("referral_leads.id", ondelete="CASCADE"))
    stage: Mapped[CheckStage] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    flagged: Mapped[bool] = mapped_column(Boolean)
    hits: Mapped[list[dict[str, Any]]] = mapped_column(JsonList, default=list)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class FraudHousehold(TenantRow, Base):
    """An address a reviewer confirmed as one household: a shared address there is no signal."""

    __tablename__ = "fraud_households"
    __table_args__ = (UniqueConstraint("org_id", "address_key"),)

    address_key: Mapped[str] = mapped_column(String(200))
    lead_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("referral_leads.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerDevice(TenantRow, Base):
    """A browser (the keyed hash of its `lk_dev` cookie) a referrer opened their portal on."""

    __tablename__ = "customer_devices"
    __table_args__ = (
        UniqueConstraint("org_id", "customer_id", "device_hash"),
        Index("ix_customer_devices_org_device", "org_id", "device_hash"),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    device_hash: Mapped[str] = mapped_column(String(64))
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
