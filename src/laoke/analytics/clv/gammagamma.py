"""Gamma-Gamma model of mean repeat spend (Fader & Hardie 2013 note; FHL 2005 JMR).

A customer's transaction values are Gamma(p, ν) (shape p, rate ν), with ν ~ Gamma(q, γ)
across customers. Given x repeat purchases with mean value m̄ (currency units):

    f(m̄ | p, q, γ; x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q m̄^(px-1) x^(px) / (γ + x m̄)^(px+q).

The model assumes spend is independent of the purchase process; :func:`fit_gamma_gamma`
checks the Pearson correlation between x and m̄ over repeat customers and refuses to
fit above a threshold. Only customers with x > 0 enter the fit.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import digamma, gammaln

from laoke.analytics.clv._mle import maximize
from laoke.analytics.clv.errors import AssumptionViolated, InvalidSummary, TooFewCustomers

PARAM_NAMES = ("p", "q", "gamma")
DEFAULT_MAX_CORRELATION = 0.3


@dataclass(frozen=True)
class GammaGammaParams:
    """Gamma-Gamma parameters: values ~ Gamma(p, ν), ν ~ Gamma(q, rate gamma)."""

    p: float
    q: float
    gamma: float

    def as_dict(self) -> dict[str, float]:
        """Parameters keyed by their paper names."""
        return asdict(self)


@dataclass(frozen=True)
class GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma fit on the repeat customers.

    ``n_customers`` counts the repeat customers used; ``correlation`` is the Pearson
    correlation between x and m̄ that passed the independence check.
    """

    params: GammaGammaParams
    log_likelihood: float
    standard_errors: dict[str, float]
    n_customers: int
    n_rows: int
    converged: bool
    fit_seconds: float
    correlation: float
    model: str = "gammagamma"


def _validate(
    frequency: ArrayLike, monetary_value: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary_value, dtype=np.float64)
    if x.ndim != 1 or x.shape != m.shape:
        raise InvalidSummary(
            f"frequency and monetary_value must be 1-D of equal length, got {x.shape} and {m.shape}"
        )

    def check(mask: NDArray[np.bool_], what: str) -> None:
        if mask.any():
            k, first = int(mask.sum()), int(np.argmax(mask))
            noun = "customer" if k == 1 else "customers"
            raise InvalidSummary(f"{what} for {k} {noun} (first index {first})")

    check(~np.isfinite(x) | (x < 0) | (x != np.floor(x)), "frequency not a non-negative integer")
    check(~np.isfinite(m), "monetary value not finite")
    check((x > 0) & (m <= 0), "non-positive mean spend of a repeat customer")
    return x, m


def spend_frequency_correlation(frequency: ArrayLike, monetary_value: ArrayLike) -> float:
    """Pearson correlation of x and m̄ over customers with x > 0 (nan if undefined)."""
    x, m = _validate(frequency, monetary_value)
    rep = x > 0
    if rep.sum() < 2 or np.ptp(x[rep]) == 0 or np.ptp(m[rep]) == 0:
        return float("nan")
    return float(np.corrcoef(x[rep], m[rep])[0, 1])


def log_likelihood(
    params: GammaGammaParams, frequency: ArrayLike, monetary_value: ArrayLike
) -> NDArray[np.float64]:
    """Per-customer log density of m̄ given x; nan where x = 0 (no repeat spend)."""
    x, m = _validate(frequency, monetary_value)
    p, q, g = params.p, params.q, params.gamma
    rep = x > 0
    xs, ms = np.where(rep, x, 1.0), np.where(rep, m, 1.0)
    px = p * xs
    ll = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(g)
        + (px - 1) * np.log(ms)
        + px * np.log(xs)
        - (px + q) * np.log(g + xs * ms)
    )
    return np.where(rep, ll, np.nan)


def _loglik_grad(
    theta: NDArray[np.float64], x: NDArray, m: NDArray, w: NDArray
) -> tuple[float, NDArray[np.float64]]:
    p, q, g = np.exp(theta)
    px = p * x
    log_m, log_x, log_gxm = np.log(m), np.log(x), np.log(g + x * m)
    psi_pxq = digamma(px + q)
    ll = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(g)
        + (px - 1) * log_m
        + px * log_x
        - (px + q) * log_gxm
    )
    d_p = x * (psi_pxq - digamma(px) + log_m + log_x - log_gxm)
    d_q = psi_pxq - digamma(q) + np.log(g) - log_gxm
    d_g = q / g - (px + q) / (g + x * m)
    grad = np.array([w @ d_p, w @ d_q, w @ d_g]) * np.array([p, q, g])
    return float(w @ ll), grad


