"""CLV with discounting and per-customer predictive draws."""

from __future__ import annotations

import numpy as np
import pytest

from laoke.analytics.clv import bgnbd, pnbd
from laoke.analytics.clv.gammagamma import GammaGammaParams, conditional_expected_spend
from laoke.analytics.clv.value import (
    customer_lifetime_value,
    discounted_expected_purchases,
    simulate_future_purchases,
    simulate_future_value,
    summarize_draws,
)

BG = bgnbd.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
PN = pnbd.ParetoNbdParams(r=0.553, alpha=10.578, s=0.606, beta=11.669)
GG = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
X, TX, AGE = np.array([0, 2, 7]), np.array([0.0, 30.43, 35.0]), np.array([38.86] * 3)


@pytest.mark.parametrize("params", [BG, PN])
def test_without_discounting_it_sums_to_the_conditional_expectation(params):
    det = discounted_expected_purchases(
        params, X, TX, AGE, horizon_periods=12, period_length=52 / 12, discount_rate=0.0
    )
    module = bgnbd if params is BG else pnbd
    expected = module.conditional_expected_purchases(params, 52.0, X, TX, AGE)
    np.testing.assert_allclose(det, expected, rtol=1e-10)


def test_discounting_lowers_value_and_spend_scales_it():
    kwargs = {"horizon_periods": 12, "period_length": 52 / 12}
    flat = discounted_expected_purchases(BG, X, TX, AGE, discount_rate=0.0, **kwargs)
    disc = discounted_expected_purchases(BG, X, TX, AGE, discount_rate=0.01, **kwargs)
    assert np.all(disc < flat)
    spend = np.array([0.0, 22.35, 40.0])
    clv = customer_lifetime_value(BG, GG, X, TX, AGE, spend, discount_rate=0.01, **kwargs)
    np.testing.assert_allclose(clv, disc * conditional_expected_spend(GG, X, spend))


def test_it_rejects_a_meaningless_horizon():
    with pytest.raises(ValueError, match="horizon_periods"):
        discounted_expected_purchases(
            BG, X, TX, AGE, horizon_periods=0, period_length=1, discount_rate=0.0
        )


@pytest.mark.parametrize("params", [BG, PN])
def test_draws_average_to_the_closed_form(params):
    rng = np.random.default_rng(7)
    draws = simulate_future_purchases(params, [2], [30.43], [38.86], 39.0, rng, n_draws=200_000)
    module = bgnbd if params is BG else pnbd
    expected = float(module.conditional_expected_purchases(params, 39.0, [2], [30.43], [38.86])[0])
    assert draws.mean() == pytest.approx(expected, rel=0.02)


def test_draws_are_reproducible_and_summarised():
    a = simulate_future_purchases(BG, X, TX, AGE, 39.0, np.random.default_rng(1), n_draws=500)
    b = simulate_future_purchases(BG, X, TX, AGE, 39.0, np.random.default_rng(1), n_draws=500)
    np.testing.assert_array_equal(a, b)
    value = simulate_future_value(a, GG, X, [0.0, 22.35, 40.0], np.random.default_rng(2))
    assert value.shape == a.shape
    assert np.all(value[a == 0] == 0)
    assert np.all(value[a > 0] > 0)
    summary = summarize_draws(value, quantiles=(0.1, 0.9))
    assert summary.mean.shape == (3,)
    assert np.all(summary.quantiles[0.1] <= summary.quantiles[0.9])
