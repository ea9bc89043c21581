"""Synthetic customers: seeded, valid summaries, on a grid when asked."""

from __future__ import annotations

import numpy as np

from laoke.analytics.clv.bgnbd import BgNbdParams
from laoke.analytics.clv.compress import validate_summary
from laoke.analytics.clv.pnbd import ParetoNbdParams
from laoke.analytics.clv.simulate import cohort_ages, simulate_bgnbd, simulate_pnbd

BG = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
PN = ParetoNbdParams(r=0.553, alpha=10.578, s=0.606, beta=11.669)


def test_it_is_reproducible_with_a_seed():
    a = simulate_bgnbd(BG, np.full(1000, 39.0), np.random.default_rng(11))
    b = simulate_bgnbd(BG, np.full(1000, 39.0), np.random.default_rng(11))
    np.testing.assert_array_equal(a.frequency, b.frequency)
    np.testing.assert_array_equal(a.recency, b.recency)


def test_it_draws_valid_summaries_on_a_day_grid():
    rng = np.random.default_rng(12)
    age = cohort_ages(20_000, rng, min_age=27, max_age=39, resolution=1 / 7)
    np.testing.assert_allclose(age * 7, np.round(age * 7))
    for sim in (
        simulate_bgnbd(BG, age, rng, resolution=1 / 7),
        simulate_pnbd(PN, age, rng, resolution=1 / 7),
    ):
        validate_summary(sim.frequency, sim.recency, sim.T)
        np.testing.assert_allclose(sim.recency * 7, np.round(sim.recency * 7), atol=1e-9)
        assert sim.frequency.mean() > 0.3
