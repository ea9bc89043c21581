"""Transaction log → per-customer recency/frequency/monetary summary.

Conventions (those of Fader, Hardie & Lee 2005 and the CDNOW reference files):

* A *purchase period* is a calendar day: all rows of one customer on one day are merged
  into a single purchase whose value is the sum of the rows. Dates are floored to days.
* ``frequency`` x is the number of **repeat** purchase days in the calibration period
  (the first-ever purchase day is excluded).
* ``recency`` t_x is the time from the first purchase to the last calibration purchase
  (0 when x = 0); ``T`` is the time from the first purchase to ``calibration_end``.
* ``monetary_value`` is the mean value of the x repeat purchase days (the first purchase
  is excluded, as in the Gamma-Gamma papers); it is 0.0 where x = 0 (undefined there).
* The calibration period is every day up to and including ``calibration_end``; the
  holdout period is the days after it up to and including ``as_of``. Rows after
  ``as_of`` are ignored; customers whose first purchase falls after ``calibration_end``
  are not part of the calibration cohort and are left out.

Times are expressed in a named :class:`TimeUnit`: a day, a week (7 days) or a month,
defined calendar-independently as 365.25 / 12 = 30.4375 days.

The implementation is sort-based and vectorised: one sort of an int64 key packing
customer code, day and (when amounts are given) row index, then segment reductions
over the sorted runs; no Python loop per row, memory linear in the input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from laoke.analytics.clv.errors import InvalidTransactions

DateLike = np.datetime64 | dt.date | str


class TimeUnit(StrEnum):
    """Unit in which recency, T and holdout span are expressed."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"

    @property
    def days(self) -> float:
        """Length of one unit in days (a month is 365.25 / 12 days)."""
        return _DAYS_PER_UNIT[self]


_DAYS_PER_UNIT: dict[TimeUnit, float] = {
    TimeUnit.DAY: 1.0,
    TimeUnit.WEEK: 7.0,
    TimeUnit.MONTH: 365.25 / 12.0,
}


@dataclass(frozen=True)
class CustomerSummary:
    """Per-customer calibration summary; all arrays share one length (customers).

    Customers are ordered by id. Times are in ``time_unit``.
    """

    customer_id: NDArray
    frequency: NDArray[np.int64]
    recency: NDArray[np.float64]
    T: NDArray[np.float64]
    first_purchase: NDArray[np.datetime64]
    monetary_value: NDArray[np.float64] | None
    holdout_frequency: NDArray[np.int64] | None
    holdout_span: float | None
    time_unit: TimeUnit
    calibration_end: np.datetime64
    as_of: np.datetime64

    @property
    def n_customers(self) -> int:
        """Number of customers in the calibration cohort."""
        return int(self.frequency.shape[0])


def to_day(value: DateLike, name: str) -> np.datetime64:
    """Parse a date (``numpy.datetime64``, ``datetime.date`` or ISO string) to a day."""
    try:
        day = np.datetime64(value, "D")
    except (ValueError, TypeError) as exc:
        raise InvalidTransactions(f"{name} is not a date: {value!r}") from exc
    if np.isnat(day):
        raise InvalidTransactions(f"{name} is not a date: {value!r}")
    return day


