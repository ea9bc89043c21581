"""Customer lifetime value from a purchase model and a spend model.

Discounting (the "discounted expected transactions" approach): the horizon is cut into
``horizon_periods`` periods of ``period_length`` time units (the fit's unit, e.g. weeks;
``period_length=365.25 / 12 / 7`` is one month when the unit is weeks). Purchases expected in
period k, E[Y(kΔ)] - E[Y((k-1)Δ)], are valued at the expected spend per purchase and
discounted at the end of the period by (1 + d)^-k, with d the discount rate **per
period**:

    CLV = E[M | x, m̄] · Σ_{k=1..H} (E[Y(kΔ) | x, t_x, T] - E[Y((k-1)Δ) | x, t_x, T]) / (1+d)^k

The result is in the currency of the spend data (margin is the caller's to apply).

:func:`simulate_future_purchases` and :func:`simulate_future_value` give per-customer
predictive distributions (draws from the posterior predictive, seeded ``rng``), and
:func:`summarize_draws` turns draws into means and quantiles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from laoke.analytics.clv import bgnbd, pnbd
from laoke.analytics.clv.compress import validate_summary
from laoke.analytics.clv.gammagamma import GammaGammaParams

PurchaseParams = bgnbd.BgNbdParams | pnbd.ParetoNbdParams


def conditional_expected_purchases(
    params: PurchaseParams, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, age: ArrayLike
) -> NDArray[np.float64]:
    """E[Y(t) | x, t_x, T] under whichever model ``params`` belongs to."""
    if isinstance(params, bgnbd.BgNbdParams):
        return bgnbd.conditional_expected_purchases(params, t, frequency, recency, age)
    if isinstance(params, pnbd.ParetoNbdParams):
        return pnbd.conditional_expected_purchases(params, t, frequency, recency, age)
    raise TypeError(f"unsupported purchase model parameters: {type(params).__name__}")


def probability_alive(
    params: PurchaseParams, frequency: ArrayLike, recency: ArrayLike, age: ArrayLike
) -> NDArray[np.float64]:
    """P(alive at T | x, t_x, T) under whichever model ``params`` belongs to."""
    if isinstance(params, bgnbd.BgNbdParams):
        return bgnbd.probability_alive(params, frequency, recency, age)
    if isinstance(params, pnbd.ParetoNbdParams):
        return pnbd.probability_alive(params, frequency, recency, age)
    raise TypeError(f"unsupported purchase model parameters: {type(params).__name__}")


def discounted_expected_purchases(
    params: PurchaseParams,
    frequency: ArrayLike,
    recency: ArrayLike,
    age: ArrayLike,
    *,
    horizon_periods: int,
    period_length: float,
    discount_rate: float,
) -> NDArray[np.float64]:
    """Σ_k (E[Y(kΔ)] - E[Y((k-1)Δ)]) / (1+d)^k per customer (see module docstring)."""
    if horizon_periods < 1 or period_length <= 0:
        raise ValueError("horizon_periods must be ≥ 1 and period_length > 0")
    if discount_rate <= -1:
        raise ValueError("discount_rate must be > -1 (a rate per period, e.g. 0.01)")
    x, t_x, t_age = validate_summary(frequency, recency, age)
    total = np.zeros_like(x)
    previous = np.zeros_like(x)
    for k in range(1, horizon_periods + 1):
        current = conditional_expected_purchases(params, k * period_length, x, t_x, t_age)
        total += (current - previous) / (1.0 + discount_rate) ** k
        previous = current
    return total


def customer_lifetime_value(
    params: PurchaseParams,
    spend_params: GammaGammaParams,
    frequency: ArrayLike,
    recency: ArrayLike,
    age: ArrayLike,
    monetary_value: ArrayLike,
    *,
    horizon_periods: int,
    period_length: float,
    discount_rate: float,
) -> NDArray[np.float64]:
    """Discounted CLV per customer (currency units; see module docstring)."""
    from laoke.analytics.clv.gammagamma import conditional_expected_spend

    spend = conditional_expected_spend(spend_params, frequency, monetary_value)
    det = discounted_expected_purchases(
        params,
        frequency,
        recency,
        age,
        horizon_periods=horizon_periods,
        period_length=period_length,
        discount_rate=discount_rate,
    )
    return spend * det


def simulate_future_purchases(
    params: PurchaseParams,
    frequency: ArrayLike,
    recency: ArrayLike,
    age: ArrayLike,
    t: float,
    rng: np.random.Generator,
    *,
    n_draws: int = 1000,
) -> NDArray[np.int64]:
    """Draws of the number of purchases in (T, T+t], shape (n_customers, n_draws).

    A customer is alive at T with probability P(alive); if alive, the latent rates are
    drawn from their posterior given alive (BG/NBD: λ ~ Gamma(r+x, α+T),
    p ~ Beta(a, b+x); Pareto/NBD: λ ~ Gamma(r+x, α+T), μ ~ Gamma(s, β+T)) and the
    future purchases from the model's process. Memory is n_customers × n_draws.
    """
    x, t_x, t_age = validate_summary(frequency, recency, age)
    alive_p = probability_alive(params, x, t_x, t_age)
    shape = (x.shape[0], n_draws)
    alive = rng.random(shape) < alive_p[:, None]
    p = params
    lam = rng.gamma((p.r + x)[:, None], 1.0 / (p.alpha + t_age)[:, None], shape)
    if isinstance(p, bgnbd.BgNbdParams):
        # Beta draws can underflow to 0, which Generator.geometric rejects.
        drop = np.maximum(rng.beta(p.a, (p.b + x)[:, None], shape), 1e-300)
        count = np.minimum(rng.poisson(lam * t), rng.geometric(drop))
    else:
        mu = rng.gamma(p.s, 1.0 / (p.beta + t_age)[:, None], shape)
        lifetime = rng.exponential(1.0, shape) / mu
        count = rng.poisson(lam * np.minimum(lifetime, t))
    return np.where(alive, count, 0).astype(np.int64)


def simulate_future_value(
    purchases: NDArray[np.int64],
    spend_params: GammaGammaParams,
    frequency: ArrayLike,
    monetary_value: ArrayLike,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """Undiscounted spend draws matching ``purchases`` (n_customers, n_draws).

    ν ~ Gamma(q + p·x, γ + x·m̄) (the customer's posterior spend rate); the total of n
    purchases is Gamma(n·p, ν). Currency units.
    """
    x = np.asarray(frequency, dtype=np.float64)
    m = np.where(x > 0, np.asarray(monetary_value, dtype=np.float64), 0.0)
    sp = spend_params
    nu = rng.gamma((sp.q + sp.p * x)[:, None], 1.0 / (sp.gamma + x * m)[:, None], purchases.shape)
    shape = np.where(purchases > 0, purchases * sp.p, 1.0)
    return np.where(purchases > 0, rng.gamma(shape, 1.0 / nu), 0.0)


@dataclass(frozen=True)
class DrawSummary:
    """Per-customer mean and quantiles of predictive draws."""

    mean: NDArray[np.float64]
    quantiles: dict[float, NDArray[np.float64]]


def summarize_draws(
    draws: NDArray, quantiles: tuple[float, ...] = (0.05, 0.5, 0.95)
) -> DrawSummary:
    """Mean and quantiles along the draws axis (axis 1) of an (n_customers, n_draws) array."""
    qs = np.quantile(draws, quantiles, axis=1)
    return DrawSummary(
        mean=draws.mean(axis=1), quantiles={q: qs[i] for i, q in enumerate(quantiles)}
    )
