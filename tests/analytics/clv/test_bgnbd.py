"""BG/NBD: CDNOW reference estimates (FHL 2005), predictions, gradient, recovery."""

from __future__ import annotations

import numpy as np
import pytest

from laoke.analytics.clv import bgnbd
from laoke.analytics.clv.bgnbd import BgNbdParams, fit_bgnbd
from laoke.analytics.clv.compress import compress_summary
from laoke.analytics.clv.simulate import cohort_ages, simulate_bgnbd
from laoke.analytics.clv.summary import summarize_transactions

from .conftest import CALIBRATION_END

PUBLISHED = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)


@pytest.fixture(scope="module")
def cdnow_calibration(cdnow_sample_log):
    log = cdnow_sample_log
    return summarize_transactions(log.customer_id, log.date, as_of=CALIBRATION_END)


def test_it_reproduces_the_published_cdnow_fit(cdnow_calibration):
    s = cdnow_calibration
    fit = fit_bgnbd(s.frequency, s.recency, s.T)
    assert fit.converged
    got = fit.params.as_dict()
    for name, value in PUBLISHED.as_dict().items():
        assert round(got[name], 3) == pytest.approx(value, abs=1e-9), name
    assert round(fit.log_likelihood, 1) == -9582.4
    assert fit.n_customers == 2357
    assert all(se > 0 for se in fit.standard_errors.values())
    assert fit.fit_seconds < 5


def test_it_predicts_the_papers_customer_one():
    # FHL 2005: x = 2, t_x = 30.43, T = 38.86 expects 1.226 purchases in 39 weeks.
    got = bgnbd.conditional_expected_purchases(PUBLISHED, 39, [2], [30.43], [38.86])
    assert round(float(got[0]), 3) == 1.226


def test_log_likelihood_matches_the_published_value(cdnow_reference):
    ref = cdnow_reference
    ll = bgnbd.log_likelihood(PUBLISHED, ref["x"], ref["t_x"], ref["T"]).sum()
    assert ll == pytest.approx(-9582.4, abs=0.1)


def test_the_analytic_gradient_matches_finite_differences(cdnow_reference):
    ref = cdnow_reference
    data = compress_summary(ref["x"], ref["t_x"], ref["T"])
    theta = np.log([0.3, 5.0, 0.7, 2.0])
    _, grad = bgnbd._loglik_grad(theta, data)
    h = 1e-6
    numeric = [
        (bgnbd._loglik_grad(theta + e, data)[0] - bgnbd._loglik_grad(theta - e, data)[0]) / (2 * h)
        for e in np.eye(4) * h
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-4)


def test_probability_alive_is_one_without_repeats_and_falls_with_silence():
    p_alive = bgnbd.probability_alive(PUBLISHED, [0, 3, 3], [0, 30, 5], [38, 38, 38])
    assert p_alive[0] == 1.0
    assert 0 < p_alive[2] < p_alive[1] < 1


def test_expected_purchases_grows_with_time():
    values = bgnbd.expected_purchases(PUBLISHED, [0.0, 10.0, 39.0, 78.0])
    assert values[0] == pytest.approx(0.0)
    assert np.all(np.diff(values) > 0)


def test_it_recovers_simulated_parameters():
    # 50k customers from known parameters, seeded; each estimate lies within 4 of its
    # own standard errors of the truth (and within 15 % relative).
    rng = np.random.default_rng(20240601)
    truth = BgNbdParams(r=0.25, alpha=4.0, a=0.8, b=2.5)
    age = cohort_ages(50_000, rng, min_age=20, max_age=60)
    sim = simulate_bgnbd(truth, age, rng)
    fit = fit_bgnbd(sim.frequency, sim.recency, sim.T)
    for name, value in truth.as_dict().items():
        est, se = fit.params.as_dict()[name], fit.standard_errors[name]
        assert abs(est - value) < 4 * se, (name, est, se)
        assert est == pytest.approx(value, rel=0.15), name


def test_compression_does_not_change_the_fit(cdnow_reference):
    ref = cdnow_reference
    order = np.random.default_rng(3).permutation(ref["x"].shape[0])
    a = fit_bgnbd(ref["x"], ref["t_x"], ref["T"])
    b = fit_bgnbd(ref["x"][order], ref["t_x"][order], ref["T"][order])
    assert a.log_likelihood == pytest.approx(b.log_likelihood, abs=1e-6)
    data = compress_summary(ref["x"], ref["t_x"], ref["T"])
    assert data.n_customers == 2357
    assert data.x.shape[0] < 2357


def test_predictions_stay_finite_for_heavy_buyers():
    x = np.array([0, 10, 300, 1000])
    t_x = np.where(x > 0, 38.0, 0.0)
    age = np.full(4, 38.86)
    for horizon in (39.0, 390.0):
        got = bgnbd.conditional_expected_purchases(PUBLISHED, horizon, x, t_x, age)
        assert np.all(np.isfinite(got))
        assert np.all(got >= 0)
    assert bgnbd.probability_alive(PUBLISHED, x, t_x, age)[3] < 1e-5
