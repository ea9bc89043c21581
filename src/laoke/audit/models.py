"""The audit log: who did what to which record, and from where."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from laoke.db import Base, BigId, TenantRow, utcnow
from laoke.errors import N_


class AuditAction(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    USER_CREATED = "user_created"
    ROLE_CHANGED = "role_changed"
    USER_DEACTIVATED = "user_deactivated"
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"
    PII_REVEALED = "pii_revealed"
    EXPORTED = "exported"
    IMPORTED = "imported"
    MERGED = "merged"
    ERASED = "erased"
    REWARD_ISSUED = "reward_issued"
    REWARD_PAID_OUT = "reward_paid_out"
    REWARD_REVERSED = "reward_reversed"
    FRAUD_REVIEWED = "fraud_reviewed"


AUDIT_ACTION_LABELS = {
    AuditAction.LOGIN: N_("Signed in"),
    AuditAction.LOGIN_FAILED: N_("Failed sign-in"),
    AuditAction.LOGOUT: N_("Signed out"),
    AuditAction.USER_CREATED: N_("Staff account created"),
    AuditAction.ROLE_CHANGED: N_("Role changed"),
    AuditAction.USER_DEACTIVATED: N_("Staff account deactivated"),
    AuditAction.TOKEN_CREATED: N_("API token created"),
    AuditAction.TOKEN_REVOKED: N_("API token revoked"),
    AuditAction.PII_REVEALED: N_("Personal data revealed"),
    AuditAction.EXPORTED: N_("Data exported"),
    AuditAction.IMPORTED: N_("Data imported"),
    AuditAction.MERGED: N_("Customers merged"),
    AuditAction.ERASED: N_("Customer erased"),
    AuditAction.REWARD_ISSUED: N_("Reward issued by hand"),
    AuditAction.REWARD_PAID_OUT: N_("Reward paid out or handed over"),
    AuditAction.REWARD_REVERSED: N_("Reward reversed by hand"),
    AuditAction.FRAUD_REVIEWED: N_("Referral reviewed for fraud"),
}


class AuditEvent(TenantRow, Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_org_at", "org_id", "at"),
        Index("ix_audit_events_org_target", "org_id", "target_type", "target_id"),
    )

    actor_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    action: Mapped[AuditAction] = mapped_column(String(32))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(BigId)
    # Ids and counts only: personal data here would outlive an erasure.
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))
    at: Mapped[datetime] = mapped_column(default=utcnow)
