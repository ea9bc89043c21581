"""Gamma-Gamma: CDNOW reference estimates, independence check, predictions."""

from __future__ import annotations

import numpy as np
import pytest

from laoke.analytics.clv import gammagamma
from laoke.analytics.clv.errors import AssumptionViolated, InvalidSummary, TooFewCustomers
from laoke.analytics.clv.gammagamma import GammaGammaParams, fit_gamma_gamma
from laoke.analytics.clv.summary import summarize_transactions

from .conftest import CALIBRATION_END

PUBLISHED = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)


def test_it_reproduces_the_published_cdnow_fit(cdnow_sample_log):
    log = cdnow_sample_log
    s = summarize_transactions(log.customer_id, log.date, log.amount, as_of=CALIBRATION_END)
    fit = fit_gamma_gamma(s.frequency, s.monetary_value)
    assert fit.converged
    assert fit.n_customers == 946
    got = fit.params.as_dict()
    for name, value in PUBLISHED.as_dict().items():
        assert round(got[name], 2) == value, name
    assert abs(fit.correlation) < 0.3


def test_it_agrees_with_the_rounded_reference_file(cdnow_reference):
    # zbar in the CSV is rounded to cents, which moves gamma to 15.448.
    ref = cdnow_reference
    fit = fit_gamma_gamma(ref["x"], ref["zbar"])
    for name, value in PUBLISHED.as_dict().items():
        assert fit.params.as_dict()[name] == pytest.approx(value, abs=0.01), name
    assert fit.log_likelihood == pytest.approx(-4055.92, abs=0.01)
    ll_published = np.nansum(gammagamma.log_likelihood(PUBLISHED, ref["x"], ref["zbar"]))
    assert ll_published == pytest.approx(-4055.92, abs=0.01)


def test_it_refuses_when_spend_tracks_frequency():
    rng = np.random.default_rng(5)
    x = rng.integers(1, 20, 500)
    spend = 10.0 * x + rng.gamma(2.0, 1.0, 500)
    expected = "Pearson correlation of frequency and mean spend is"
    with pytest.raises(AssumptionViolated, match=expected) as caught:
        fit_gamma_gamma(x, spend)
    assert caught.value.correlation > 0.9
    assert caught.value.threshold == 0.3


def test_it_needs_repeat_customers():
    with pytest.raises(TooFewCustomers, match="got 3") as caught:
        fit_gamma_gamma([0, 1, 2, 3, 0], [0, 5.0, 6.0, 7.0, 0])
    assert caught.value.found == 3
    assert caught.value.required == 10


def test_it_rejects_non_positive_spend_of_repeaters():
    expected = r"non-positive mean spend .* 1 customer \(first index 1\)"
    with pytest.raises(InvalidSummary, match=expected):
        fit_gamma_gamma([0, 2], [0.0, -1.0])


def test_expected_spend_shrinks_towards_the_population_mean():
    population = PUBLISHED.p * PUBLISHED.gamma / (PUBLISHED.q - 1)
    got = gammagamma.conditional_expected_spend(PUBLISHED, [0, 1, 50], [0.0, 100.0, 100.0])
    assert got[0] == pytest.approx(population)
    assert population < got[1] < got[2] < 100.0