def fit_gamma_gamma(
    frequency: ArrayLike,
    monetary_value: ArrayLike,
    *,
    max_correlation: float = DEFAULT_MAX_CORRELATION,
    min_repeaters: int = 10,
    raise_on_failure: bool = True,
) -> GammaGammaFit:
    """Fit Gamma-Gamma by maximum likelihood on repeat customers (x > 0).

    Args:
        frequency: repeat purchase counts x (customers with x = 0 are ignored).
        monetary_value: mean repeat spend m̄ (currency units; ignored where x = 0).
        max_correlation: refuse to fit when |corr(x, m̄)| exceeds this.

    Raises:
        InvalidSummary: non-integer/negative x, non-finite or non-positive m̄.
        TooFewCustomers: fewer than ``min_repeaters`` customers with x > 0.
        AssumptionViolated: |Pearson corr(x, m̄)| > ``max_correlation``.
        FitDidNotConverge: unless ``raise_on_failure=False``.
    """
    start = time.perf_counter()
    x_all, m_all = _validate(frequency, monetary_value)
    rep = x_all > 0
    n_rep = int(rep.sum())
    if n_rep < min_repeaters:
        raise TooFewCustomers(
            f"Gamma-Gamma needs at least {min_repeaters} customers with repeat purchases, "
            f"got {n_rep}",
            found=n_rep,
            required=min_repeaters,
        )
    corr = spend_frequency_correlation(x_all, m_all)
    if np.isfinite(corr) and abs(corr) > max_correlation:
        raise AssumptionViolated(
            f"Gamma-Gamma assumes spend is independent of frequency, but the Pearson "
            f"correlation of frequency and mean spend is {corr:.3f} "
            f"(|r| above the threshold {max_correlation:g})",
            correlation=corr,
            threshold=max_correlation,
        )
    x, m = x_all[rep], m_all[rep]
    order = np.lexsort((m, x))
    xs, ms = x[order], m[order]
    new = np.ones(xs.shape[0], dtype=bool)
    new[1:] = (xs[1:] != xs[:-1]) | (ms[1:] != ms[:-1])
    starts = np.flatnonzero(new)
    w = np.diff(np.append(starts, xs.shape[0])).astype(np.float64)
    xu, mu = xs[starts], ms[starts]
    theta0 = np.log([1.0, 1.0, max(float(np.mean(m)), 1e-6)])
    out = maximize(
        lambda th: _loglik_grad(th, xu, mu, w),
        theta0,
        n_weight=float(n_rep),
        names=PARAM_NAMES,
        model="Gamma-Gamma",
        raise_on_failure=raise_on_failure,
        hessian_step=1e-5,
    )
    return GammaGammaFit(
        params=GammaGammaParams(*out.params.tolist()),
        log_likelihood=out.log_likelihood,
        standard_errors=dict(zip(PARAM_NAMES, out.standard_errors.tolist(), strict=True)),
        n_customers=n_rep,
        n_rows=int(xu.shape[0]),
        converged=out.converged,
        fit_seconds=time.perf_counter() - start,
        correlation=corr,
    )


def conditional_expected_spend(
    params: GammaGammaParams, frequency: ArrayLike, monetary_value: ArrayLike
) -> NDArray[np.float64]:
    """E[M | x, m̄]: expected value of a future transaction (currency units).

    = (q-1)/(px+q-1) · pγ/(q-1) + px/(px+q-1) · m̄, a weighted mean of the population
    mean pγ/(q-1) and the customer's own m̄. Customers with x = 0 get the population
    mean. Requires q > 1 (otherwise the mean is infinite: returns inf).
    """
    x, m = _validate(frequency, monetary_value)
    p, q, g = params.p, params.q, params.gamma
    if q <= 1:
        return np.full(x.shape, np.inf)
    px = p * x
    return (p * (g + np.where(x > 0, x * m, 0.0))) / (px + q - 1)
