"""The event log: one row per domain event, written in the transaction that caused it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from laoke.db import Base, BigId, TenantRow, utcnow


class DomainEvent(TenantRow, Base):
    __tablename__ = "domain_events"
    __table_args__ = (
        Index("ix_domain_events_org_name_at", "org_id", "name", "occurred_at"),
        Index("ix_domain_events_org_subject", "org_id", "subject_type", "subject_id"),
    )

    name: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(BigId)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
