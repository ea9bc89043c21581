"""Shared maximum-likelihood driver for the CLV models.

Models supply the weighted total log-likelihood as a function of the log-parameters
θ = log(params) (and, where practical, its analytic gradient). This module

1. maximises it with L-BFGS-B (box-bounded in log space so that exp never overflows)
   and polishes with safeguarded Newton steps on a finite-difference Hessian; or, for
   large data, maximises a customer subsample first and finishes on the full data
   with Newton steps alone (each full-data evaluation is the expensive part),
2. declares convergence only for a small gradient, parameters off the bounds and a
   negative-definite Hessian (an identified maximum),
3. reports the observed-information standard errors on the natural scale:
   ``cov = inv(-H_p)`` with ``H_p = D⁻¹ (H_θ - diag(g_θ)) D⁻¹``, ``D = diag(params)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize

from laoke.analytics.clv.errors import FitDidNotConverge

LogLikGrad = Callable[[NDArray[np.float64]], tuple[float, NDArray[np.float64]]]

LOG_BOUND = 25.0  # params are kept in [e^-25, e^25]
GRAD_TOL = 1e-5  # converged when max |dLL/dθ| per customer is below this


@dataclass(frozen=True)
class MleOutcome:
    """Result of :func:`maximize` (natural-scale parameters)."""

    params: NDArray[np.float64]
    log_likelihood: float
    standard_errors: NDArray[np.float64]
    converged: bool
    message: str
    seconds: float


def _hessian(
    fg: LogLikGrad, theta: NDArray[np.float64], step: float, g0: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Forward differences of the gradient (``g0`` = gradient at ``theta``), symmetrised."""
    k = theta.shape[0]
    h = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = step
        h[:, i] = (fg(theta + e)[1] - g0) / step
    return (h + h.T) / 2


def _newton(
    fg: LogLikGrad,
    theta: NDArray[np.float64],
    scale: float,
    step: float,
    *,
    tol: float,
    max_steps: int = 10,
    must_converge: bool = True,
) -> tuple[NDArray[np.float64], float, NDArray[np.float64]] | None:
    """Safeguarded Newton iterations in θ with a finite-difference Hessian.

    The Hessian is reused while the gradient shrinks fast (a chord step) and
    recomputed otherwise; a step that lowers the LL is halved up to 4 times. Returns
    (θ, LL, gradient), or None when ``must_converge`` and the per-customer gradient
    did not fall below ``tol`` (the caller then falls back to L-BFGS-B).
    """
    f, g = fg(theta)
    if not np.isfinite(f):
        return None if must_converge else (theta, f, g)
    hess = _hessian(fg, theta, step, g)
    for _ in range(max_steps):
        gmax = np.max(np.abs(g))
        if gmax * scale < tol:
            return theta, f, g
        try:
            delta = np.linalg.solve(hess, -g)
        except np.linalg.LinAlgError:
            break
        accepted = False
        for _ in range(5):
            cand = np.clip(theta + delta, -LOG_BOUND, LOG_BOUND)
            fc, gc = fg(cand)
            # Near the optimum LL differences drown in rounding (|LL| ~ 1e7 at 10M
            # customers): a step that shrinks the gradient is also kept when the LL is
            # unchanged to within that rounding.
            flat = fc >= f - 1e-12 * abs(f) and np.max(np.abs(gc)) < gmax
            if np.isfinite(fc) and (fc >= f or flat):
                accepted = True
                break
            delta = delta / 2
        if not accepted:
            break
        theta, f, g = cand, fc, gc
        if np.max(np.abs(g)) > 0.1 * gmax:
            hess = _hessian(fg, theta, step, g)
    if must_converge and np.max(np.abs(g)) * scale >= tol:
        return None
    return theta, f, g


