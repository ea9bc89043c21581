"""The error hierarchy: precise messages users can act on."""

from __future__ import annotations

import numpy as np
import pytest

from laoke.analytics.clv import errors
from laoke.analytics.clv.bgnbd import fit_bgnbd
from laoke.analytics.clv.compress import validate_summary
from laoke.analytics.clv.pnbd import fit_pnbd


def _valid(n: int = 30) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.array([i % 4 for i in range(n)], dtype=float)
    t_x = np.where(x > 0, 10.0 + x, 0.0)
    return x, t_x, np.full(n, 30.0)


def test_every_error_is_a_clv_error():
    for cls in (
        errors.InvalidTransactions,
        errors.InvalidSummary,
        errors.TooFewCustomers,
        errors.FitDidNotConverge,
        errors.AssumptionViolated,
    ):
        assert issubclass(cls, errors.ClvError)


def test_it_counts_and_locates_recency_beyond_t():
    x, t_x, age = _valid()
    for i in (17, 21, 25):
        t_x[i], x[i] = 40.0, 2
    with pytest.raises(
        errors.InvalidSummary, match=r"^recency larger than T for 3 customers \(first index 17\)$"
    ):
        validate_summary(x, t_x, age)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda x, t, a: x.__setitem__(4, -1), r"negative frequency for 1 customer \(first i"),
        (lambda x, t, a: x.__setitem__(5, 1.5), r"non-integer frequency for 1 customer"),
        (lambda x, t, a: t.__setitem__(6, np.nan), r"recency not finite for 1 customer"),
        (lambda x, t, a: a.__setitem__(7, np.inf), r"T not finite for 1 customer \(first index"),
        (lambda x, t, a: t.__setitem__(8, 3.0), r"recency not 0 although frequency is 0"),
        (lambda x, t, a: t.__setitem__(9, -1.0), r"negative recency for 1 customer"),
    ],
)
def test_it_rejects_broken_summaries(change, message):
    x, t_x, age = _valid()
    change(x, t_x, age)
    with pytest.raises(errors.InvalidSummary, match=message):
        validate_summary(x, t_x, age)


def test_it_rejects_mismatched_and_empty_arrays():
    with pytest.raises(errors.InvalidSummary, match="length mismatch: frequency 2, recency 1, T 2"):
        validate_summary([0, 1], [0.0], [1.0, 2.0])
    with pytest.raises(errors.InvalidSummary, match="summary is empty"):
        validate_summary([], [], [])


@pytest.mark.parametrize("fit", [fit_bgnbd, fit_pnbd])
def test_it_needs_enough_customers(fit):
    x, t_x, age = _valid(5)
    with pytest.raises(errors.TooFewCustomers, match="at least 10 customers, got 5") as caught:
        fit(x, t_x, age)
    assert caught.value.found == 5


@pytest.mark.parametrize("fit", [fit_bgnbd, fit_pnbd])
def test_it_needs_repeat_customers(fit):
    zeros = np.zeros(50)
    with pytest.raises(errors.TooFewCustomers, match="with repeat purchases, got 0"):
        fit(zeros, zeros, np.full(50, 30.0))


def test_it_reports_a_fit_that_runs_off_to_a_boundary():
    # Without any repeat purchase the BG/NBD likelihood keeps rising as r → 0.
    zeros = np.zeros(50)
    age = np.linspace(10, 40, 50)
    with pytest.raises(errors.FitDidNotConverge, match="BG/NBD fit did not converge") as caught:
        fit_bgnbd(zeros, zeros, age, min_repeaters=0)
    assert set(caught.value.params) == {"r", "alpha", "a", "b"}
    fit = fit_bgnbd(zeros, zeros, age, min_repeaters=0, raise_on_failure=False)
    assert not fit.converged
