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
    """Check the (x, t_x, T) contract and return float64 arrays (views when possible).

    Contract: equal-length 1-D arrays, all finite; x a non-negative integer;
    0 ≤ t_x ≤ T; t_x = 0 where x = 0.

    Raises:
        InvalidSummary: naming the violated rule, how many customers break it and the
            first offending index, e.g. ``"recency larger than T for 3 customers
            (first index 17)"``.
    """
    x, t_x, t_age = _checked(frequency, recency, age)
    return x.astype(np.float64, copy=False), t_x, t_age


def _checked(
    frequency: ArrayLike, recency: ArrayLike, age: ArrayLike
) -> tuple[NDArray, NDArray[np.float64], NDArray[np.float64]]:
    """Validate; x keeps an integer dtype when given one (saves a pass on big inputs)."""
    x = np.asarray(frequency)
    if x.dtype.kind not in "iuf":
        x = x.astype(np.float64)
    t_x = np.asarray(recency, dtype=np.float64)
    t_age = np.asarray(age, dtype=np.float64)
    if x.ndim != 1 or t_x.ndim != 1 or t_age.ndim != 1:
        raise InvalidSummary("frequency, recency and T must be 1-D arrays")
    if not (x.shape == t_x.shape == t_age.shape):
        raise InvalidSummary(
            f"length mismatch: frequency {x.shape[0]}, recency {t_x.shape[0]}, T {t_age.shape[0]}"
        )
    if x.shape[0] == 0:
        raise InvalidSummary("no customers: the summary is empty")
    if x.dtype.kind == "f":
        _first_bad(~np.isfinite(x), "frequency not finite")
    _first_bad(~np.isfinite(t_x), "recency not finite")
    _first_bad(~np.isfinite(t_age), "T not finite")
    _first_bad(x < 0, "negative frequency")
    if x.dtype.kind == "f":
        _first_bad(x != np.floor(x), "non-integer frequency")
    _first_bad(t_x < 0, "negative recency")
    _first_bad(t_x > t_age, "recency larger than T")
    _first_bad((x == 0) & (t_x != 0), "recency not 0 although frequency is 0")
    return x, t_x, t_age


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


_SIGN_OFF = np.uint64(0x7FFFFFFFFFFFFFFF)
_C = tuple(np.uint64(c) for c in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9))


def _fold(v: NDArray[np.uint64], c: np.uint64) -> NDArray[np.uint64]:
    """In place: fold high bits down (float bits have zero low bits), then multiply."""
    v ^= v >> np.uint64(29)
    v *= c
    return v


def _hash(x: NDArray, t_x: NDArray, t_age: NDArray) -> NDArray[np.uint64]:
    """64-bit hash of the exact bits of (x, t_x, T); used only to group, never trusted.

    Valid summaries have t_x, T ≥ 0, so clearing the sign bit only maps -0.0 to 0.0.
    """
    h = _fold(t_age.view(np.uint64) & _SIGN_OFF, _C[0])
    u = _fold(t_x.view(np.uint64) & _SIGN_OFF, _C[1])
    h ^= u
    u[:] = x.view(np.uint64) if x.dtype.itemsize == 8 else x.astype(np.uint64)
    h += _fold(u, _C[2])
    del u
    return _mix(h)


def _all_members_equal(
    cols: tuple[NDArray, ...], order: NDArray[np.intp], rep: NDArray[np.intp], sizes: NDArray
) -> bool:
    """Exact check that every row in each group equals the group's representative."""
    return all(np.array_equal(c[order], np.repeat(c[rep], sizes)) for c in cols)


def compress_summary(
    frequency: ArrayLike,
    recency: ArrayLike,
    age: ArrayLike,
    *,
    validate: bool = True,
) -> CompressedSummary:
    """Group customers by identical (x, t_x, T) and count them.

    Fast path: the high bits of a 64-bit hash of each triple are packed with the row
    index into one int64 and sorted (a plain sort is several times faster than
    ``argsort``); every member of every group is then compared exactly with the
    group's representative. If any group mixes triples (a collision of the short
    hash: likely only with millions of *distinct* triples, e.g. continuous-time data)
    it falls back to an ``argsort`` of the full hash with the same exact check, and to
    ``lexsort`` on a collision there. Output rows are in hash order.
    """
    if validate:
        xr, t_x, t_age = _checked(frequency, recency, age)
    else:
        xr = np.asarray(frequency)
        t_x = np.asarray(recency, dtype=np.float64)
        t_age = np.asarray(age, dtype=np.float64)
    n = xr.shape[0]
    row_bits = max(n - 1, 1).bit_length()
    grouped = _group_packed(xr, t_x, t_age, row_bits) if row_bits <= 40 else None
    if grouped is None:
        grouped = _group_exact(xr, t_x, t_age)
    rep, counts = grouped
    ux = xr[rep].astype(np.float64)
    x_values, x_index = np.unique(ux, return_inverse=True)
    return CompressedSummary(
        x=ux,
        t_x=t_x[rep],
        T=t_age[rep],
        weight=counts.astype(np.float64),
        x_values=x_values,
        x_index=x_index.reshape(-1),
    )


def _group_packed(
    x: NDArray, t_x: NDArray, t_age: NDArray, row_bits: int
) -> tuple[NDArray[np.intp], NDArray[np.intp]] | None:
    n = x.shape[0]
    packed = (_hash(x, t_x, t_age) >> np.uint64(row_bits + 1)).view(np.int64)
    packed <<= row_bits
    packed |= np.arange(n, dtype=np.int64)
    packed.sort()
    order = packed & ((1 << row_bits) - 1)
    packed >>= row_bits
    starts = _group_starts(packed)
    del packed
    sizes = np.diff(np.append(starts, n))
    rep = order[starts]
    if not _all_members_equal((x, t_x, t_age), order, rep, sizes):
        return None
    return rep, sizes


def _group_exact(
    x: NDArray, t_x: NDArray, t_age: NDArray
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    n = x.shape[0]
    h = _hash(x, t_x, t_age)
    order = np.argsort(h)
    starts = _group_starts(h[order])
    del h
    sizes = np.diff(np.append(starts, n))
    rep = order[starts]
    if not _all_members_equal((x, t_x, t_age), order, rep, sizes):
        order = np.lexsort((t_age, t_x, x))
        starts = _group_starts_multi(x[order], t_x[order], t_age[order])
        sizes = np.diff(np.append(starts, n))
        rep = order[starts]
    return rep, sizes


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


def thin(data: CompressedSummary, max_customers: int, seed: int = 0) -> CompressedSummary | None:
    """A random subsample of about ``max_customers`` customers (binomial thinning of the
    row weights, seeded so fits are reproducible); None if data is already that small.

    Used only to find a starting point for the full fit, never for the estimates.
    """
    total = float(data.weight.sum())
    if total <= 2 * max_customers:
        return None
    rng = np.random.default_rng(seed)
    w = rng.binomial(data.weight.astype(np.int64), max_customers / total).astype(np.float64)
    keep = w > 0
    x = data.x[keep]
    x_values, x_index = np.unique(x, return_inverse=True)
    return CompressedSummary(
        x=x,
        t_x=data.t_x[keep],
        T=data.T[keep],
        weight=w[keep],
        x_values=x_values,
        x_index=x_index.reshape(-1),
    )
