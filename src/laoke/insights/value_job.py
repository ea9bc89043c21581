"""Fits a tenant's customer-value models and stores what they predict for each customer.

Once a day (and on demand) for each tenant:

1. Paid orders become a transaction log: one purchase per customer per tenant-local day.
2. BG/NBD (or Pareto/NBD) is fitted by maximum likelihood on every customer's repeat
   purchases, in weeks. A tenant with fewer than `MIN_CUSTOMERS` buyers or `MIN_REPEATERS`
   repeat buyers, or whose fit does not converge, gets the published CDNOW parameters
   instead — a neutral benchmark, stated as such on the value-model page — so every
   customer still has a P(alive) that follows their own recency and frequency.
3. Gamma-Gamma is fitted on repeat buyers' spend; when it cannot be (too few repeat
   buyers, or spend correlated with frequency) each customer's own mean purchase value
   stands in, and the page says why.
4. Per customer: P(alive), expected purchases in the next 90 and 365 days, and the CLV of
   the next `CLV_HORIZON_MONTHS` months discounted at `MONTHLY_DISCOUNT_RATE` per month,
   written to `customer_figures`.
5. A holdout check: the same model fitted on all but the last weeks of history predicts
   each customer's repeat purchases in those weeks; predicted and actual are kept per
   calibration frequency for the fit-quality chart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from laoke.analytics.clv import bgnbd, pnbd
from laoke.analytics.clv.errors import ClvError
from laoke.analytics.clv.gammagamma import conditional_expected_spend, fit_gamma_gamma
from laoke.analytics.clv.summary import CustomerSummary, TimeUnit, summarize_transactions
from laoke.analytics.clv.value import (
    PurchaseParams,
    conditional_expected_purchases,
    discounted_expected_purchases,
    probability_alive,
)
from laoke.db import Database, utcnow
from laoke.engagement.models import CustomerFigures
from laoke.insights.models import FitStatus, ValueModelFit
from laoke.orders.models import Order, OrderStatus
from laoke.tenancy.service import OrgInfo

MIN_CUSTOMERS = 100
MIN_REPEATERS = 20
# Fader, Hardie & Lee (2005), CDNOW 1/10 sample, weeks: the benchmark for small tenants.
BENCHMARK_BGNBD = bgnbd.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
BENCHMARK_PNBD = pnbd.ParetoNbdParams(r=0.553, alpha=10.578, s=0.606, beta=11.669)
UNIT = TimeUnit.WEEK
DAYS_PER_WEEK = 7.0
CLV_HORIZON_MONTHS = 12
MONTHLY_DISCOUNT_RATE = 0.01  # about 12.7% a year
MONTH_IN_WEEKS = 365.25 / 12 / DAYS_PER_WEEK
# Holdout: the last quarter of the history, between 4 weeks and a quarter of a year.
HOLDOUT_MAX_WEEKS = 13
MIN_HISTORY_FOR_HOLDOUT_WEEKS = 16
FREQUENCY_BUCKETS = 7  # 0, 1, ..., 6, and "7+"


@dataclass(frozen=True)
class Purchases:
    customer_id: NDArray[np.int64]
    day: NDArray[np.datetime64]
    amount: NDArray[np.float64]


def load_purchases(session: Session, org_id: int, timezone: str, now: datetime) -> Purchases:
    """Paid orders as (customer, tenant-local day, amount) arrays."""
    rows = session.execute(
        select(Order.customer_id, Order.ordered_at, Order.amount).where(
            Order.org_id == org_id, Order.status == OrderStatus.PAID
        )
    ).all()
    offset = ZoneInfo(timezone).utcoffset(now.replace(tzinfo=None))
    shift = offset.total_seconds() if offset is not None else 0.0
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    seconds = np.fromiter(
        (r[1].timestamp() + shift for r in rows), dtype=np.float64, count=len(rows)
    )
    amounts = np.fromiter((float(r[2]) for r in rows), dtype=np.float64, count=len(rows))
    days = (seconds // 86400).astype(np.int64).astype("datetime64[D]")
    return Purchases(ids, days, amounts)


@dataclass(frozen=True)
class PurchaseFit:
    model: str
    status: FitStatus
    params: PurchaseParams
    log_likelihood: float | None
    fallback_reason: str | None
    fit_seconds: float


def fit_purchases(summary: CustomerSummary, model: str, *, strict: bool = True) -> PurchaseFit:
    """The tenant's own fit, or the benchmark with the reason the fit was not possible.

    Not `strict`, a maximum whose curvature does not pin the parameters down (the optimiser's
    "did not converge") is still used: the holdout check asks how well the fitted point
    predicts, not how precisely its parameters are known."""
    start = time.perf_counter()
    fitter = bgnbd.fit_bgnbd if model == "bgnbd" else pnbd.fit_pnbd
    benchmark: PurchaseParams = BENCHMARK_BGNBD if model == "bgnbd" else BENCHMARK_PNBD
    try:
        fit = fitter(
            summary.frequency,
            summary.recency,
            summary.T,
            min_customers=MIN_CUSTOMERS,
            min_repeaters=MIN_REPEATERS,
            raise_on_failure=strict,
        )
    except ClvError as exc:
        return PurchaseFit(
            model, FitStatus.FALLBACK, benchmark, None, str(exc), time.perf_counter() - start
        )
    return PurchaseFit(
        model,
        FitStatus.FITTED,
        fit.params,
        fit.log_likelihood,
        None,
        time.perf_counter() - start,
    )


def expected_spend(
    summary: CustomerSummary, purchases: Purchases
) -> tuple[NDArray[np.float64], dict[str, float] | None, str | None]:
    """Expected value of a customer's next purchase, from Gamma-Gamma when it can be fitted."""
    assert summary.monetary_value is not None
    try:
        spend = fit_gamma_gamma(summary.frequency, summary.monetary_value)
    except ClvError as exc:
        return _own_mean_spend(summary, purchases), None, str(exc)
    values = conditional_expected_spend(spend.params, summary.frequency, summary.monetary_value)
    return values, spend.params.as_dict(), None


