"""The customer profile, its phone numbers and tags."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from laoke.customers.stages import LifecycleStage, RelationshipStage
from laoke.db import Base, BigId, TenantRow, Timestamps
from laoke.errors import N_


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


GENDER_LABELS = {
    Gender.FEMALE: N_("Female"),
    Gender.MALE: N_("Male"),
    Gender.OTHER: N_("Other"),
    Gender.UNKNOWN: N_("Unknown"),
}


class PurchasingPower(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


PURCHASING_POWER_LABELS = {
    PurchasingPower.LOW: N_("Low"),
    PurchasingPower.MEDIUM: N_("Medium"),
    PurchasingPower.HIGH: N_("High"),
}


CONSENT_SOURCE_LABELS = {
    "staff": N_("recorded by staff"),
    "form": N_("signed form"),
    "api": N_("via integration"),
    "import": N_("imported"),
    "landing_page": N_("referral page"),
    "wechat": N_("WeChat"),
    "other": N_("other"),
}


class Customer(TenantRow, Timestamps, Base):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_org_owner", "org_id", "owner_id"),
        Index("ix_customers_org_name", "org_id", "name"),
        Index("ix_customers_org_created", "org_id", "created_at"),
        Index("ix_customers_org_wechat", "org_id", "wechat_id"),
        Index("ix_customers_org_email", "org_id", "email"),
        Index("ix_customers_org_lifecycle", "org_id", "lifecycle_stage"),
        UniqueConstraint("org_id", "external_id"),
        Index("ix_customers_org_import_job", "org_id", "import_job_id"),
    )

    name: Mapped[str] = mapped_column(String(100))
    nickname: Mapped[str | None] = mapped_column(String(100))
    wechat_id: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(500))
    birthday: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[Gender] = mapped_column(String(8), default=Gender.UNKNOWN)
    source_channel: Mapped[str | None] = mapped_column(String(64))
    needs: Mapped[str | None] = mapped_column(Text)
    purchasing_power: Mapped[PurchasingPower | None] = mapped_column(String(8))
    social_circle: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_source: Mapped[str | None] = mapped_column(String(64))
    consent_at: Mapped[datetime | None] = mapped_column()
    custom_attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    external_id: Mapped[str | None] = mapped_column(String(100))
    lifecycle_stage: Mapped[LifecycleStage] = mapped_column(
        String(16), default=LifecycleStage.PROSPECT
    )
    relationship_stage: Mapped[RelationshipStage] = mapped_column(
        String(16), default=RelationshipStage.STRANGER
    )
    # A merged-away customer stays as a pointer so old links still resolve.
    merged_into_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id"))
    erased_at: Mapped[datetime | None] = mapped_column()
    pseudonym: Mapped[str | None] = mapped_column(String(32))
    # Where an imported customer came from: the import job and the spreadsheet row
    # (a plain pointer, like the audit log's target ids: the job may be deleted later).
    import_job_id: Mapped[int | None] = mapped_column(BigId)
    import_row: Mapped[int | None] = mapped_column(Integer)

    phones: Mapped[list[CustomerPhone]] = relationship(
        back_populates="customer",
        order_by="(CustomerPhone.is_primary.desc(), CustomerPhone.id)",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    tag_rows: Mapped[list[CustomerTag]] = relationship(
        cascade="all, delete-orphan", order_by="CustomerTag.tag", lazy="selectin"
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]

    @property
    def primary_phone(self) -> str | None:
        return self.phones[0].e164 if self.phones else None

    @property
    def is_active(self) -> bool:
        return self.merged_into_id is None and self.erased_at is None


class CustomerPhone(TenantRow, Base):
    __tablename__ = "customer_phones"
    __table_args__ = (
        UniqueConstraint("org_id", "e164"),
        Index("ix_customer_phones_org_customer", "org_id", "customer_id"),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    e164: Mapped[str] = mapped_column(String(20))
    # Digits of the national number, for "ends with 5678" and "starts with 138" searches.
    national: Mapped[str] = mapped_column(String(17))
    kind: Mapped[str] = mapped_column(String(10))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)

    customer: Mapped[Customer] = relationship(back_populates="phones")


class CustomerTag(TenantRow, Base):
    __tablename__ = "customer_tags"
    __table_args__ = (
        UniqueConstraint("org_id", "customer_id", "tag"),
        Index("ix_customer_tags_org_tag", "org_id", "tag"),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(50))