def summarize_transactions(
    customer_ids: ArrayLike,
    dates: ArrayLike,
    amounts: ArrayLike | None = None,
    *,
    as_of: DateLike,
    calibration_end: DateLike | None = None,
    time_unit: TimeUnit | str = TimeUnit.WEEK,
) -> CustomerSummary:
    """Summarise a transaction log per customer.

    Args:
        customer_ids: 1-D array of hashable ids (integers are fastest; strings work).
        dates: 1-D ``numpy.datetime64`` array (any resolution; floored to days).
        amounts: optional 1-D array of transaction values (currency units).
        as_of: last day observed (inclusive); later rows are ignored.
        calibration_end: last day of the calibration period (inclusive); defaults to
            ``as_of`` (no holdout).
        time_unit: ``"day"``, ``"week"`` or ``"month"`` (365.25/12 days).

    Returns:
        A :class:`CustomerSummary`; ``holdout_frequency`` (repeat purchase days after
        ``calibration_end``) and ``holdout_span`` (``as_of - calibration_end`` in
        ``time_unit``) are set only when ``calibration_end`` is given.

    Raises:
        InvalidTransactions: mismatched lengths, non-date dates, NaT, non-finite amounts,
            ``calibration_end`` after ``as_of``, or no customer in the calibration period.
    """
    unit = TimeUnit(time_unit)
    ids = np.asarray(customer_ids)
    days = _as_days(dates)
    amt = None if amounts is None else np.asarray(amounts, dtype=np.float64)
    _check_shapes(ids, days, amt)
    as_of_day = to_day(as_of, "as_of")
    cal_day = as_of_day if calibration_end is None else to_day(calibration_end, "calibration_end")
    if cal_day > as_of_day:
        raise InvalidTransactions(f"calibration_end {cal_day} is after as_of {as_of_day}")

    as_of_i = as_of_day.astype(np.int64)
    if days.size and days.max() > as_of_i:
        keep = days <= as_of_i
        ids, days = ids[keep], days[keep]
        amt = None if amt is None else amt[keep]
    if days.size == 0:
        raise InvalidTransactions(f"no transaction on or before as_of {as_of_day}")

    day0 = int(days.min())
    key, day_bits, decode = _combined_key(ids, days, day0)
    del ids, days
    key, sorted_amt = _sort_rows(key, amt)

    new_day = np.empty(key.shape[0], dtype=bool)
    new_day[0] = True
    np.not_equal(key[1:], key[:-1], out=new_day[1:])
    day_starts = np.flatnonzero(new_day)
    ukey = key[day_starts]
    del key, new_day
    cust = ukey >> day_bits
    dday = ukey & ((1 << day_bits) - 1)  # day offset from day0
    del ukey

    first_of_cust = np.empty(cust.shape[0], dtype=bool)
    first_of_cust[0] = True
    np.not_equal(cust[1:], cust[:-1], out=first_of_cust[1:])
    starts = np.flatnonzero(first_of_cust)

    cal_off = int(cal_day.astype(np.int64)) - day0
    in_cal = dday <= cal_off
    n_days = np.diff(np.append(starts, cust.shape[0]))
    n_cal = np.add.reduceat(in_cal.astype(np.int64), starts)
    first_day = dday[starts]
    cohort = n_cal > 0
    if not cohort.any():
        raise InvalidTransactions(f"no customer made a first purchase by {cal_day}")

    last_cal_day = dday[starts + np.maximum(n_cal, 1) - 1]
    unit_days = unit.days
    frequency = n_cal - 1
    recency = (last_cal_day - first_day) / unit_days
    age = (cal_off - first_day) / unit_days

    monetary = None
    if sorted_amt is not None:
        day_amt = np.add.reduceat(sorted_amt, day_starts)
        repeat_amt = np.where(in_cal & ~first_of_cust, day_amt, 0.0)
        repeat_sum = np.add.reduceat(repeat_amt, starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            monetary = np.where(frequency > 0, repeat_sum / np.maximum(frequency, 1), 0.0)

    holdout_frequency = None
    holdout_span = None
    if calibration_end is not None:
        holdout_frequency = (n_days - n_cal)[cohort]
        holdout_span = float((as_of_day - cal_day).astype(np.int64)) / unit_days

    return CustomerSummary(
        customer_id=decode(cust[starts][cohort]),
        frequency=frequency[cohort].astype(np.int64),
        recency=recency[cohort],
        T=age[cohort],
        first_purchase=(first_day[cohort] + day0).astype("datetime64[D]"),
        monetary_value=None if monetary is None else monetary[cohort],
        holdout_frequency=holdout_frequency,
        holdout_span=holdout_span,
        time_unit=unit,
        calibration_end=cal_day,
        as_of=as_of_day,
    )


def _as_days(dates: ArrayLike) -> NDArray[np.int64]:
    arr = np.asarray(dates)
    if arr.dtype.kind != "M":
        raise InvalidTransactions(f"dates must be numpy datetime64, got dtype {arr.dtype}")
    days = arr if arr.dtype == np.dtype("datetime64[D]") else arr.astype("datetime64[D]")
    as_int = days.view(np.int64)
    nat = as_int == np.iinfo(np.int64).min  # NaT's integer representation
    if nat.any():
        raise InvalidTransactions(
            f"dates contain NaT in {int(nat.sum())} rows (first index {int(np.argmax(nat))})"
        )
    return as_int


def _check_shapes(ids: NDArray, days: NDArray, amt: NDArray | None) -> None:
    if ids.ndim != 1 or days.ndim != 1:
        raise InvalidTransactions("customer_ids and dates must be 1-D arrays")
    if ids.shape != days.shape:
        raise InvalidTransactions(
            f"customer_ids has {ids.shape[0]} rows but dates has {days.shape[0]}"
        )
    if amt is not None:
        if amt.shape != days.shape:
            raise InvalidTransactions(
                f"amounts has {amt.shape[0]} rows but dates has {days.shape[0]}"
            )
        bad = ~np.isfinite(amt)
        if bad.any():
            raise InvalidTransactions(
                f"amounts not finite in {int(bad.sum())} rows (first index {int(np.argmax(bad))})"
            )


def _combined_key(
    ids: NDArray, days: NDArray[np.int64], day0: int
) -> tuple[NDArray[np.int64], int, Callable[[NDArray[np.int64]], NDArray]]:
    """Return ``(key, day_bits, decode)`` with ``key = code << day_bits | day_offset``.

    Integer ids within a small enough range are used directly (no factorisation);
    anything else is factorised with ``np.unique``. ``decode`` maps codes back to ids.
    """
    day_bits = max(int(days.max()) - day0, 1).bit_length()
    offsets = days - day0
    if ids.dtype.kind in "iu":
        lo, hi = int(ids.min()), int(ids.max())
        if (hi - lo + 1).bit_length() + day_bits <= 62:
            base = lo
            codes = ids.astype(np.int64)
            codes -= base
            codes <<= day_bits
            codes |= offsets

            def decode_int(c: NDArray[np.int64]) -> NDArray:
                return (c + base).astype(ids.dtype)

            return codes, day_bits, decode_int
    uniq, inverse = np.unique(ids, return_inverse=True)
    codes = inverse.astype(np.int64).reshape(-1)
    codes <<= day_bits
    codes |= offsets

    def decode_any(c: NDArray[np.int64]) -> NDArray:
        return uniq[c]

    return codes, day_bits, decode_any


def _sort_rows(
    key: NDArray[np.int64], amt: NDArray[np.float64] | None
) -> tuple[NDArray[np.int64], NDArray[np.float64] | None]:
    """Sort rows by key, carrying amounts along.

    Sorting int64 values is several times faster than ``argsort``, so when the key
    leaves room the row index is packed into its low bits and recovered after a plain
    sort; otherwise fall back to ``argsort``.
    """
    if amt is None:
        key.sort()
        return key, None
    n = key.shape[0]
    row_bits = max(n - 1, 1).bit_length()
    if int(key.max()).bit_length() + row_bits <= 63:
        key <<= row_bits
        key |= np.arange(n, dtype=np.int64)
        key.sort()
        order = key & ((1 << row_bits) - 1)
        key >>= row_bits
    else:
        order = np.argsort(key)
        key = key[order]
    return key, amt[order]