def _own_mean_spend(summary: CustomerSummary, purchases: Purchases) -> NDArray[np.float64]:
    """Each customer's mean order value over all their purchases (the first included)."""
    ids, inverse = np.unique(purchases.customer_id, return_inverse=True)
    totals = np.bincount(inverse, weights=purchases.amount)
    counts = np.bincount(inverse)
    means = totals / np.maximum(counts, 1)
    position = np.searchsorted(ids, summary.customer_id.astype(np.int64))
    return means[position]


@dataclass(frozen=True)
class Predictions:
    customer_id: NDArray[np.int64]
    p_alive: NDArray[np.float64]
    expected_90d: NDArray[np.float64]
    expected_365d: NDArray[np.float64]
    clv: NDArray[np.float64]


def predict(params: PurchaseParams, summary: CustomerSummary, spend: NDArray) -> Predictions:
    x, t_x, age = summary.frequency, summary.recency, summary.T
    purchases_ahead = discounted_expected_purchases(
        params,
        x,
        t_x,
        age,
        horizon_periods=CLV_HORIZON_MONTHS,
        period_length=MONTH_IN_WEEKS,
        discount_rate=MONTHLY_DISCOUNT_RATE,
    )
    return Predictions(
        customer_id=summary.customer_id.astype(np.int64),
        p_alive=probability_alive(params, x, t_x, age),
        expected_90d=conditional_expected_purchases(params, 90 / DAYS_PER_WEEK, x, t_x, age),
        expected_365d=conditional_expected_purchases(params, 365 / DAYS_PER_WEEK, x, t_x, age),
        clv=np.nan_to_num(spend * purchases_ahead, nan=0.0, posinf=0.0),
    )


