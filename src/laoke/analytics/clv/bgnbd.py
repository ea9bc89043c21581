"""BG/NBD model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way").

While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α) (α is a
rate in the summary's time unit, so λ is purchases per time unit); after each repeat
purchase the customer drops out with probability p ~ Beta(a, b).

Inputs everywhere are the per-customer summary (x, t_x, T) in one time unit; the
parameters are only meaningful with that unit (α scales with it, r, a, b do not).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import digamma, gammaln, hyp2f1

from laoke.analytics.clv._mle import maximize
from laoke.analytics.clv.compress import (
    CompressedSummary,
    compress_summary,
    require_customers,
    thin,
    validate_summary,
)

PARAM_NAMES = ("r", "alpha", "a", "b")
WARM_START_CUSTOMERS = 50_000  # larger fits start from a fit on a subsample this size


@dataclass(frozen=True)
class BgNbdParams:
    """BG/NBD parameters: λ ~ Gamma(shape r, rate alpha), p ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        """Parameters keyed by their paper names."""
        return asdict(self)


@dataclass(frozen=True)
class BgNbdFit:
    """Maximum-likelihood BG/NBD fit.

    ``standard_errors`` come from the observed information (inverse of the negative
    Hessian of the weighted log-likelihood at the optimum), natural scale.
    ``fit_seconds`` includes compression to unique (x, t_x, T) rows (``n_rows``).
    """

    params: BgNbdParams
    log_likelihood: float
    standard_errors: dict[str, float]
    n_customers: int
    n_rows: int
    converged: bool
    fit_seconds: float
    model: str = "bgnbd"


def _loglik_grad(
    theta: NDArray[np.float64], data: CompressedSummary
) -> tuple[float, NDArray[np.float64]]:
    """Weighted total LL and its gradient in θ = log(r, α, a, b)."""
    r, alpha, a, b = np.exp(theta)
    xv = data.x_values
    rep = xv > 0
    xm1 = np.where(rep, xv - 1.0, 0.0)
    # Terms that depend on x only, computed once per distinct x then gathered.
    ab = gammaln(a + b) - gammaln(b)
    psi_ab, psi_b = digamma(a + b), digamma(b)
    psi_abx = digamma(a + b + xv)
    per_x = np.stack(
        [
            gammaln(r + xv) - gammaln(r),  # A1 (without r log α)
            digamma(r + xv) - digamma(r),  # dA1/dr
            gammaln(b + xv) - gammaln(a + b + xv) + ab,  # B2
            psi_ab - psi_abx,  # dB2/da
            digamma(b + xv) - psi_abx - psi_b + psi_ab,  # dB2/db
            np.log(a) + gammaln(b + xm1) - gammaln(a + b + xv) + ab,  # B3
            1.0 / a - psi_abx + psi_ab,  # dB3/da
            digamma(b + xm1) - psi_abx - psi_b + psi_ab,  # dB3/db
        ]
    )[:, data.x_index]
    a1, da1_dr, b2, db2_da, db2_db, b3, db3_da, db3_db = per_x
    x, w = data.x, data.weight
    rx = r + x
    l_t = np.log(alpha + data.T)
    l_tx = np.log(alpha + data.t_x)
    a2 = b2 - rx * l_t
    a3 = np.where(x > 0, b3 - rx * l_tx, -np.inf)
    m = np.logaddexp(a2, a3)
    w2 = np.exp(a2 - m)
    w3 = 1.0 - w2
    log_alpha = np.log(alpha)
    ll = a1 + r * log_alpha + m
    d_r = da1_dr + log_alpha - w2 * l_t - w3 * l_tx
    d_alpha = r / alpha - rx * (w2 / (alpha + data.T) + w3 / (alpha + data.t_x))
    d_a = w2 * db2_da + w3 * db3_da
    d_b = w2 * db2_db + w3 * db3_db
    grad_p = np.array([w @ d_r, w @ d_alpha, w @ d_a, w @ d_b])
    return float(w @ ll), grad_p * np.array([r, alpha, a, b])


def log_likelihood(
    params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike, age: ArrayLike
) -> NDArray[np.float64]:
    """Per-customer log-likelihood of (x, t_x, T) under BG/NBD (FHL 2005, eq. 6)."""
    x, t_x, age = validate_summary(frequency, recency, age)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    xm1 = np.where(x > 0, x - 1.0, 0.0)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    ab = gammaln(a + b) - gammaln(b)
    a2 = gammaln(b + x) - gammaln(a + b + x) + ab - (r + x) * np.log(alpha + age)
    a3 = np.log(a) + gammaln(b + xm1) - gammaln(a + b + x) + ab - (r + x) * np.log(alpha + t_x)
    return a1 + np.logaddexp(a2, np.where(x > 0, a3, -np.inf))