def maximize(
    fg: LogLikGrad,
    theta0: NDArray[np.float64],
    *,
    n_weight: float,
    names: tuple[str, ...],
    model: str,
    raise_on_failure: bool = True,
    hessian_step: float = 1e-4,
    warm: tuple[LogLikGrad, float] | None = None,
    newton_tol: float = 1e-10,
) -> MleOutcome:
    """Maximise a log-likelihood given in log-parameters.

    Args:
        fg: θ ↦ (total LL, dLL/dθ).
        theta0: starting log-parameters.
        n_weight: number of customers (scales the objective to a per-customer mean).
        names: parameter names, for messages.
        model: model name, for messages.
        raise_on_failure: raise :class:`FitDidNotConverge` instead of returning
            ``converged=False``.
        warm: optional (fg, n_weight) of a customer subsample; maximised loosely first
            to find a starting point from which Newton steps finish on the full data
            (falling back to L-BFGS-B if they do not reach ``newton_tol``).
        newton_tol: per-customer gradient at which Newton steps stop.
    """
    start = time.perf_counter()
    scale = 1.0 / max(n_weight, 1.0)
    theta0 = np.asarray(theta0, dtype=np.float64)
    polished = None
    if warm is not None:
        warm_res = _lbfgs(warm[0], theta0, 1.0 / max(warm[1], 1.0), gtol=1e-7)
        if np.all(np.isfinite(warm_res.x)):
            theta0 = warm_res.x
            polished = _newton(fg, theta0, scale, hessian_step, tol=newton_tol)
    if polished is None:
        res = _lbfgs(fg, theta0, scale, gtol=1e-10)
        message = str(res.message)
        polished = _newton(
            fg, res.x, scale, hessian_step, tol=newton_tol, max_steps=3, must_converge=False
        )
    else:
        message = "converged by Newton steps from a subsample fit"
    assert polished is not None
    theta, f, g = polished
    hess = _hessian(fg, theta, hessian_step, g)
    params = np.exp(theta)
    hess_p = (hess - np.diag(g)) / np.outer(params, params)
    se = _standard_errors(hess_p)
    grad_ok = bool(np.isfinite(f) and np.max(np.abs(g)) * scale < GRAD_TOL)
    at_bound = bool(np.any(np.abs(theta) >= LOG_BOUND - 1e-6))
    curved = bool(np.all(np.isfinite(se)))
    converged = grad_ok and not at_bound and curved
    if at_bound:
        message = "a parameter ran to its bound (e^±25): the model is not identified here"
    elif not grad_ok:
        message = f"gradient still large ({np.max(np.abs(g)) * scale:.2e} per customer); {message}"
    elif not curved:
        message = (
            "the log-likelihood is not curved downwards at the optimum (Hessian not negative "
            "definite): the parameters are not identified by these data"
        )
    named = dict(zip(names, params.tolist(), strict=True))
    if not converged and raise_on_failure:
        raise FitDidNotConverge(
            f"{model} fit did not converge: {message}", optimizer_message=message, params=named
        )
    return MleOutcome(
        params=params,
        log_likelihood=float(f),
        standard_errors=se,
        converged=converged,
        message=message,
        seconds=time.perf_counter() - start,
    )


def _lbfgs(
    fg: LogLikGrad, theta0: NDArray[np.float64], scale: float, gtol: float
) -> optimize.OptimizeResult:
    def objective(theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        f, g = fg(theta)
        if not np.isfinite(f) or not np.all(np.isfinite(g)):
            return 1e10, np.zeros_like(theta)
        return -f * scale, -g * scale

    return optimize.minimize(
        objective,
        theta0,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-LOG_BOUND, LOG_BOUND)] * len(theta0),
        options={"maxiter": 2000, "ftol": 1e-15, "gtol": gtol, "maxcor": 20},
    )


def _standard_errors(hess_p: NDArray[np.float64]) -> NDArray[np.float64]:
    """sqrt(diag(inv(-H))); all nan unless -H is positive definite."""
    try:
        np.linalg.cholesky(-hess_p)
        cov = np.linalg.inv(-hess_p)
    except np.linalg.LinAlgError:
        return np.full(hess_p.shape[0], np.nan)
    return np.sqrt(np.diag(cov))