def holdout_check(purchases: Purchases, as_of: date, model: str) -> dict[str, Any] | None:
    """Predicted vs actual repeat purchases in the last weeks of history, by frequency."""
    if purchases.day.size == 0:
        return None
    history_weeks = (np.datetime64(as_of, "D") - purchases.day.min()).astype(int) / DAYS_PER_WEEK
    if history_weeks < MIN_HISTORY_FOR_HOLDOUT_WEEKS:
        return None
    weeks = int(min(HOLDOUT_MAX_WEEKS, max(4, history_weeks // 4)))
    calibration_end = as_of - timedelta(weeks=weeks)
    try:
        summary = summarize_transactions(
            purchases.customer_id,
            purchases.day,
            as_of=as_of,
            calibration_end=calibration_end,
            time_unit=UNIT,
        )
    except ClvError:
        return None
    fit = fit_purchases(summary, model, strict=False)
    if fit.status is not FitStatus.FITTED or not np.all(
        np.isfinite(list(fit.params.as_dict().values()))
    ):
        return None
    assert summary.holdout_frequency is not None
    assert summary.holdout_span is not None
    predicted = conditional_expected_purchases(
        fit.params, summary.holdout_span, summary.frequency, summary.recency, summary.T
    )
    if not np.all(np.isfinite(predicted)):
        return None  # a fit at the edge of the parameter space (no drop-out seen) predicts nothing
    actual = summary.holdout_frequency.astype(np.float64)
    bucket = np.minimum(summary.frequency, FREQUENCY_BUCKETS)
    buckets = []
    for value in range(FREQUENCY_BUCKETS + 1):
        members = bucket == value
        count = int(members.sum())
        if count == 0:
            continue
        buckets.append(
            {
                "x": f"{value}+" if value == FREQUENCY_BUCKETS else str(value),
                "customers": count,
                "actual": float(actual[members].mean()),
                "predicted": float(predicted[members].mean()),
            }
        )
    return {
        "calibration_end": calibration_end.isoformat(),
        "weeks": weeks,
        "customers": summary.n_customers,
        "total_actual": float(actual.sum()),
        "total_predicted": float(predicted.sum()),
        "mean_absolute_error": float(np.abs(predicted - actual).mean()),
        "buckets": buckets,
    }


def store_predictions(session: Session, org_id: int, predictions: Predictions) -> None:
    """Write the per-customer predictions; customers no longer in the cohort lose theirs."""
    session.execute(
        update(CustomerFigures)
        .where(CustomerFigures.org_id == org_id)
        .values(p_alive=None, expected_purchases_90d=None, expected_purchases_365d=None, clv=None)
    )
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(CustomerFigures)
    statement = statement.on_conflict_do_update(
        index_elements=["org_id", "customer_id"],
        set_={
            "p_alive": statement.excluded.p_alive,
            "expected_purchases_90d": statement.excluded.expected_purchases_90d,
            "expected_purchases_365d": statement.excluded.expected_purchases_365d,
            "clv": statement.excluded.clv,
        },
    )
    rows = [
        {
            "org_id": org_id,
            "customer_id": int(cid),
            "p_alive": round(float(p), 6),
            "expected_purchases_90d": round(float(e90), 4),
            "expected_purchases_365d": round(float(e365), 4),
            "clv": round(float(value), 2),
        }
        for cid, p, e90, e365, value in zip(
            predictions.customer_id,
            predictions.p_alive,
            predictions.expected_90d,
            predictions.expected_365d,
            predictions.clv,
            strict=True,
        )
    ]
    for start in range(0, len(rows), 5000):
        session.execute(statement, rows[start : start + 5000])


@dataclass(frozen=True)
class TenantFit:
    """A fit and its predictions, ready to be stored."""

    row: ValueModelFit
    predictions: Predictions


def compute_fit(org_id: int, purchases: Purchases, as_of: date, model: str) -> TenantFit | None:
    """Everything but the database: None when there are no purchases."""
    if purchases.customer_id.size == 0:
        return None
    summary = summarize_transactions(
        purchases.customer_id, purchases.day, purchases.amount, as_of=as_of, time_unit=UNIT
    )
    fit = fit_purchases(summary, model)
    spend, spend_params, spend_note = expected_spend(summary, purchases)
    row = ValueModelFit(
        org_id=org_id,
        fitted_at=utcnow(),
        as_of=as_of,
        model=model,
        status=fit.status,
        fallback_reason=fit.fallback_reason,
        params=fit.params.as_dict(),
        spend_params=spend_params,
        spend_note=spend_note,
        log_likelihood=fit.log_likelihood,
        n_customers=summary.n_customers,
        n_repeaters=int((summary.frequency > 0).sum()),
        fit_seconds=fit.fit_seconds,
        holdout=holdout_check(purchases, as_of, model),
    )
    return TenantFit(row, predict(fit.params, summary, spend))


def fit_in_session(
    session: Session, org: OrgInfo, now: datetime, *, model: str = "bgnbd"
) -> ValueModelFit | None:
    """Fit and store inside the caller's transaction (the demo seed, small tenants)."""
    as_of = now.astimezone(ZoneInfo(org.timezone)).date()
    result = compute_fit(org.id, load_purchases(session, org.id, org.timezone, now), as_of, model)
    if result is None:
        return None
    store_predictions(session, org.id, result.predictions)
    session.add(result.row)
    session.flush()
    return result.row


def fit_org(
    database: Database, org: OrgInfo, now: datetime, *, model: str = "bgnbd"
) -> ValueModelFit | None:
    """Fit, predict, store. None when the tenant has no paid orders yet.

    Reading and fitting happen outside any write transaction, so SQLite's write lock is
    held only while the predictions are written."""
    as_of = now.astimezone(ZoneInfo(org.timezone)).date()
    with database.unit_of_work(write=False) as session:
        purchases = load_purchases(session, org.id, org.timezone, now)
    result = compute_fit(org.id, purchases, as_of, model)
    if result is None:
        return None
    with database.unit_of_work() as session:
        store_predictions(session, org.id, result.predictions)
        row = result.row
        session.add(row)
        session.commit()
        session.refresh(row)
        session.expunge(row)
    return row


def latest_fit(session: Session, org_id: int) -> ValueModelFit | None:
    return session.scalar(
        select(ValueModelFit)
        .where(ValueModelFit.org_id == org_id)
        .order_by(ValueModelFit.fitted_at.desc(), ValueModelFit.id.desc())
        .limit(1)
    )


def daily_fit(database: Database, org: OrgInfo, now: datetime) -> int | None:
    """Scheduled job: refit the tenant's value model; returns the customers scored."""
    row = fit_org(database, org, now)
    return None if row is None else row.n_customers
