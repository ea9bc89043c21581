"""Compression of customers to unique (x, t_x, T) rows with weights."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from laoke.analytics.clv.compress import compress_summary, thin

triples = st.lists(
    st.tuples(st.integers(0, 4), st.integers(0, 30), st.integers(0, 30)), min_size=1, max_size=200
)


def _arrays(rows, scale):
    x = np.array([r[0] for r in rows])
    age = np.array([max(r[1], r[2]) for r in rows]) * scale
    t_x = np.where(x > 0, np.array([min(r[1], r[2]) for r in rows]) * scale, 0.0)
    return x, t_x, age


@settings(max_examples=80, deadline=None)
@given(rows=triples, scale=st.sampled_from([1.0, 1 / 7, 0.01, 2.0]), as_float=st.booleans())
def test_it_counts_each_distinct_triple_exactly(rows, scale, as_float):
    x, t_x, age = _arrays(rows, scale)
    if as_float:
        x = x.astype(float)
    c = compress_summary(x, t_x, age)
    expected = Counter(zip(x.tolist(), t_x.tolist(), age.tolist(), strict=True))
    got = Counter()
    for xi, ti, ai, wi in zip(c.x, c.t_x, c.T, c.weight, strict=True):
        got[(float(xi), float(ti), float(ai))] += int(wi)
    assert got == Counter({(float(k[0]), k[1], k[2]): v for k, v in expected.items()})
    assert len(got) == c.x.shape[0]
    np.testing.assert_array_equal(c.x_values[c.x_index], c.x)


def test_structured_values_do_not_merge():
    # Float bits with many zero low bits once collided in a multiplicative hash.
    x = np.array([0.0, 2.0, 0.0, 2.0, 4.0])
    t_x = np.array([0.0, 2.0, 0.0, 2.0, 4.0])
    age = np.array([30.14, 30.14, 30.14, 4.0, 4.0])
    c = compress_summary(x, t_x, age)
    assert c.x.shape[0] == 4
    assert sorted(c.weight.tolist()) == [1.0, 1.0, 1.0, 2.0]


def test_negative_zero_recency_groups_with_zero():
    c = compress_summary([0, 0], [0.0, -0.0], [5.0, 5.0])
    assert c.weight.tolist() == [2.0]


def test_continuous_data_falls_back_to_exact_grouping():
    rng = np.random.default_rng(1)
    age = rng.uniform(20, 40, 300_000)
    x = rng.integers(0, 3, age.shape[0])
    t_x = np.where(x > 0, age * rng.random(age.shape[0]), 0.0)
    x[:1000], t_x[:1000], age[:1000] = 1, 5.0, 30.0
    c = compress_summary(x, t_x, age)
    assert c.weight.sum() == age.shape[0]
    assert c.weight.max() >= 1000


def test_thinning_is_seeded_and_keeps_proportions():
    x = np.repeat([0, 1, 2], [60_000, 30_000, 10_000])
    t_x = np.where(x > 0, 3.0, 0.0)
    c = compress_summary(x, t_x, np.full(x.shape[0], 10.0))
    a, b = thin(c, 10_000), thin(c, 10_000)
    assert a is not None
    assert b is not None
    np.testing.assert_array_equal(a.weight, b.weight)
    assert abs(a.weight.sum() - 10_000) < 500
    assert thin(c, 60_000) is None
