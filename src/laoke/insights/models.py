"""Fitted customer-value models, one row per tenant per fit (the newest is in use)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from laoke.db import Base, TenantRow, utcnow
from laoke.errors import N_


class FitStatus(StrEnum):
    FITTED = "fitted"  # maximum likelihood on the tenant's own purchases
    FALLBACK = "fallback"  # too little data (or no convergence): benchmark parameters


FIT_STATUS_LABELS = {
    FitStatus.FITTED: N_("Fitted to your customers' purchases"),
    FitStatus.FALLBACK: N_("Benchmark parameters (not enough data to fit)"),
}


class ValueModelFit(TenantRow, Base):
    __tablename__ = "value_model_fits"
    __table_args__ = (Index("ix_value_model_fits_org_fitted", "org_id", "fitted_at"),)

    fitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    as_of: Mapped[date] = mapped_column(Date)
    model: Mapped[str] = mapped_column(String(16))  # "bgnbd" | "pnbd"
    status: Mapped[FitStatus] = mapped_column(String(16))
    # Why a fallback was used, as a message id with its parameters (shown translated).
    fallback_reason: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    spend_params: Mapped[dict[str, Any] | None] = mapped_column()
    spend_note: Mapped[str | None] = mapped_column(Text)
    log_likelihood: Mapped[float | None] = mapped_column(Float)
    n_customers: Mapped[int] = mapped_column(Integer, default=0)
    n_repeaters: Mapped[int] = mapped_column(Integer, default=0)
    fit_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    # Holdout check: fitted on purchases up to holdout_start, compared on the days after.
    holdout: Mapped[dict[str, Any] | None] = mapped_column()
