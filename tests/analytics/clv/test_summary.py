"""Transaction log → RFM summary: CDNOW reference, conventions, properties, errors."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from laoke.analytics.clv.errors import InvalidTransactions
from laoke.analytics.clv.summary import TimeUnit, summarize_transactions

from .conftest import AS_OF, CALIBRATION_END


def _days(*isos: str) -> np.ndarray:
    return np.array(isos, dtype="datetime64[D]")


def test_it_rebuilds_the_cdnow_calibration_summary(cdnow_sample_log, cdnow_reference):
    log = cdnow_sample_log
    s = summarize_transactions(
        log.customer_id, log.date, log.amount, as_of=AS_OF, calibration_end=CALIBRATION_END
    )
    ref = cdnow_reference
    assert s.n_customers == 2357
    np.testing.assert_array_equal(s.customer_id, ref["id"].astype(int))
    np.testing.assert_array_equal(s.frequency, ref["x"])
    # The reference file is rounded to 2 decimals.
    assert np.max(np.abs(s.recency - ref["t_x"])) < 0.005
    assert np.max(np.abs(s.T - ref["T"])) < 0.005
    assert np.max(np.abs(s.monetary_value - ref["zbar"])) <= 0.005 + 1e-9
    assert s.frequency.sum() == 2457
    assert (s.frequency > 0).sum() == 946
    assert s.holdout_span == pytest.approx(39.0)
    assert s.holdout_frequency is not None
    assert s.holdout_frequency.min() >= 0


def test_it_matches_the_shipped_summary_csv(cdnow, cdnow_sample_log):
    table = np.loadtxt(cdnow / "cdnow_customers_summary.csv", delimiter=",", skiprows=1)
    log = cdnow_sample_log
    s = summarize_transactions(log.customer_id, log.date, as_of=CALIBRATION_END)
    np.testing.assert_array_equal(s.frequency, table[:, 1])
    np.testing.assert_allclose(s.recency, table[:, 2], atol=0.005)
    np.testing.assert_allclose(s.T, table[:, 3], atol=0.005)
    assert s.monetary_value is None
    assert s.holdout_frequency is None
    assert s.holdout_span is None


def test_it_merges_same_day_rows_and_excludes_the_first_purchase_from_spend():
    ids = np.array([7, 7, 7, 7])
    dates = _days("2024-01-01", "2024-01-01", "2024-01-08", "2024-01-08")
    s = summarize_transactions(ids, dates, [10.0, 5.0, 1.0, 2.0], as_of="2024-01-15")
    assert s.frequency.tolist() == [1]
    assert s.recency.tolist() == [1.0]
    assert s.T.tolist() == [2.0]
    assert s.monetary_value.tolist() == [3.0]


def test_it_names_its_time_units():
    ids = np.array([1, 1])
    dates = _days("2024-01-01", "2024-03-01")
    as_of = "2024-07-01"  # 182 days after the first purchase
    day = summarize_transactions(ids, dates, as_of=as_of, time_unit="day")
    week = summarize_transactions(ids, dates, as_of=as_of, time_unit=TimeUnit.WEEK)
    month = summarize_transactions(ids, dates, as_of=as_of, time_unit="month")
    assert day.T[0] == 182
    assert day.recency[0] == 60
    assert week.T[0] == pytest.approx(26.0)
    assert month.T[0] == pytest.approx(182 / (365.25 / 12))
    assert TimeUnit.MONTH.days == pytest.approx(30.4375)


def test_it_splits_calibration_and_holdout():
    ids = np.array(["ann", "ann", "ann", "bob", "cy"])
    dates = _days("2024-01-01", "2024-01-10", "2024-02-10", "2024-01-05", "2024-02-01")
    s = summarize_transactions(
        ids, dates, as_of="2024-02-29", calibration_end="2024-01-31", time_unit="day"
    )
    # "cy" first bought after calibration_end: not in the calibration cohort.
    assert s.customer_id.tolist() == ["ann", "bob"]
    assert s.frequency.tolist() == [1, 0]
    assert s.holdout_frequency.tolist() == [1, 0]
    assert s.holdout_span == 29.0
    assert s.T.tolist() == [30.0, 26.0]


def test_it_ignores_rows_after_as_of():
    ids = np.array([1, 1, 1])
    dates = _days("2024-01-01", "2024-01-02", "2025-01-01")
    s = summarize_transactions(ids, dates, as_of=dt.date(2024, 1, 31), time_unit="day")
    assert s.frequency.tolist() == [1]
    assert s.T.tolist() == [30.0]


def test_it_floors_timestamps_to_days():
    ids = np.array([1, 1])
    stamps = np.array(["2024-01-01T08:00", "2024-01-01T20:00"], dtype="datetime64[m]")
    s = summarize_transactions(ids, stamps, as_of="2024-01-03")
    assert s.frequency.tolist() == [0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"customer_ids": [1, 2], "dates": _days("2024-01-01")}, "customer_ids has 2 rows"),
        ({"customer_ids": [1], "dates": ["2024-01-01"]}, "must be numpy datetime64"),
        (
            {"customer_ids": [1, 2], "dates": np.array(["2024-01-01", "NaT"], "datetime64[D]")},
            "NaT in 1 rows (first index 1)",
        ),
        (
            {"customer_ids": [1], "dates": _days("2024-01-01"), "amounts": [np.nan]},
            "amounts not finite in 1 rows (first index 0)",
        ),
        (
            {"customer_ids": [1], "dates": _days("2024-01-01"), "calibration_end": "2024-03-01"},
            "calibration_end 2024-03-01 is after as_of",
        ),
        ({"customer_ids": [1], "dates": _days("2024-05-01")}, "no transaction on or before"),
    ],
)
def test_it_rejects_bad_transactions(kwargs, message):
    with pytest.raises(InvalidTransactions, match=message.replace("(", r"\(").replace(")", r"\)")):
        summarize_transactions(**{"as_of": "2024-02-01", **kwargs})


def test_it_rejects_a_non_date_as_of():
    with pytest.raises(InvalidTransactions, match="as_of is not a date"):
        summarize_transactions([1], _days("2024-01-01"), as_of="soon")


transaction_logs = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 60), st.integers(1, 500)), min_size=1, max_size=60
)


def _arrays(rows):
    ids = np.array([r[0] for r in rows])
    dates = np.datetime64("2024-01-01") + np.array([r[1] for r in rows])
    amounts = np.array([r[2] / 10 for r in rows])
    return ids, dates, amounts


@settings(max_examples=60, deadline=None)
@given(rows=transaction_logs, seed=st.integers(0, 2**32 - 1))
def test_it_is_invariant_to_row_order(rows, seed):
    ids, dates, amounts = _arrays(rows)
    assume(dates.min() <= np.datetime64("2024-02-01"))
    perm = np.random.default_rng(seed).permutation(len(rows))
    a = summarize_transactions(
        ids, dates, amounts, as_of="2024-03-01", calibration_end="2024-02-01"
    )
    b = summarize_transactions(
        ids[perm], dates[perm], amounts[perm], as_of="2024-03-01", calibration_end="2024-02-01"
    )
    np.testing.assert_array_equal(a.customer_id, b.customer_id)
    np.testing.assert_array_equal(a.frequency, b.frequency)
    np.testing.assert_array_equal(a.recency, b.recency)
    np.testing.assert_array_equal(a.T, b.T)
    np.testing.assert_allclose(a.monetary_value, b.monetary_value, rtol=1e-12)
    np.testing.assert_array_equal(a.holdout_frequency, b.holdout_frequency)


@settings(max_examples=60, deadline=None)
@given(rows=transaction_logs)
def test_it_respects_the_rfm_invariants(rows):
    ids, dates, amounts = _arrays(rows)
    s = summarize_transactions(ids, dates, amounts, as_of="2024-03-15", time_unit="day")
    for i, cid in enumerate(s.customer_id):
        own = np.unique(dates[ids == cid])
        assert s.frequency[i] == len(own) - 1
        assert 0 <= s.recency[i] <= s.T[i]
        assert s.recency[i] == (own.max() - own.min()).astype(int)
        assert s.T[i] == (np.datetime64("2024-03-15") - own.min()).astype(int)
        if s.frequency[i] == 0:
            assert s.recency[i] == 0
            assert s.monetary_value[i] == 0
        else:
            first_day_total = amounts[(ids == cid) & (dates == own.min())].sum()
            repeat_total = amounts[ids == cid].sum() - first_day_total
            assert s.monetary_value[i] == pytest.approx(repeat_total / s.frequency[i])


@settings(max_examples=30, deadline=None)
@given(rows=transaction_logs)
def test_string_and_integer_ids_agree(rows):
    ids, dates, _ = _arrays(rows)
    a = summarize_transactions(ids, dates, as_of="2024-03-15")
    b = summarize_transactions(np.array([f"c{i}" for i in ids]), dates, as_of="2024-03-15")
    assert [f"c{i}" for i in a.customer_id] == b.customer_id.tolist()
    np.testing.assert_array_equal(a.frequency, b.frequency)
    np.testing.assert_array_equal(a.recency, b.recency)
