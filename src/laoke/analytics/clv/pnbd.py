"""Pareto/NBD model (Schmittlein, Morrison & Colombo 1987).

While alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α); the
lifetime is exponential with rate μ ~ Gamma(s, β). α and β are rates in the summary's
time unit.

The likelihood follows Fader & Hardie's note "A Note on Deriving the Pareto/NBD Model
and Related Expressions" (2005):

    L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^-(r+x) (β+T)^-s + s/(r+s+x) · A0 ],
    A0 = K(t_x) - K(T),

where K(t) carries a Gauss hypergeometric function whose argument is
(α-β)/(α+t) when α ≥ β and (β-α)/(β+t) when α < β. For numerical stability we apply
Euler's transformation so that every 2F1 has first parameter 1 and argument in [0, 1):

    α ≥ β:  K(t) = 2F1(1, r+x; r+s+x+1; (α-β)/(α+t)) / ((α+t)^(r+x) (β+t)^s)
    α < β:  K(t) = (α+t)/(β+t) · 2F1(1, s+1; r+s+x+1; (β-α)/(β+t)) / ((α+t)^(r+x) (β+t)^s)

Everything is evaluated in logs; A0 = K(t_x)(1 - K(T)/K(t_x)) via ``expm1``. K is needed
only at distinct (x, t) pairs, which are few even for millions of customers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import digamma, expit, gammaln, hyp2f1

from laoke.analytics.clv._mle import maximize
from laoke.analytics.clv.compress import (
    CompressedSummary,
    compress_summary,
    require_customers,
    thin,
    validate_summary,
)

PARAM_NAMES = ("r", "alpha", "s", "beta")
WARM_START_CUSTOMERS = 50_000  # larger fits start from a fit on a subsample this size


@dataclass(frozen=True)
class ParetoNbdParams:
    """Pareto/NBD parameters: λ ~ Gamma(r, rate alpha), μ ~ Gamma(s, rate beta)."""

    r: float
    alpha: float
    s: float
    beta: float

    def as_dict(self) -> dict[str, float]:
        """Parameters keyed by their paper names."""
        return asdict(self)


@dataclass(frozen=True)
class ParetoNbdFit:
    """Maximum-likelihood Pareto/NBD fit (fields as in :class:`~.bgnbd.BgNbdFit`)."""

    params: ParetoNbdParams
    log_likelihood: float
    standard_errors: dict[str, float]
    n_customers: int
    n_rows: int
    converged: bool
    fit_seconds: float
    model: str = "pnbd"


def _log_k(r: float, alpha: float, s: float, beta: float, x: NDArray, t: NDArray) -> NDArray:
    """log K(t) for arrays of (x, t) (see module docstring)."""
    la, lb = np.log(alpha + t), np.log(beta + t)
    if alpha >= beta:
        f = hyp2f1(1.0, r + x, r + s + x + 1.0, (alpha - beta) / (alpha + t))
        return np.log(f) - (r + x) * la - s * lb
    f = hyp2f1(1.0, s + 1.0, r + s + x + 1.0, (beta - alpha) / (beta + t))
    return la - lb + np.log(f) - (r + x) * la - s * lb


def _log_a0(log_k_tx: NDArray, log_k_t: NDArray) -> NDArray:
    with np.errstate(divide="ignore"):
        return log_k_tx + np.log(-np.expm1(np.minimum(log_k_t - log_k_tx, 0.0)))


def _parts(
    params: ParetoNbdParams,
    x: NDArray[np.float64],
    t_x: NDArray[np.float64],
    age: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    log_a0 = _log_a0(_log_k(r, alpha, s, beta, x, t_x), _log_k(r, alpha, s, beta, x, age))
    term1 = -(r + x) * np.log(alpha + age) - s * np.log(beta + age)
    term2 = np.log(s / (r + s + x)) + log_a0
    return term1, term2


def log_likelihood(
    params: ParetoNbdParams, frequency: ArrayLike, recency: ArrayLike, age: ArrayLike
) -> NDArray[np.float64]:
    """Per-customer log-likelihood of (x, t_x, T) under Pareto/NBD."""
    x, t_x, age = validate_summary(frequency, recency, age)
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    term1, term2 = _parts(params, x, t_x, age)
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    return head + np.logaddexp(term1, term2)


class _PairIndex:
    """Distinct (x, t) pairs over t ∈ {t_x, T} of the compressed rows."""

    def __init__(self, x: NDArray, t_x: NDArray, age: NDArray, x_index: NDArray) -> None:
        t_all = np.concatenate([t_x, age])
        t_vals, t_idx = np.unique(t_all, return_inverse=True)
        key = np.concatenate([x_index, x_index]).astype(np.int64) * t_vals.shape[0]
        key += t_idx.reshape(-1)
        ukey, inverse = np.unique(key, return_inverse=True)
        inverse = inverse.reshape(-1)
        n = x.shape[0]
        self.x = np.concatenate([x, x])[_first_index(inverse, ukey.shape[0])]
        self.t = t_vals[ukey % t_vals.shape[0]]
        self.of_tx = inverse[:n]
        self.of_t = inverse[n:]


def _first_index(inverse: NDArray, n_unique: int) -> NDArray[np.intp]:
    first = np.empty(n_unique, dtype=np.intp)
    first[inverse[::-1]] = np.arange(inverse.shape[0] - 1, -1, -1)
    return first


def _log_k_grad(
    params: NDArray[np.float64], x: NDArray, t: NDArray, rel_step: float = 1e-6
) -> tuple[NDArray, NDArray]:
    """log K at (x, t) pairs and its derivatives in (r, α, s, β), shape (4, n_pairs).

    The parameter derivatives of 2F1 have no closed form, so these four are central
    differences; they run on the few distinct (x, t) pairs only, so they are cheap.
    """
    base = _log_k(*params, x, t)
    grads = np.empty((4, base.shape[0]))
    for i in range(4):
        h = rel_step * params[i]
        up, down = params.copy(), params.copy()
        up[i] += h
        down[i] -= h
        grads[i] = (_log_k(*up, x, t) - _log_k(*down, x, t)) / (2 * h)
    return base, grads


def _weighted_loglik_grad(
    data: CompressedSummary,
) -> Callable[[NDArray[np.float64]], tuple[float, NDArray[np.float64]]]:
    """θ = log(r, α, s, β) ↦ (weighted total LL, gradient in θ) on compressed rows."""
    pairs = _PairIndex(data.x, data.t_x, data.T, data.x_index)
    x, w, age = data.x, data.weight, data.T
    xv, xi = data.x_values, data.x_index
    w_sum = float(w.sum())

    def value_and_grad(theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        params = np.exp(theta)
        r, alpha, s, beta = params
        log_k, d_log_k = _log_k_grad(params, pairs.x, pairs.t)
        lk_tx, lk_t = log_k[pairs.of_tx], log_k[pairs.of_t]
        log_a0 = _log_a0(lk_tx, lk_t)
        rho = np.exp(np.minimum(lk_t - lk_tx, 0.0))  # K(T)/K(t_x) in [0, 1]
        live = rho < 1.0
        inv = np.where(live, 1.0 / np.where(live, 1.0 - rho, 1.0), 0.0)
        rsx = 1.0 / (r + s + xv)
        per_x = np.stack([gammaln(r + xv), np.log(s * rsx), digamma(r + xv), rsx])[:, xi]
        l_at, l_bt = np.log(alpha + age), np.log(beta + age)
        term1 = -(r + x) * l_at - s * l_bt
        term2 = per_x[1] + log_a0
        m = np.logaddexp(term1, term2)
        w1 = np.exp(term1 - m)
        w2 = 1.0 - w1
        ll = per_x[0] + m
        # d log A0 = (d log K(t_x) - rho · d log K(T)) / (1 - rho)
        d_a0 = (d_log_k[:, pairs.of_tx] - rho * d_log_k[:, pairs.of_t]) * inv
        g_r = per_x[2] + w1 * (-l_at) + w2 * (-per_x[3] + d_a0[0])
        g_alpha = w1 * (-(r + x) / (alpha + age)) + w2 * d_a0[1]
        g_s = w1 * (-l_bt) + w2 * (1.0 / s - per_x[3] + d_a0[2])
        g_beta = w1 * (-s / (beta + age)) + w2 * d_a0[3]
        const = -gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        d_const = np.array([-digamma(r) + np.log(alpha), r / alpha, np.log(beta), s / beta])
        grad_p = np.array([w @ g_r, w @ g_alpha, w @ g_s, w @ g_beta]) + d_const * w_sum
        return float(w @ ll + const * w_sum), grad_p * params

    return value_and_grad


def fit_pnbd(
    frequency: ArrayLike,
    recency: ArrayLike,
    age: ArrayLike,
    *,
    min_customers: int = 10,
    min_repeaters: int = 2,
    raise_on_failure: bool = True,
) -> ParetoNbdFit:
    """Fit Pareto/NBD by maximum likelihood on per-customer (x, t_x, T).

    Customers are compressed to unique triples; the hypergeometric terms are computed
    per distinct (x, t) pair. The gradient is analytic except for the 2F1 parameter
    derivatives, which are central differences over those pairs.

    Raises:
        InvalidSummary, TooFewCustomers, FitDidNotConverge: as for
            :func:`~laoke.analytics.clv.bgnbd.fit_bgnbd`.
    """
    start = time.perf_counter()
    data = compress_summary(frequency, recency, age)
    require_customers(data, min_customers, min_repeaters, "Pareto/NBD")
    w, age = data.weight, data.T
    sub = thin(data, WARM_START_CUSTOMERS)
    warm = None if sub is None else (_weighted_loglik_grad(sub), float(sub.weight.sum()))
    mean_t = float(w @ age / w.sum())
    theta0 = np.log([1.0, max(mean_t, 1e-3), 1.0, max(mean_t, 1e-3)])
    out = maximize(
        _weighted_loglik_grad(data),
        theta0,
        n_weight=float(w.sum()),
        names=PARAM_NAMES,
        model="Pareto/NBD",
        raise_on_failure=raise_on_failure,
        hessian_step=1e-5,
        warm=warm,
        newton_tol=1e-9,
    )
    return ParetoNbdFit(
        params=ParetoNbdParams(*out.params.tolist()),
        log_likelihood=out.log_likelihood,
        standard_errors=dict(zip(PARAM_NAMES, out.standard_errors.tolist(), strict=True)),
        n_customers=data.n_customers,
        n_rows=int(data.x.shape[0]),
        converged=out.converged,
        fit_seconds=time.perf_counter() - start,
    )


def probability_alive(
    params: ParetoNbdParams, frequency: ArrayLike, recency: ArrayLike, age: ArrayLike
) -> NDArray[np.float64]:
    """P(alive at T | x, t_x, T) = 1 / (1 + s/(r+s+x) (α+T)^(r+x) (β+T)^s A0)."""
    x, t_x, age = validate_summary(frequency, recency, age)
    term1, term2 = _parts(params, x, t_x, age)
    return expit(term1 - term2)


def _growth(base: NDArray, t: NDArray, s: float) -> NDArray:
    """[1 - (base/(base+t))^(s-1)] / (s-1), with its limit log(1 + t/base) at s = 1."""
    lg = np.log1p(t / base)
    if abs(s - 1.0) < 1e-9:
        return lg
    return -np.expm1(-(s - 1.0) * lg) / (s - 1.0)


def expected_purchases(params: ParetoNbdParams, t: ArrayLike) -> NDArray[np.float64]:
    """E[X(t)] for a newly acquired customer: r β / α · [1 - (β/(β+t))^(s-1)] / (s-1)."""
    t = np.asarray(t, dtype=np.float64)
    p = params
    return p.r * p.beta / p.alpha * _growth(np.asarray(p.beta), t, p.s)


def conditional_expected_purchases(
    params: ParetoNbdParams,
    t: ArrayLike,
    frequency: ArrayLike,
    recency: ArrayLike,
    age: ArrayLike,
) -> NDArray[np.float64]:
    """E[Y(t) | x, t_x, T]: expected purchases in (T, T + t], ``t`` in the fit's unit.

    = (r+x)(β+T) / (α+T) · [1 - ((β+T)/(β+T+t))^(s-1)] / (s-1) · P(alive).
    """
    x, t_x, age = validate_summary(frequency, recency, age)
    t = np.asarray(t, dtype=np.float64)
    p = params
    alive = probability_alive(p, x, t_x, age)
    return (p.r + x) * (p.beta + age) / (p.alpha + age) * _growth(p.beta + age, t, p.s) * alive