def fit_bgnbd(
    frequency: ArrayLike,
    recency: ArrayLike,
    age: ArrayLike,
    *,
    min_customers: int = 10,
    min_repeaters: int = 2,
    raise_on_failure: bool = True,
) -> BgNbdFit:
    """Fit BG/NBD by maximum likelihood on per-customer (x, t_x, T).

    Customers are compressed to unique triples with weights first; the optimiser
    works on log-parameters with the analytic gradient.

    Raises:
        InvalidSummary: the arrays break the (x, t_x, T) contract.
        TooFewCustomers: fewer than ``min_customers`` customers or ``min_repeaters``
            customers with x > 0.
        FitDidNotConverge: the optimiser did not converge (unless
            ``raise_on_failure=False``, then ``converged`` is False).
    """
    start = time.perf_counter()
    data = compress_summary(frequency, recency, age)
    require_customers(data, min_customers, min_repeaters, "BG/NBD")
    mean_t = float(data.weight @ data.T / data.weight.sum())
    theta0 = np.log([1.0, max(mean_t, 1e-3), 1.0, 1.0])
    sub = thin(data, WARM_START_CUSTOMERS)
    out = maximize(
        lambda th: _loglik_grad(th, data),
        theta0,
        n_weight=float(data.weight.sum()),
        names=PARAM_NAMES,
        model="BG/NBD",
        raise_on_failure=raise_on_failure,
        hessian_step=1e-5,
        warm=None if sub is None else (lambda th: _loglik_grad(th, sub), float(sub.weight.sum())),
    )
    return BgNbdFit(
        params=BgNbdParams(*out.params.tolist()),
        log_likelihood=out.log_likelihood,
        standard_errors=dict(zip(PARAM_NAMES, out.standard_errors.tolist(), strict=True)),
        n_customers=data.n_customers,
        n_rows=int(data.x.shape[0]),
        converged=out.converged,
        fit_seconds=time.perf_counter() - start,
    )


def expected_purchases(params: BgNbdParams, t: ArrayLike) -> NDArray[np.float64]:
    """E[X(t)]: expected repeat purchases in (0, t] of a newly acquired customer (eq. 7).

    ``t`` is in the fit's time unit. Undefined for a = 1 exactly.
    """
    t = np.asarray(t, dtype=np.float64)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + t)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))


def probability_alive(
    params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike, age: ArrayLike
) -> NDArray[np.float64]:
    """P(alive at T | x, t_x, T) (FHL 2005 note, eq. for P(τ > T)); 1 where x = 0."""
    x, t_x, age = validate_summary(frequency, recency, age)
    return 1.0 / (1.0 + _odds_dead(params, x, t_x, age))


def _odds_dead(
    params: BgNbdParams, x: NDArray[np.float64], t_x: NDArray[np.float64], age: NDArray[np.float64]
) -> NDArray[np.float64]:
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    xm1 = np.where(x > 0, x - 1.0, 1.0)
    log_odds = np.log(a / (b + xm1)) + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
    with np.errstate(over="ignore"):
        return np.where(x > 0, np.exp(log_odds), 0.0)


def conditional_expected_purchases(
    params: BgNbdParams,
    t: ArrayLike,
    frequency: ArrayLike,
    recency: ArrayLike,
    age: ArrayLike,
) -> NDArray[np.float64]:
    """E[Y(t) | x, t_x, T]: expected purchases in (T, T + t] (FHL 2005, eq. 10).

    ``t`` (scalar or broadcastable array) is in the fit's time unit.
    """
    x, t_x, age = validate_summary(frequency, recency, age)
    t = np.asarray(t, dtype=np.float64)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + age + t)
    # Eq. 10 has ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x-1; z), whose 2F1 overflows
    # for heavy buyers. Euler's transformation turns it into the equal, bounded
    # (1-z)^(a-1) · 2F1(a+b-1-r, a-1; a+b+x-1; z).
    hyp = hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
    numer = (a + b + x - 1) / (a - 1) * (1 - (1 - z) ** (a - 1) * hyp)
    return numer / (1.0 + _odds_dead(params, x, t_x, age))
