"""Validation of per-customer (x, t_x, T) arrays and compression to unique triples.

The BG/NBD and Pareto/NBD likelihoods depend on a customer only through the triple
(frequency x, recency t_x, age T), so customers sharing a triple can be fitted as one
row carrying a weight (the number of customers). On day-resolved data this shrinks
millions of customers to a few hundred thousand rows or fewer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from laoke.analytics.clv.errors import InvalidSummary, TooFewCustomers


@dataclass(frozen=True)
class CompressedSummary:
    """Unique (x, t_x, T) rows with customer counts.

    ``x_index`` maps each row to ``x_values`` (the distinct frequencies), so terms that
    depend on x alone (gamma functions) can be computed once per distinct x.
    """

    x: NDArray[np.float64]
    t_x: NDArray[np.float64]
    T: NDArray[np.float64]
    weight: NDArray[np.float64]
    x_values: NDArray[np.float64]
    x_index: NDArray[np.intp]

    @property
    def n_customers(self) -> int:
        """Number of customers represented (sum of weights)."""
        return round(float(self.weight.sum()))

    @property
    def n_repeaters(self) -> int:
        """Number of customers with x > 0."""
        return round(float(self.weight[self.x > 0].sum()))


def _first_bad(mask: NDArray[np.bool_], what: str) -> None:
    if mask.any():
        count = int(mask.sum())
        noun = "customer" if count == 1 else "customers"
        raise InvalidSummary(f"{what} for {count} {noun} (first index {int(np.argmax(mask))})")


def validate_summary(
    frequency: ArrayLike, recency: ArrayLike, age: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Check the (x, t_x, T) contract and return float64 copies/views.

    Contract: equal-length 1-D arrays, all finite; x a non-negative integer;
    0 ≤ t_x ≤ T; t_x = 0 where x = 0.

    Raises:
        InvalidSummary: naming the violated rule, how many customers break it and the
            first offending index, e.g. ``"recency larger than T for 3 customers
            (first index 17)"``.
    """
    x = np.asarray(frequency, dtype=np.float64)
    t_x = np.asarray(recency, dtype=np.float64)
    age = np.asarray(age, dtype=np.float64)
    if x.ndim != 1 or t_x.ndim != 1 or age.ndim != 1:
        raise InvalidSummary("frequency, recency and T must be 1-D arrays")
    if not (x.shape == t_x.shape == age.shape):
        raise InvalidSummary(
            f"length mismatch: frequency {x.shape[0]}, recency {t_x.shape[0]}, T {age.shape[0]}"
        )
    if x.shape[0] == 0:
        raise InvalidSummary("no customers: the summary is empty")
    _first_bad(~np.isfinite(x), "frequency not finite")
    _first_bad(~np.isfinite(t_x), "recency not finite")
    _first_bad(~np.isfinite(age), "T not finite")
    _first_bad(x < 0, "negative frequency")
    _first_bad(x != np.floor(x), "non-integer frequency")
    _first_bad(t_x < 0, "negative recency")
    _first_bad(t_x > age, "recency larger than T")
    _first_bad((x == 0) & (t_x != 0), "recency not 0 although frequency is 0")
    return x, t_x, age


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(h: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """splitmix64 finaliser (in place on a fresh array)."""
    h ^= h >> np.uint64(30)
    h *= _M1
    h ^= h >> np.uint64(27)
    h *= _M2
    h ^= h >> np.uint64(31)
    return h


def compress_summary(
    frequency: ArrayLike,
    recency: ArrayLike,
    age: ArrayLike,
    *,
    validate: bool = True,
) -> CompressedSummary:
    """Group customers by identical (x, t_x, T) and count them.

    Groups by a 64-bit hash of the exact float bits (one ``argsort``), then verifies
    every member equals its group's representative; on a hash collision (vanishingly
    rare) it falls back to an exact ``lexsort``. Output rows are in hash order.
    """
    if validate:
        x, t_x, age = validate_summary(frequency, recency, age)
    else:
        x = np.asarray(frequency, dtype=np.float64)
        t_x = np.asarray(recency, dtype=np.float64)
        age = np.asarray(age, dtype=np.float64)
    # +0.0 turns -0.0 into 0.0 so equal values have equal bits.
    h = _mix((x + 0.0).view(np.uint64).copy())
    h ^= (t_x + 0.0).view(np.uint64)
    h = _mix(h)
    h ^= (age + 0.0).view(np.uint64)
    h = _mix(h)
    order = np.argsort(h)
    hs = h[order]
    del h
    starts = _group_starts(hs)
    del hs
    rep = order[starts]
    group = np.repeat(np.arange(starts.shape[0]), np.diff(np.append(starts, order.shape[0])))
    members = rep[group]
    same = (x[order] == x[members]) & (t_x[order] == t_x[members]) & (age[order] == age[members])
    del members, group
    if not same.all():
        order = np.lexsort((age, t_x, x))
        starts = _group_starts_multi(x[order], t_x[order], age[order])
        rep = order[starts]
    counts = np.diff(np.append(starts, order.shape[0])).astype(np.float64)
    ux = x[rep]
    x_values, x_index = np.unique(ux, return_inverse=True)
    return CompressedSummary(
        x=ux,
        t_x=t_x[rep],
        T=age[rep],
        weight=counts,
        x_values=x_values,
        x_index=x_index.reshape(-1),
    )


def _group_starts(sorted_keys: NDArray) -> NDArray[np.intp]:
    new = np.empty(sorted_keys.shape[0], dtype=bool)
    new[:1] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=new[1:])
    return np.flatnonzero(new)


def _group_starts_multi(*cols: NDArray) -> NDArray[np.intp]:
    new = np.zeros(cols[0].shape[0], dtype=bool)
    new[:1] = True
    for col in cols:
        new[1:] |= col[1:] != col[:-1]
    return np.flatnonzero(new)


def require_customers(
    data: CompressedSummary, min_customers: int, min_repeaters: int, model: str
) -> None:
    """Raise :class:`TooFewCustomers` unless there are enough customers and repeaters."""
    if data.n_customers < min_customers:
        raise TooFewCustomers(
            f"{model} needs at least {min_customers} customers, got {data.n_customers}",
            found=data.n_customers,
            required=min_customers,
        )
    if data.n_repeaters < min_repeaters:
        raise TooFewCustomers(
            f"{model} needs at least {min_repeaters} customers with repeat purchases, "
            f"got {data.n_repeaters}",
            found=data.n_repeaters,
            required=min_repeaters,
        )
